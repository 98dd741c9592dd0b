/**
 * Discovers MCP backends in Consul: passing instances of services tagged
 * `tag` (default "mcp-server"), kept current with blocking queries. Each
 * registration is checked before it becomes a backend: its shape (address,
 * port, meta) and the backend policy (allowed address ranges and namespaces,
 * backend-policy.ts); one that fails is refused, logged once and counted,
 * never called. While Consul is unreachable the last known set is kept.
 * Queries are `stale` reads: any Consul server answers them, so discovery
 * goes on while the cluster elects a leader (or has none: ConsulClusterHealth
 * reports that). Services named in `excludeServices` (the routers' own
 * service, which a router token may write) are never taken as backends,
 * whatever their tags. An instance that leaves the passing set is kept for
 * the hold time; a router that starts waits up to that time (at most 10 s)
 * for the instances registered but not passing, so it starts with the
 * catalogue the running routers hold.
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type Consul from 'consul';
import { MCP_SERVER_DISCOVERY, PATHS, PATTERNS } from '../contract';
import type { Logger } from '../logger';
import type { BackendDescriptor } from '../mcp/backend';
import { BackendPolicy, Refusal, RefusalKind } from './backend-policy';
import { BACKEND_CREDENTIAL_NAME } from '../mcp/backend-credentials';
import { BlockingQuery } from './blocking-query';
import { SeenOnce } from '../seen-once';

export interface HealthEntry {
  Node: { Address: string };
  Service: { ID: string; Service: string; Address: string; Port: number; Tags: string[] | null; Meta: Record<string, string> | null };
}

const META = MCP_SERVER_DISCOVERY.meta;
/** The longest a starting router waits for instances registered but not passing (see waitForNotPassing). */
export const STARTUP_WAIT_MAX_MS = 10_000;
/** An absolute URL path: no query, fragment, backslash, dot segment or control character. */
const PATH_RE = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,511}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/**
 * The backend a passing registration describes, or why it is refused: a
 * string for a malformed registration, a Refusal when the policy (if given)
 * does not allow its address or namespace.
 */
export function descriptorOf(e: HealthEntry, policy?: BackendPolicy): BackendDescriptor | string | Refusal {
  const meta = e.Service.Meta ?? {};
  const address = e.Service.Address || e.Node.Address;
  if (typeof address !== 'string' || !(isIP(address) !== 0 || PATTERNS.host.test(address))) {
    return `address must be an IP address or a host name; received ${JSON.stringify(address)}`;
  }
  const port = e.Service.Port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `port must be an integer from 1 to 65535; received ${JSON.stringify(port)}`;
  const path = meta[META.path] || PATHS.mcp;
  if (!PATH_RE.test(path) || /(^|\/)\.\.?(\/|$)/.test(path)) return `${META.path} must be an absolute path such as /mcp (no query, fragment or dot segments); received ${JSON.stringify(path)}`;
  const scheme = meta[META.scheme] || 'http';
  if (scheme !== 'http' && scheme !== 'https') return `${META.scheme} must be http or https; received ${JSON.stringify(scheme)}`;
  const namespace = meta[META.namespace] || e.Service.Service;
  if (namespace.length > 128 || CONTROL_RE.test(namespace)) return `${META.namespace} must be 1-128 characters without control characters; received ${JSON.stringify(namespace)}`;
  const serverName = meta[META.tlsServerName];
  if (serverName !== undefined && serverName !== '' && !PATTERNS.host.test(serverName)) return `${META.tlsServerName} must be a host name; received ${JSON.stringify(serverName)}`;
  const addressGuard = policy?.admit(address, namespace);
  if (addressGuard instanceof Refusal) return addressGuard;
  const credentials = meta[META.credentials];
  if (credentials !== undefined && credentials !== '' && !BACKEND_CREDENTIAL_NAME.test(credentials)) return `${META.credentials} must name credentials (1-64 letters, digits, "_" or "-"); received ${JSON.stringify(credentials)}`;
  const host = isIP(address) === 6 ? `[${address}]` : address;
  return {
    id: e.Service.ID,
    namespace,
    url: `${scheme}://${host}:${port}${path}`,
    ...(serverName ? { tlsServerName: serverName } : {}),
    ...(addressGuard ? { addressGuard } : {}),
    ...(credentials ? { credentials } : {}),
  };
}

export class ConsulDiscovery {
  private catalogQuery?: BlockingQuery<Record<string, string[]>>;
  private readonly serviceQueries = new Map<string, BlockingQuery<HealthEntry[]>>();
  private readonly instances = new Map<string, BackendDescriptor[]>();
  /** Refusals already logged (by service ID and reason), so a bad registration is logged once, not per update. */
  private readonly refused = new SeenOnce();
  private stopped = false;
  /** Services whose first health answer is still awaited (undefined until the service list has answered). */
  private awaiting?: Set<string>;
  private resolveInitialized!: () => void;
  /** Set once the first answers are in (the start-up wait for not-passing instances, if any, has begun). */
  private firstAnswered = false;
  /** The start-up wait's Consul queries while they run (stop() cancels them). */
  private startupQueries?: EventEmitter;
  /** Instances registered but not passing at start-up that the start-up wait is still waiting for. */
  private startupWait?: { readonly ids: Set<string>; readonly done: () => void };
  /**
   * Resolves once Consul has answered the service list and each tagged
   * service's instances, and the instances registered but not passing at that
   * moment have passed or the hold time has run out (a router that starts
   * while a server's check fails for a moment does not serve a smaller
   * catalogue than the running routers, which hold such an instance).
   */
  readonly initialized = new Promise<void>((resolve) => (this.resolveInitialized = resolve));

  constructor(
    private readonly consul: Consul,
    private readonly tag: string,
    private readonly onChange: (backends: BackendDescriptor[]) => void,
    private readonly logger: Logger,
    private readonly policy?: BackendPolicy,
    /** Told of each distinct refusal (the one that is logged). */
    private readonly onRefused?: (kind: RefusalKind) => void,
    private readonly excludeServices: readonly string[] = [],
    /**
     * How long an instance that left the passing set stays in the list (ms). A
     * check that times out once on a busy host would otherwise take a server
     * that is up out of every router's catalogue (its tools NOT_FOUND) until
     * the next passing check; held, its calls still reach it, and a dead one
     * fails over or answers UNAVAILABLE, as any dead instance does.
     */
    private readonly holdMs = 0,
    /**
     * The most MCP server instances taken, and tagged services watched (one
     * blocking query each): a registration flood costs each router this many
     * sessions at most. Which ones is the same on every router: services by
     * name, then instances by service name and ID; the rest are refused
     * (`limit`) until others leave.
     */
    private readonly maxBackends = Number.MAX_SAFE_INTEGER,
  ) {}

  /** Instances that left the passing set, with the time their hold ends. */
  private readonly held = new Map<string, { readonly descriptor: BackendDescriptor; readonly until: number }>();
  /** The passing instances of the last emit, by ID. */
  private passing = new Map<string, BackendDescriptor>();
  private holdTimer?: NodeJS.Timeout;

  start(): void {
    this.catalogQuery = new BlockingQuery(
      (q) => this.consul.catalog.service.list({ ...q, stale: true } as never) as unknown as Promise<[{ headers: Record<string, string> }, Record<string, string[]>]>,
      (services) => this.onServices(services),
      (err) => this.logger.warn({ err: err.message }, 'consul catalog query failed; keeping last known backends'),
    );
    this.catalogQuery.start();
  }

  private onServices(services: Record<string, string[]>): void {
    if (this.stopped) return;
    const names = Object.entries(services ?? {})
      .filter(([name, tags]) => (tags ?? []).includes(this.tag) && !this.excludeServices.includes(name))
      .map(([name]) => name)
      .sort();
    for (const name of names.slice(this.maxBackends)) this.refuse(name, name, new Refusal('limit', this.limitReason('tagged services')));
    const tagged = new Set(names.slice(0, this.maxBackends));
    this.awaiting ??= new Set(tagged);
    for (const [name, q] of this.serviceQueries) {
      if (!tagged.has(name)) {
        q.stop();
        this.serviceQueries.delete(name);
        this.instances.delete(name);
        this.awaiting?.delete(name);
      }
    }
    this.checkInitialized();
    for (const name of tagged) {
      if (this.serviceQueries.has(name)) continue;
      const q = new BlockingQuery<HealthEntry[]>(
        (opts) => this.consul.health.service({ ...(opts as object), service: name, passing: true, stale: true } as never) as unknown as Promise<[{ headers: Record<string, string> }, HealthEntry[]]>,
        (entries) => {
          this.instances.set(name, (entries ?? []).filter((e) => (e.Service.Tags ?? []).includes(this.tag)).flatMap((e) => this.accept(name, e)));
          this.emit();
          this.awaiting?.delete(name);
          this.checkInitialized();
        },
        (err) => this.logger.warn({ service: name, err: err.message }, 'consul health query failed; keeping last known instances'),
      );
      this.serviceQueries.set(name, q);
      q.start();
    }
    this.emit();
  }

  private checkInitialized(): void {
    if (!this.awaiting || this.awaiting.size > 0 || this.firstAnswered) return;
    this.firstAnswered = true;
    void this.waitForNotPassing().finally(() => this.resolveInitialized());
  }

  /**
   * The start-up wait. A running router keeps an instance that leaves the
   * passing set for the hold time; a router starting at that moment has not
   * seen it pass, so it waits, up to the hold time, for the instances that
   * are registered (tagged, valid, allowed) but not passing. One that passes
   * in time is in its first catalogue, as it is in the running routers'; one
   * that does not is out of theirs too by then. Costs a start nothing when
   * every instance passes; at most the hold time when one stays critical,
   * and never more than STARTUP_WAIT_MAX_MS (a longer hold would outlast the
   * container health checks' start periods and have a router restarted
   * before it is ever ready).
   */
  private async waitForNotPassing(): Promise<void> {
    const waitMs = Math.min(this.holdMs, STARTUP_WAIT_MAX_MS);
    if (waitMs <= 0 || this.stopped) return;
    const deadline = Date.now() + waitMs;
    const names = [...this.serviceQueries.keys()];
    // One context for these queries: stop() cancels them (the consul client's documented context).
    const ctx = new EventEmitter();
    this.startupQueries = ctx;
    const registered = await Promise.all(
      names.map((service) =>
        (this.consul.health.service({ service, stale: true, timeout: waitMs, ctx } as never) as unknown as Promise<HealthEntry[]>).catch((err: Error) => {
          this.logger.warn({ service, err: err.message }, 'consul query of not-passing instances failed; not waiting for them');
          return [] as HealthEntry[];
        }),
      ),
    );
    const ids = new Set<string>();
    for (const entries of registered) {
      for (const e of entries ?? []) {
        if (!(e.Service.Tags ?? []).includes(this.tag) || this.passing.has(e.Service.ID)) continue;
        const d = descriptorOf(e, this.policy);
        if (typeof d !== 'string' && !(d instanceof Refusal)) ids.add(d.id);
      }
    }
    this.startupQueries = undefined;
    const remainingMs = deadline - Date.now();
    if (ids.size === 0 || remainingMs <= 0 || this.stopped) return;
    this.logger.info({ instances: [...ids], waitMs: remainingMs }, 'MCP server instances registered but not passing in Consul; waiting up to the hold time for them before reporting ready');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.startupWait = undefined;
        this.logger.info({ instances: [...ids] }, 'hold time over: starting without the MCP server instances that are still not passing');
        resolve();
      }, remainingMs);
      timer.unref();
      this.startupWait = {
        ids,
        done: () => {
          clearTimeout(timer);
          this.startupWait = undefined;
          resolve();
        },
      };
    });
  }

  private accept(service: string, e: HealthEntry): BackendDescriptor[] {
    const d = descriptorOf(e, this.policy);
    if (typeof d !== 'string' && !(d instanceof Refusal)) return [d];
    this.refuse(service, e.Service.ID, typeof d === 'string' ? new Refusal('invalid', d) : d);
    return [];
  }

  /** Logs and counts a refusal once per registration and reason. */
  private refuse(service: string, id: string, refusal: Refusal): void {
    if (!this.refused.first(`${id}\u0000${refusal.reason}`)) return;
    this.logger.warn({ service, id, kind: refusal.kind, reason: refusal.reason }, 'MCP server registration refused');
    this.onRefused?.(refusal.kind);
  }

  private limitReason(what: string): string {
    return `more than ${this.maxBackends} ${what} in Consul (MCP_ROUTER_MAX_DISCOVERED_BACKENDS): the first ${this.maxBackends} by name are used`;
  }

  private emit(): void {
    if (this.stopped) return;
    const now = Date.now();
    const ordered = [...this.instances.keys()].sort().flatMap((name) => [...this.instances.get(name)!].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((d) => [name, d] as const));
    const passingNow = new Set(ordered.map(([, d]) => d.id));
    for (const [id, d] of this.passing) {
      if (!passingNow.has(id) && this.holdMs > 0 && !this.held.has(id)) {
        this.held.set(id, { descriptor: d, until: now + this.holdMs });
        this.logger.info({ backend: id, holdMs: this.holdMs }, 'MCP server instance no longer passing in Consul; kept for the hold time');
      }
    }
    for (const [id, h] of this.held) if (passingNow.has(id) || h.until <= now) this.held.delete(id);
    // A held instance keeps its place under the cap until its hold ends: the next one by name waits.
    const room = Math.max(0, this.maxBackends - this.held.size);
    for (const [name, d] of ordered.slice(room)) this.refuse(name, d.id, new Refusal('limit', this.limitReason('MCP server instances')));
    const current = new Map(ordered.slice(0, room).map(([, d]) => [d.id, d] as const));
    this.passing = current;
    clearTimeout(this.holdTimer);
    if (this.held.size > 0) {
      const next = Math.min(...[...this.held.values()].map((h) => h.until));
      this.holdTimer = setTimeout(() => this.emit(), Math.max(0, next - now) + 1);
      this.holdTimer.unref();
    }
    this.onChange([...current.values(), ...[...this.held.values()].map((h) => h.descriptor)]);
    if (this.startupWait && [...this.startupWait.ids].every((id) => current.has(id))) this.startupWait.done();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.holdTimer);
    this.startupQueries?.emit('cancel');
    this.startupWait?.done();
    this.catalogQuery?.stop();
    for (const q of this.serviceQueries.values()) q.stop();
    this.serviceQueries.clear();
  }
}
