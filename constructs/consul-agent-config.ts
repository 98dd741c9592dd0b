/**
 * Renders the Consul agent configuration (JSON, which Consul reads from its
 * config dir). Pure: options in, text out. The Consul server container and
 * the local platform both use it.
 */

export interface ConsulAgentPorts {
  /** HTTP API and UI. @default 8500 */
  readonly http?: number;
  /** DNS (SRV records for HAProxy). @default 8600 */
  readonly dns?: number;
  /** @default 8301 */
  readonly serfLan?: number;
  /** -1 disables WAN gossip (single datacenter). @default -1 */
  readonly serfWan?: number;
  /** Server RPC. @default 8300 */
  readonly server?: number;
}

export interface ConsulAgentConfigOptions {
  /** @default 'dc1' */
  readonly datacenter?: string;
  /** @default 'consul-server' */
  readonly nodeName?: string;
  /** @default '/consul/data' */
  readonly dataDir?: string;
  /** Cluster (serf/RPC) bind address. @default '0.0.0.0' */
  readonly bindAddress?: string;
  /** Address the HTTP API and DNS listen on. @default '0.0.0.0' (inside the container; host publishing decides exposure) */
  readonly clientAddress?: string;
  /** Address advertised to the cluster. @default Consul's choice (the bind interface) */
  readonly advertiseAddress?: string;
  readonly ports?: ConsulAgentPorts;
  /** Serve the web UI. @default true */
  readonly ui?: boolean;
  /** Servers to wait for before bootstrapping (3 for the seed's large deployments). @default 1 */
  readonly bootstrapExpect?: number;
  /** @default 'INFO' */
  readonly logLevel?: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERR';
  /** Most records in one DNS answer; must cover every router. @default 100 */
  readonly dnsAnswerLimit?: number;
}

export const CONSUL_DEFAULT_PORTS = { http: 8500, dns: 8600, serfLan: 8301, serfWan: -1, server: 8300 } as const;

export function renderConsulAgentConfig(options: ConsulAgentConfigOptions = {}): string {
  const ports = { ...CONSUL_DEFAULT_PORTS, ...options.ports };
  const answerLimit = options.dnsAnswerLimit ?? 100;
  const config = {
    datacenter: options.datacenter ?? 'dc1',
    node_name: options.nodeName ?? 'consul-server',
    data_dir: options.dataDir ?? '/consul/data',
    server: true,
    bootstrap_expect: options.bootstrapExpect ?? 1,
    bind_addr: options.bindAddress ?? '0.0.0.0',
    client_addr: options.clientAddress ?? '0.0.0.0',
    ...(options.advertiseAddress ? { advertise_addr: options.advertiseAddress } : {}),
    ports: { http: ports.http, dns: ports.dns, serf_lan: ports.serfLan, serf_wan: ports.serfWan, server: ports.server, grpc: -1 },
    ui: options.ui ?? true,
    log_level: options.logLevel ?? 'INFO',
    disable_update_check: true,
    // Script checks run arbitrary commands; the routers use TCP and gRPC checks only.
    enable_script_checks: false,
    enable_local_script_checks: false,
    dns_config: {
      // Let clients that send EDNS0 (HAProxy's accepted_payload_size) get every
      // instance; truncate (TC bit) instead of silently dropping records.
      enable_truncate: true,
      udp_answer_limit: answerLimit,
      a_record_limit: answerLimit,
      // No caching: a router that fails or leaves disappears from DNS at once.
      node_ttl: '0s',
      service_ttl: { '*': '0s' },
      only_passing: true,
    },
    performance: { raft_multiplier: 1 },
  };
  return JSON.stringify(config, null, 2) + '\n';
}
