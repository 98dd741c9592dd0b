/**
 * Registers this router in Consul as the seed describes — ID
 * mcp-router-<hostname>, name mcp-router, tags router, mcp,
 * instance:<hostname>, a TCP check every 10 s and a gRPC health check every
 * 2 s — and keeps it registered: if Consul loses the registration (restart,
 * wiped state) the router registers again by itself. Deregisters on drain.
 *
 * Nothing here holds up the router: registration runs in the background
 * (start() returns at once), every Consul request has a timeout (the client's
 * defaults, CONSUL_TIMEOUT_MS), and one attempt runs at a time.
 */
import Consul from 'consul';
import type { RouterConfig } from '../config';
import type { Logger } from '../logger';
import { ROUTER_SERVICE } from '../contract';
import { ROUTER_VERSION } from '../version';

export class ConsulRegistration {
  private timer?: NodeJS.Timeout;
  private registered = false;
  private stopped = false;
  private attempt?: Promise<void>;
  private failures = 0;

  constructor(
    private readonly consul: Consul,
    private readonly config: RouterConfig,
    private readonly port: number,
    private readonly logger: Logger,
    /** Admin and MCP front-door ports, published in the registration's meta for peers. */
    private readonly ports: { readonly admin: number; readonly mcp: number } = { admin: 0, mcp: 0 },
  ) {}

  /** The registration body (exported for tests and docs). */
  definition() {
    const c = this.config;
    const target = `${c.advertiseAddress}:${this.port}`;
    return {
      id: c.instanceId,
      name: c.serviceName,
      address: c.advertiseAddress,
      port: this.port,
      tags: [...ROUTER_SERVICE.tags, `${ROUTER_SERVICE.instanceTagPrefix}${c.hostname}`],
      meta: {
        [ROUTER_SERVICE.meta.hostname]: c.hostname,
        [ROUTER_SERVICE.meta.version]: ROUTER_VERSION,
        [ROUTER_SERVICE.meta.adminPort]: String(this.ports.admin),
        [ROUTER_SERVICE.meta.mcpPort]: String(this.ports.mcp),
      },
      checks: [
        { checkid: `${c.instanceId}:tcp`, name: 'gRPC port TCP', tcp: target, interval: c.checks.tcpInterval, timeout: '2s', deregistercriticalserviceafter: c.checks.deregisterCriticalAfter },
        { checkid: `${c.instanceId}:grpc`, name: 'gRPC health', grpc: target, grpcusetls: false, interval: c.checks.grpcInterval, timeout: '1s', deregistercriticalserviceafter: c.checks.deregisterCriticalAfter },
      ],
    };
  }

  /** Starts registering in the background (retrying while Consul is down or hung) and the keep-registered loop; returns at once. */
  start(): void {
    void this.ensure();
    this.timer = setInterval(() => void this.ensure(), this.config.checks.reregisterIntervalMs);
    this.timer.unref();
  }

  /** Registers when Consul does not know this instance (joins the attempt in flight, if any). */
  ensure(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.attempt ??= this.tryOnce().finally(() => {
      this.attempt = undefined;
    });
    return this.attempt;
  }

  private async tryOnce(): Promise<void> {
    try {
      const services = (await this.consul.agent.service.list()) as Record<string, unknown>;
      if (services && services[this.config.instanceId]) {
        this.registered = true;
        return;
      }
      await this.consul.agent.service.register(this.definition() as never);
      this.logger.info({ id: this.config.instanceId, reregistration: this.registered }, this.registered ? 'registration lost; re-registered in Consul' : 'registered in Consul');
      this.registered = true;
      this.failures = 0;
    } catch (err) {
      // Said at the first failure, then every 10th, not at every interval.
      if (this.failures++ % 10 === 0) this.logger.warn({ err: (err as Error).message, failures: this.failures }, 'Consul registration failed; will retry');
    }
  }

  async deregister(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // An attempt in flight ends first (bounded by the request timeout), so it cannot register after this.
    await this.attempt;
    try {
      await this.consul.agent.service.deregister(this.config.instanceId);
      this.logger.info({ id: this.config.instanceId }, 'deregistered from Consul');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'Consul deregistration failed');
    }
  }
}
