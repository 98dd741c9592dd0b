/**
 * Registers this router in Consul as the seed describes — ID
 * mcp-router-<hostname>, name mcp-router, tags router, mcp,
 * instance:<hostname>, a TCP check every 10 s and a gRPC health check every
 * 2 s — and keeps it registered: if Consul loses the registration (restart,
 * wiped state) the router registers again by itself. Deregisters on drain.
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

  /** Registers now (retrying in the background if Consul is down) and starts the keep-registered loop. */
  async start(): Promise<void> {
    await this.ensure();
    this.timer = setInterval(() => void this.ensure(), this.config.checks.reregisterIntervalMs);
    this.timer.unref();
  }

  /** Registers when Consul does not know this instance. */
  async ensure(): Promise<void> {
    if (this.stopped) return;
    try {
      const services = (await this.consul.agent.service.list()) as Record<string, unknown>;
      if (services && services[this.config.instanceId]) {
        this.registered = true;
        return;
      }
      await this.consul.agent.service.register(this.definition() as never);
      this.logger.info({ id: this.config.instanceId, reregistration: this.registered }, this.registered ? 'registration lost; re-registered in Consul' : 'registered in Consul');
      this.registered = true;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'Consul registration failed; will retry');
    }
  }

  async deregister(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    try {
      await this.consul.agent.service.deregister(this.config.instanceId);
      this.logger.info({ id: this.config.instanceId }, 'deregistered from Consul');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'Consul deregistration failed');
    }
  }
}
