/**
 * Renders the Consul agent configuration (JSON, which Consul reads from its
 * config dir). Pure: options in, text out. The Consul server container and
 * the local platform both use it. Invalid options throw ConsulAgentConfigError
 * naming the option, the value and what is allowed.
 */
import { describeValue } from './validation';

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

export const CONSUL_LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERR'] as const;

/** Defaults of renderConsulAgentConfig's options. */
export const CONSUL_AGENT_DEFAULTS = {
  datacenter: 'dc1',
  nodeName: 'consul-server',
  dataDir: '/consul/data',
  bindAddress: '0.0.0.0',
  clientAddress: '0.0.0.0',
  ui: true,
  bootstrapExpect: 1,
  logLevel: 'INFO',
  dnsAnswerLimit: 100,
} as const;

/** Thrown for an option that cannot be rendered; the message names option, value and what is allowed. */
export class ConsulAgentConfigError extends Error {
  constructor(option: string, value: unknown, allowed: string) {
    super(`Consul agent option ${option} must be ${allowed}; received ${describeValue(value)}`);
    this.name = 'ConsulAgentConfigError';
  }
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const NAME_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9_-]{0,62})$/;

function int(option: string, value: unknown, min: number, max: number, extra: readonly number[] = []): number {
  if (typeof value === 'number' && extra.includes(value)) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConsulAgentConfigError(option, value, `an integer from ${min} to ${max}${extra.length ? ` or ${extra.join(', ')} (disabled)` : ''}`);
  }
  return value;
}

function ipv4(option: string, value: unknown): string {
  if (typeof value !== 'string' || !IPV4_RE.test(value)) throw new ConsulAgentConfigError(option, value, 'an IPv4 address such as 0.0.0.0 or 127.0.0.1');
  return value;
}

export function renderConsulAgentConfig(options: ConsulAgentConfigOptions = {}): string {
  const d = CONSUL_AGENT_DEFAULTS;
  if (typeof options !== 'object' || options === null) throw new ConsulAgentConfigError('options', options, 'an object');
  const ports = { ...CONSUL_DEFAULT_PORTS, ...options.ports };
  int('ports.http', ports.http, 1, 65535);
  int('ports.dns', ports.dns, 1, 65535);
  int('ports.serfLan', ports.serfLan, 1, 65535);
  int('ports.serfWan', ports.serfWan, 1, 65535, [-1]);
  int('ports.server', ports.server, 1, 65535);
  const enabled = Object.entries(ports).filter(([, p]) => p !== -1);
  for (let i = 0; i < enabled.length; i++) {
    for (let j = 0; j < i; j++) {
      // DNS listens on udp and tcp, the others on tcp (serf also udp): any two equal ports clash.
      if (enabled[i][1] === enabled[j][1]) throw new ConsulAgentConfigError(`ports.${enabled[i][0]}`, enabled[i][1], `different from ports.${enabled[j][0]} (${enabled[j][1]})`);
    }
  }
  const answerLimit = int('dnsAnswerLimit', options.dnsAnswerLimit ?? d.dnsAnswerLimit, 1, 10_000);
  const datacenter = options.datacenter ?? d.datacenter;
  if (typeof datacenter !== 'string' || !NAME_RE.test(datacenter)) throw new ConsulAgentConfigError('datacenter', datacenter, 'a name of letters, digits, "-" and "_" (1-63 characters)');
  const nodeName = options.nodeName ?? d.nodeName;
  if (typeof nodeName !== 'string' || !NAME_RE.test(nodeName)) throw new ConsulAgentConfigError('nodeName', nodeName, 'a name of letters, digits, "-" and "_" (1-63 characters)');
  const dataDir = options.dataDir ?? d.dataDir;
  if (typeof dataDir !== 'string' || !dataDir.startsWith('/')) throw new ConsulAgentConfigError('dataDir', dataDir, 'an absolute directory path');
  const bindAddress = ipv4('bindAddress', options.bindAddress ?? d.bindAddress);
  const clientAddress = ipv4('clientAddress', options.clientAddress ?? d.clientAddress);
  if (options.advertiseAddress !== undefined) ipv4('advertiseAddress', options.advertiseAddress);
  const ui = options.ui ?? d.ui;
  if (typeof ui !== 'boolean') throw new ConsulAgentConfigError('ui', ui, 'true or false');
  const bootstrapExpect = int('bootstrapExpect', options.bootstrapExpect ?? d.bootstrapExpect, 1, 7);
  const logLevel = options.logLevel ?? d.logLevel;
  if (!CONSUL_LOG_LEVELS.includes(logLevel)) throw new ConsulAgentConfigError('logLevel', logLevel, `one of ${CONSUL_LOG_LEVELS.join(', ')}`);
  const config = {
    datacenter,
    node_name: nodeName,
    data_dir: dataDir,
    server: true,
    bootstrap_expect: bootstrapExpect,
    bind_addr: bindAddress,
    client_addr: clientAddress,
    ...(options.advertiseAddress ? { advertise_addr: options.advertiseAddress } : {}),
    ports: { http: ports.http, dns: ports.dns, serf_lan: ports.serfLan, serf_wan: ports.serfWan, server: ports.server, grpc: -1 },
    ui,
    log_level: logLevel,
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
