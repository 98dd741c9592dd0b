/**
 * Discovers MCP backends in Consul: healthy instances of services tagged
 * `tag` (default "mcp-server"), kept current with blocking queries (the
 * consul client's watch). Service meta `mcp_path` (default /mcp) and
 * `namespace` (default the service name) shape each backend. While Consul is
 * unreachable the last known set is kept.
 */
import Consul from 'consul';
import type { Logger } from '../logger';
import type { BackendDescriptor } from '../mcp/backend';

type Watch = ReturnType<Consul['watch']>;

/**
 * After a failed query, ask again without an index. A restarted Consul
 * starts over with lower indexes, and a blocking query with the old (higher)
 * index would hang for the whole wait time before the client notices the
 * index went backwards; a fresh query answers at once.
 */
function resetIndexOnError(w: Watch): void {
  w.on('error', () => {
    const opts = (w as unknown as { _options?: { index?: bigint } })._options;
    if (opts) opts.index = 0n;
  });
}

export interface HealthEntry {
  Node: { Address: string };
  Service: { ID: string; Service: string; Address: string; Port: number; Tags: string[] | null; Meta: Record<string, string> | null };
}

/** Service meta keys an MCP server's registration may carry. */
export const MCP_META = {
  /** Path of the Streamable HTTP endpoint. @default '/mcp' */
  path: 'mcp_path',
  /** Namespace of its tools and prompts. @default the service name */
  namespace: 'namespace',
  /** `http` or `https`. @default 'http' */
  scheme: 'mcp_scheme',
  /** Name for SNI and certificate verification when the address is an IP. @default the address */
  tlsServerName: 'mcp_tls_server_name',
} as const;

/** The backend a passing registration describes, or why it is refused. */
export function descriptorOf(e: HealthEntry): BackendDescriptor | string {
  const meta = e.Service.Meta ?? {};
  const address = e.Service.Address || e.Node.Address;
  const path = meta[MCP_META.path] || '/mcp';
  const scheme = meta[MCP_META.scheme] || 'http';
  if (scheme !== 'http' && scheme !== 'https') return `${MCP_META.scheme} must be http or https; received ${JSON.stringify(scheme)}`;
  const serverName = meta[MCP_META.tlsServerName];
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    id: e.Service.ID,
    namespace: meta[MCP_META.namespace] || e.Service.Service,
    url: `${scheme}://${host}:${e.Service.Port}${path.startsWith('/') ? path : `/${path}`}`,
    ...(serverName ? { tlsServerName: serverName } : {}),
  };
}

export class ConsulDiscovery {
  private catalogWatch?: Watch;
  private readonly serviceWatches = new Map<string, Watch>();
  private readonly instances = new Map<string, BackendDescriptor[]>();
  private stopped = false;

  constructor(
    private readonly consul: Consul,
    private readonly tag: string,
    private readonly onChange: (backends: BackendDescriptor[]) => void,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.catalogWatch = this.consul.watch({ method: this.consul.catalog.service.list, options: {}, backoffMax: 5000 } as never);
    this.catalogWatch.on('change', (services: Record<string, string[]>) => this.onServices(services));
    this.catalogWatch.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'consul catalog watch failed; keeping last known backends'));
    resetIndexOnError(this.catalogWatch);
  }

  private onServices(services: Record<string, string[]>): void {
    if (this.stopped) return;
    const tagged = new Set(Object.entries(services ?? {}).filter(([, tags]) => (tags ?? []).includes(this.tag)).map(([name]) => name));
    for (const [name, w] of this.serviceWatches) {
      if (!tagged.has(name)) {
        w.end();
        this.serviceWatches.delete(name);
        this.instances.delete(name);
      }
    }
    for (const name of tagged) {
      if (this.serviceWatches.has(name)) continue;
      const w = this.consul.watch({ method: this.consul.health.service, options: { service: name, passing: true }, backoffMax: 5000 } as never);
      w.on('change', (entries: HealthEntry[]) => {
        this.instances.set(
          name,
          (entries ?? [])
            .filter((e) => (e.Service.Tags ?? []).includes(this.tag))
            .flatMap((e) => {
              const d = descriptorOf(e);
              if (typeof d === 'string') {
                this.logger.warn({ service: name, id: e.Service.ID, reason: d }, 'MCP server registration refused');
                return [];
              }
              return [d];
            }),
        );
        this.emit();
      });
      w.on('error', (err: Error) => this.logger.warn({ service: name, err: err.message }, 'consul health watch failed; keeping last known instances'));
      resetIndexOnError(w);
      this.serviceWatches.set(name, w);
    }
    this.emit();
  }

  private emit(): void {
    if (!this.stopped) this.onChange([...this.instances.values()].flat());
  }

  stop(): void {
    this.stopped = true;
    this.catalogWatch?.end();
    for (const w of this.serviceWatches.values()) w.end();
    this.serviceWatches.clear();
  }
}
