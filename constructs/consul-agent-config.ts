/**
 * Renders the Consul agent configuration (JSON, which Consul reads from its
 * config dir). Pure: resolved options in, text out
 * (resolveConsulAgentConfig validates and fills defaults, throwing a
 * PropError from renderConsulAgentConfig that names the option). The Consul
 * server containers, the routers' and demo servers' client agents, the local
 * platform and the tests' loopback clusters all use it.
 *
 * It never renders a secret: ACL tokens (the initial management token, an
 * agent's token) go in a separate file whose content is a Terraform
 * expression, so they exist only at apply time (see consulAclTokensFile).
 */
import { PATTERNS, PORTS } from '../router-app/src/contract';
import { checkBoolean, checkInteger, checkIpv4, checkObject, checkOneOf, propError } from './validation';

export interface ConsulAgentPorts {
  /** HTTP API and UI. @default 8500 */
  readonly http?: number;
  /** DNS (SRV records for HAProxy); -1 disables it (a client agent nobody asks for DNS). @default 8600 */
  readonly dns?: number;
  /** @default 8301 */
  readonly serfLan?: number;
  /** -1 disables WAN gossip (single datacenter). @default -1 */
  readonly serfWan?: number;
  /** Server RPC. @default 8300 */
  readonly server?: number;
}

/** Consul's log levels. */
export enum ConsulLogLevel {
  TRACE = 'TRACE',
  DEBUG = 'DEBUG',
  INFO = 'INFO',
  WARN = 'WARN',
  ERR = 'ERR',
}

/**
 * The agent settings ConsulServer lets through (its `agentConfig` prop): all
 * but the ports and the data dir, which stay the image's.
 */
export interface ConsulAgentSettings {
  /** @default 'dc1' */
  readonly datacenter?: string;
  /** @default 'consul-server' for a server (ConsulServer: its container name); for a client agent none (Consul takes the host name, or `-node`) */
  readonly nodeName?: string;
  /** Cluster (serf/RPC) bind address. @default '0.0.0.0' */
  readonly bindAddress?: string;
  /** Address the HTTP API and DNS listen on. @default '0.0.0.0' (inside the container; host publishing decides exposure) */
  readonly clientAddress?: string;
  /** Address advertised to the cluster. @default Consul's choice (the bind interface) */
  readonly advertiseAddress?: string;
  /** Serve the web UI. @default true */
  readonly ui?: boolean;
  /** A server (true) or a client agent that forwards to the servers (false). @default true */
  readonly server?: boolean;
  /** Servers to wait for before bootstrapping (3 for the seed's large deployments); servers only. @default 1 */
  readonly bootstrapExpect?: number;
  /**
   * Agents to join at start and retry until one answers (`retry_join`): the servers'
   * host names or IPs, optionally `:port`. @default [] (a lone server)
   */
  readonly retryJoin?: string[];
  /** ACLs. Tokens are not options here: they never enter the rendered text. @default off */
  readonly acl?: ConsulAclOptions;
  /** @default ConsulLogLevel.INFO */
  readonly logLevel?: ConsulLogLevel;
  /** Most records in one DNS answer; must cover every router. @default 100 */
  readonly dnsAnswerLimit?: number;
}

/** Consul's `acl.default_policy`: what a request no rule allows gets. */
export enum ConsulAclPolicy {
  ALLOW = 'allow',
  DENY = 'deny',
}

/** Consul's `acl.down_policy`: what happens when the servers cannot resolve a token. */
export enum ConsulAclDownPolicy {
  ALLOW = 'allow',
  DENY = 'deny',
  /** Keep using cached decisions (Consul's default). */
  EXTEND_CACHE = 'extend-cache',
  ASYNC_CACHE = 'async-cache',
}

/** Access control of an agent (`acl` stanza, without tokens). */
export interface ConsulAclOptions {
  /** @default true */
  readonly enabled?: boolean;
  /** What a request no rule allows gets. @default ConsulAclPolicy.DENY */
  readonly defaultPolicy?: ConsulAclPolicy;
  /** What happens when the servers cannot resolve a token. @default ConsulAclDownPolicy.EXTEND_CACHE */
  readonly downPolicy?: ConsulAclDownPolicy;
  /** Tokens set through the agent API (`consul acl set-agent-token`) survive a restart. @default true */
  readonly enableTokenPersistence?: boolean;
  /** How long a resolved token is cached, as a Consul duration. @default '30s' (Consul's) */
  readonly tokenTtl?: string;
}

/** The ACL options, resolved. */
export interface ResolvedConsulAclOptions {
  readonly enabled: boolean;
  readonly defaultPolicy: ConsulAclPolicy;
  readonly downPolicy: ConsulAclDownPolicy;
  readonly enableTokenPersistence: boolean;
  readonly tokenTtl?: string;
}

/** Where a Consul container keeps its files (the official image's config dir). */
export const CONSUL_AGENT_PATHS = {
  /** The rendered agent configuration. */
  config: '/consul/config/agent.json',
  /** The agent's ACL tokens (JSON config whose content is a Terraform expression: values exist at apply time only). */
  aclTokens: '/consul/config/acl-tokens.json',
  /** The agent's own token, raw, for the consul CLI in the container (CONSUL_HTTP_TOKEN_FILE: healthcheck, docker exec). */
  tokenFile: '/consul/secrets/agent-token',
} as const;

export const CONSUL_ACL_POLICIES: readonly ConsulAclPolicy[] = Object.values(ConsulAclPolicy);
export const CONSUL_ACL_DOWN_POLICIES: readonly ConsulAclDownPolicy[] = Object.values(ConsulAclDownPolicy);

/** Options of the Consul agent config renderer (`ConsulAgentConfig.resolve`). */
export interface ConsulAgentConfigOptions extends ConsulAgentSettings {
  /** @default '/consul/data' */
  readonly dataDir?: string;
  /** @default http 8500, dns 8600, serfLan 8301, serfWan -1 (off), server 8300 */
  readonly ports?: ConsulAgentPorts;
}

/** The agent's ports, resolved (-1: disabled). */
export interface ResolvedConsulAgentPorts {
  readonly http: number;
  readonly dns: number;
  readonly serfLan: number;
  readonly serfWan: number;
  readonly server: number;
}

export const CONSUL_DEFAULT_PORTS: ResolvedConsulAgentPorts = Object.freeze({ http: PORTS.consulHttp, dns: PORTS.consulDns, serfLan: PORTS.consulSerfLan, serfWan: -1, server: PORTS.consulServer });

export const CONSUL_LOG_LEVELS: readonly ConsulLogLevel[] = Object.values(ConsulLogLevel);

/** Every option resolved. */
export interface ResolvedConsulAgentConfig {
  readonly datacenter: string;
  /** Undefined for a client agent whose node name comes from its host name or `-node`. */
  readonly nodeName?: string;
  readonly dataDir: string;
  readonly bindAddress: string;
  readonly clientAddress: string;
  readonly advertiseAddress?: string;
  readonly ports: ResolvedConsulAgentPorts;
  readonly ui: boolean;
  readonly server: boolean;
  /** Servers only (undefined for a client agent). */
  readonly bootstrapExpect?: number;
  readonly retryJoin: string[];
  readonly acl?: ResolvedConsulAclOptions;
  readonly logLevel: ConsulLogLevel;
  readonly dnsAnswerLimit: number;
}

/** Defaults of the renderer's options. */
export const CONSUL_AGENT_DEFAULTS: ResolvedConsulAgentConfig = Object.freeze({
  datacenter: 'dc1',
  nodeName: 'consul-server',
  dataDir: '/consul/data',
  bindAddress: '0.0.0.0',
  clientAddress: '0.0.0.0',
  ports: CONSUL_DEFAULT_PORTS,
  ui: true,
  server: true,
  bootstrapExpect: 1,
  retryJoin: [],
  logLevel: ConsulLogLevel.INFO,
  dnsAnswerLimit: 100,
});

/** Who reports an option's error. */
const R = 'renderConsulAgentConfig';
const NAME_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9_-]{0,62})$/;

function port(option: string, value: unknown, disabledAllowed = false): number {
  if (disabledAllowed && value === -1) return -1;
  return checkInteger(R, option, value, 1, 65535, disabledAllowed ? ' or -1 (disabled)' : '');
}

function name(option: string, value: unknown): string {
  if (typeof value !== 'string' || !NAME_RE.test(value)) throw propError(R, option, value, 'a name of letters, digits, "-" and "_" (1-63 characters)');
  return value;
}

/** Fills defaults and validates; throws a PropError naming the option. */
export function resolveConsulAgentConfig(options: ConsulAgentConfigOptions = {}): ResolvedConsulAgentConfig {
  const d = CONSUL_AGENT_DEFAULTS;
  checkObject(R, 'options', options);
  const given = { ...CONSUL_DEFAULT_PORTS, ...options.ports };
  const ports = {
    http: port('ports.http', given.http),
    dns: port('ports.dns', given.dns, true),
    serfLan: port('ports.serfLan', given.serfLan),
    serfWan: port('ports.serfWan', given.serfWan, true),
    server: port('ports.server', given.server),
  };
  const enabled = Object.entries(ports).filter(([, p]) => p !== -1);
  for (let i = 0; i < enabled.length; i++) {
    for (let j = 0; j < i; j++) {
      // DNS listens on udp and tcp, the others on tcp (serf also udp): any two equal ports clash.
      if (enabled[i][1] === enabled[j][1]) throw propError(R, `ports.${enabled[i][0]}`, enabled[i][1], `different from ports.${enabled[j][0]} (${enabled[j][1]})`);
    }
  }
  const dataDir = options.dataDir ?? d.dataDir;
  if (typeof dataDir !== 'string' || !dataDir.startsWith('/')) throw propError(R, 'dataDir', dataDir, 'an absolute directory path');
  const server = checkBoolean(R, 'server', options.server ?? d.server);
  if (!server && options.bootstrapExpect !== undefined) throw propError(R, 'bootstrapExpect', options.bootstrapExpect, 'left unset for a client agent (server: false)');
  const retryJoin = options.retryJoin ?? [];
  if (!Array.isArray(retryJoin)) throw propError(R, 'retryJoin', retryJoin, 'a list of server host names or IPs (optionally host:port)');
  retryJoin.forEach((h, i) => {
    const m = typeof h === 'string' ? /^(.+?)(?::(\d{1,5}))?$/.exec(h) : null;
    if (!m || !PATTERNS.host.test(m[1]) || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
      throw propError(R, `retryJoin[${i}]`, h, 'a host name or IPv4 address, optionally with :port');
    }
  });
  if (!server && retryJoin.length === 0) throw propError(R, 'retryJoin', retryJoin, 'at least one server to join for a client agent (server: false)');
  return {
    datacenter: name('datacenter', options.datacenter ?? d.datacenter),
    ...(options.nodeName !== undefined || server ? { nodeName: name('nodeName', options.nodeName ?? d.nodeName) } : {}),
    dataDir,
    bindAddress: checkIpv4(R, 'bindAddress', options.bindAddress ?? d.bindAddress),
    clientAddress: checkIpv4(R, 'clientAddress', options.clientAddress ?? d.clientAddress),
    ...(options.advertiseAddress !== undefined ? { advertiseAddress: checkIpv4(R, 'advertiseAddress', options.advertiseAddress) } : {}),
    ports,
    ui: checkBoolean(R, 'ui', options.ui ?? (server ? d.ui : false)),
    server,
    ...(server ? { bootstrapExpect: checkInteger(R, 'bootstrapExpect', options.bootstrapExpect ?? d.bootstrapExpect, 1, 7) } : {}),
    retryJoin: [...retryJoin],
    ...(options.acl !== undefined ? { acl: resolveAcl(options.acl) } : {}),
    logLevel: checkOneOf(R, 'logLevel', options.logLevel ?? d.logLevel, CONSUL_LOG_LEVELS),
    dnsAnswerLimit: checkInteger(R, 'dnsAnswerLimit', options.dnsAnswerLimit ?? d.dnsAnswerLimit, 1, 10_000),
  };
}

function resolveAcl(acl: unknown): ResolvedConsulAclOptions {
  checkObject(R, 'acl', acl, 'an object { enabled?, defaultPolicy?, downPolicy?, enableTokenPersistence?, tokenTtl? }');
  const a = acl as ConsulAclOptions;
  for (const key of Object.keys(a)) {
    if (!['enabled', 'defaultPolicy', 'downPolicy', 'enableTokenPersistence', 'tokenTtl'].includes(key)) throw propError(R, `acl.${key}`, (a as Record<string, unknown>)[key], 'left unset: tokens never go in the rendered config (the ACL options are enabled, defaultPolicy, downPolicy, enableTokenPersistence, tokenTtl)');
  }
  if (a.tokenTtl !== undefined && (typeof a.tokenTtl !== 'string' || !/^\d+(ms|s|m|h)$/.test(a.tokenTtl))) throw propError(R, 'acl.tokenTtl', a.tokenTtl, 'a duration such as 30s');
  return {
    enabled: checkBoolean(R, 'acl.enabled', a.enabled ?? true),
    defaultPolicy: checkOneOf(R, 'acl.defaultPolicy', a.defaultPolicy ?? ConsulAclPolicy.DENY, CONSUL_ACL_POLICIES),
    downPolicy: checkOneOf(R, 'acl.downPolicy', a.downPolicy ?? ConsulAclDownPolicy.EXTEND_CACHE, CONSUL_ACL_DOWN_POLICIES),
    enableTokenPersistence: checkBoolean(R, 'acl.enableTokenPersistence', a.enableTokenPersistence ?? true),
    ...(a.tokenTtl !== undefined ? { tokenTtl: a.tokenTtl } : {}),
  };
}

export function renderConsulAgentConfig(o: ResolvedConsulAgentConfig): string {
  const config = {
    datacenter: o.datacenter,
    ...(o.nodeName !== undefined ? { node_name: o.nodeName } : {}),
    data_dir: o.dataDir,
    server: o.server,
    ...(o.bootstrapExpect !== undefined ? { bootstrap_expect: o.bootstrapExpect } : {}),
    ...(o.retryJoin.length ? { retry_join: o.retryJoin } : {}),
    bind_addr: o.bindAddress,
    client_addr: o.clientAddress,
    ...(o.advertiseAddress ? { advertise_addr: o.advertiseAddress } : {}),
    ports: { http: o.ports.http, dns: o.ports.dns, serf_lan: o.ports.serfLan, serf_wan: o.ports.serfWan, server: o.ports.server, grpc: -1 },
    ui: o.ui,
    log_level: o.logLevel,
    disable_update_check: true,
    // Script checks run arbitrary commands; the routers use TCP and gRPC checks only.
    enable_script_checks: false,
    enable_local_script_checks: false,
    dns_config: {
      // Let clients that send EDNS0 (HAProxy's accepted_payload_size) get every
      // instance; truncate (TC bit) instead of silently dropping records.
      enable_truncate: true,
      udp_answer_limit: o.dnsAnswerLimit,
      a_record_limit: o.dnsAnswerLimit,
      // No caching: a router that fails or leaves disappears from DNS at once.
      node_ttl: '0s',
      service_ttl: { '*': '0s' },
      only_passing: true,
    },
    performance: { raft_multiplier: 1 },
    ...(o.acl
      ? {
          // ACLs need the datacenter that owns them named on every agent.
          primary_datacenter: o.datacenter,
          acl: {
            enabled: o.acl.enabled,
            default_policy: o.acl.defaultPolicy,
            down_policy: o.acl.downPolicy,
            enable_token_persistence: o.acl.enableTokenPersistence,
            ...(o.acl.tokenTtl !== undefined ? { token_ttl: o.acl.tokenTtl } : {}),
          },
        }
      : {}),
  };
  return JSON.stringify(config, null, 2) + '\n';
}

/**
 * The Consul agent config renderer as the package exports it: static methods and
 * constants, the form every jsii language can call.
 */
export class ConsulAgentConfig {
  /** The options the renderer uses for what is not given. */
  public static readonly DEFAULTS: ResolvedConsulAgentConfig = CONSUL_AGENT_DEFAULTS;
  /** The agent's ports inside its container. */
  public static readonly DEFAULT_PORTS: ResolvedConsulAgentPorts = CONSUL_DEFAULT_PORTS;

  /** Fills in the defaults and validates; throws a PropError naming the option. */
  public static resolve(options?: ConsulAgentConfigOptions): ResolvedConsulAgentConfig {
    return resolveConsulAgentConfig(options);
  }

  /** The agent configuration (JSON) for options from `resolve`. */
  public static render(options: ResolvedConsulAgentConfig): string {
    return renderConsulAgentConfig(options);
  }

  private constructor() {}
}
