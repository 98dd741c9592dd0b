/**
 * Options of the HAProxy config renderer, their defaults and their validation
 * (resolveHaproxyConfigOptions: options in, every option resolved out, or a
 * PropError naming the option). The renderer takes only resolved options; the
 * construct (container upload), the local platform (real haproxy on loopback)
 * and the bench all resolve here, so they cannot drift apart.
 */
import { CONSUL_DOMAIN, LIMITS, PATHS, PATTERNS, PORTS, ROUTER_DEFAULTS, ROUTER_SERVICE } from '../router-app/src/contract';
import { checkBoolean, checkInteger, checkObject, checkOneOf, propError } from '../constructs/validation';

/** How HAProxy proxies gRPC. */
export enum HaproxyMode {
  /** Per-call balancing of gRPC over HTTP/2 (`proto h2` on both sides). */
  HTTP = 'http',
  /** Per-connection balancing (the seed's): opaque byte proxying. */
  TCP = 'tcp',
}

/** Backend balance algorithm (the seed's three). */
export enum BalanceAlgorithm {
  /** HAProxy `roundrobin`. */
  ROUND_ROBIN = 'roundrobin',
  /** HAProxy `leastconn`. */
  LEAST_CONN = 'leastconn',
  /** HAProxy `source` (client address hash). */
  SOURCE = 'source',
}

/** What makes HAProxy retry a gRPC call on another router (http mode; see `retryOn`). */
export enum RetryCondition {
  /** The connection to the router failed: the router never saw the call. */
  CONN_FAILURE = 'conn-failure',
  /** The router closed without answering (it may have run the call). */
  EMPTY_RESPONSE = 'empty-response',
  /** The router did not answer within `timeouts.serverMs`. */
  RESPONSE_TIMEOUT = 'response-timeout',
  /** The router answered with something that is not HTTP. */
  JUNK_RESPONSE = 'junk-response',
}

/** Which calls HAProxy writes a log line for (its per-request log, to the container's stdout). */
export enum HaproxyAccessLog {
  /**
   * Only calls and connections that went wrong: connection errors, timeouts, retries,
   * redispatches, HTTP 5xx (`option dontlog-normal`). Successful calls are counted, not
   * logged: the stats page and Prometheus /metrics carry the totals per router.
   */
  ERRORS = 'errors',
  /** A line for every call (tcp mode: every connection): the full access log, at full rate. */
  ALL = 'all',
}

/** How HAProxy checks a router. */
export enum HealthCheckType {
  /**
   * HTTP GET of the router's readiness endpoint on its admin port, which turns 503
   * as soon as a router starts draining, so it leaves rotation before it closes.
   */
  READYZ = 'readyz',
  /** A plain TCP connect to the gRPC port (the seed's check). */
  TCP = 'tcp',
}

export const HAPROXY_MODES: readonly HaproxyMode[] = Object.values(HaproxyMode);
export const BALANCE_ALGORITHMS: readonly BalanceAlgorithm[] = Object.values(BalanceAlgorithm);
export const RETRY_CONDITIONS: readonly RetryCondition[] = Object.values(RetryCondition);
export const HEALTH_CHECK_TYPES: readonly HealthCheckType[] = Object.values(HealthCheckType);
export const ACCESS_LOGS: readonly HaproxyAccessLog[] = Object.values(HaproxyAccessLog);

export interface Endpoint {
  /** IPv4 address (listeners) or IPv4 address / host name (nameservers). */
  readonly address: string;
  readonly port: number;
}

/** The health check settings McpRouterPlatform lets through (it sets the port and path). */
export interface PlatformHealthCheckOptions {
  /**
   * (jsii warns that `type` is a Go keyword; Go's field would be `Type`, and the
   * package ships no Go binding.)
   * @default HealthCheckType.READYZ
   * @jsii suppress JSII5018
   */
  readonly type?: HealthCheckType;
  /** Check interval in ms. @default 2000 */
  readonly interMs?: number;
  /** Consecutive successes to mark a router up. @default 2 */
  readonly rise?: number;
  /** Consecutive failures to mark a router down. @default 3 */
  readonly fall?: number;
}

export interface HealthCheckOptions extends PlatformHealthCheckOptions {
  /** Router admin port serving /readyz. @default 9464 */
  readonly port?: number;
  /** Readiness path. @default '/readyz' */
  readonly path?: string;
}

export interface TimeoutOptions {
  /** @default 3000 */
  readonly connectMs?: number;
  /** Client-side inactivity. @default 60000 */
  readonly clientMs?: number;
  /**
   * Server-side inactivity: how long HAProxy waits for a router's answer. At
   * least `maxCallMs` + 1000, so HAProxy never cuts a call the router still
   * runs. @default maxCallMs + 5000
   */
  readonly serverMs?: number;
  /**
   * Inactivity of established tunnels (every connection in tcp mode). At least
   * `maxCallMs` + 1000. @default maxCallMs + 5000
   */
  readonly tunnelMs?: number;
  /**
   * Time a client has to send a complete request's headers (slow-header
   * attacks; http mode and the stats page). @default 10000
   */
  readonly httpRequestMs?: number;
}

/** Margin between the routers' longest call and HAProxy's server and tunnel timeouts, by default. */
export const CALL_TIMEOUT_MARGIN_MS = 5_000;

/**
 * HAProxy tuning: the renderer options that do not have to agree with the other
 * parts, so McpRouterPlatform lets every one through (its `haproxy` prop).
 */
export interface HaproxyTuningOptions {
  /** global maxconn. @default 10000 */
  readonly maxconn?: number;
  /** global nbthread (1-64); unset lets HAProxy use every CPU it is given. @default undefined */
  readonly nbthread?: number;
  /**
   * http mode: when HAProxy re-sends a call to another router. `CONN_FAILURE` is always
   * safe (the router never saw the call). `EMPTY_RESPONSE` also covers a router that
   * died after receiving the call without answering, so a non-idempotent tool may run
   * twice (at-least-once); drop it for at-most-once. An empty list disables L7 retries.
   * @default [RetryCondition.CONN_FAILURE, RetryCondition.EMPTY_RESPONSE]
   */
  readonly retryOn?: RetryCondition[];
  /** @default connectMs 3000, clientMs 60000, serverMs and tunnelMs maxCallMs + 5000, httpRequestMs 10000 */
  readonly timeouts?: TimeoutOptions;
  /** How long a router that vanished from DNS keeps its slot (scale-down). @default 5000 */
  readonly dnsHoldObsoleteMs?: number;
  /**
   * How long the last good DNS answer is kept when Consul is unreachable or
   * answers NXDOMAIN (e.g. while Consul restarts). @default 60000
   */
  readonly dnsHoldFailureMs?: number;
  /** Sticky sessions by client source address (the seed's session affinity). @default false */
  readonly stickySessions?: boolean;
  /** Reject clients opening more than this many connections per 10 s (the seed's rate limiting). @default undefined (off) */
  readonly rateLimitConnectionsPer10s?: number;
  /** Serve HAProxy's Prometheus exporter on the stats listener at /metrics. @default true */
  readonly prometheusExporter?: boolean;
  /**
   * Which calls get a log line. A line per call costs HAProxy CPU and fills the container's
   * log at the call rate, so by default only what went wrong is logged; the totals are on the
   * stats page and /metrics. `ALL` logs every call.
   * @default HaproxyAccessLog.ERRORS
   */
  readonly accessLog?: HaproxyAccessLog;
}

/**
 * The renderer options HaproxyLoadBalancer lets through (its `config` prop): all
 * but the listeners and the nameservers, which the construct sets.
 */
export interface HaproxyRoutingOptions extends HaproxyTuningOptions {
  /** @default HaproxyMode.HTTP (per-request balancing of gRPC over HTTP/2) */
  readonly mode?: HaproxyMode;
  /** @default BalanceAlgorithm.ROUND_ROBIN */
  readonly balance?: BalanceAlgorithm;
  /** The routers' MCP front-door port (the same on every router). @default 8080 */
  readonly routerMcpPort?: number;
  /** Consul service name of the routers. @default 'mcp-router' */
  readonly serviceName?: string;
  /** Consul DNS domain. @default 'consul' */
  readonly consulDomain?: string;
  /** `server-template` slots: the most routers HAProxy can route to. @default 10 */
  readonly maxInstances?: number;
  /** @default type READYZ, port 9464, path '/readyz', interMs 2000, rise 2, fall 3 */
  readonly healthCheck?: HealthCheckOptions;
  /** PEM (cert + key) path inside HAProxy for TLS termination. @default undefined (plaintext) */
  readonly tlsCertificatePath?: string;
  /**
   * The routers' longest call (their MCP_ROUTER_MAX_CALL_MS): HAProxy's server
   * and tunnel timeouts derive from it, so HAProxy waits for every call the
   * routers run. @default 3600000 (the router's default)
   */
  readonly maxCallMs?: number;
}

/** Options of the HAProxy config renderer (`HaproxyConfig.resolve`). */
export interface HaproxyConfigOptions extends HaproxyRoutingOptions {
  /** Public gRPC listener. @default { address: '0.0.0.0', port: 50051 } */
  readonly frontend?: Endpoint;
  /** Stats page (and Prometheus /metrics). @default { address: '0.0.0.0', port: 8404 } (the container publishes it on 127.0.0.1) */
  readonly stats?: Endpoint;
  /**
   * Public MCP (Streamable HTTP) listener, balanced per request over the routers'
   * MCP front doors. @default { address: '0.0.0.0', port: 8080 }
   */
  readonly mcpFrontend?: Endpoint;
  /** `false` leaves the MCP listener out (then `mcpFrontend` must be unset). @default true */
  readonly enableMcp?: boolean;
  /** Consul DNS servers. @default [{ address: 'consul', port: 8600 }] */
  readonly nameservers?: Endpoint[];
  /**
   * Basic authentication of the stats listener (the stats page and /metrics; /healthz stays
   * open for the container's health check): the name of an HAProxy `userlist` defined in
   * another config file that HAProxy loads with this one (`haproxy -f users.cfg -f haproxy.cfg`),
   * so no credential is ever part of the rendered config. HAProxy refuses to start without it.
   * @default undefined (no authentication; keep the stats listener on an admin address)
   */
  readonly statsAuthUserlist?: string;
}

/** The health check with every setting resolved. */
export interface ResolvedHealthCheckOptions {
  /** @jsii suppress JSII5018 (see PlatformHealthCheckOptions.type) */
  readonly type: HealthCheckType;
  readonly port: number;
  readonly path: string;
  readonly interMs: number;
  readonly rise: number;
  readonly fall: number;
}

/** The timeouts with every setting resolved. */
export interface ResolvedTimeoutOptions {
  readonly connectMs: number;
  readonly clientMs: number;
  readonly serverMs: number;
  readonly tunnelMs: number;
  readonly httpRequestMs: number;
}

/** Every option with its default filled in. */
export interface ResolvedHaproxyConfigOptions {
  readonly mode: HaproxyMode;
  readonly balance: BalanceAlgorithm;
  readonly frontend: Endpoint;
  readonly stats: Endpoint;
  /** undefined: no MCP listener. */
  readonly mcpFrontend?: Endpoint;
  readonly routerMcpPort: number;
  readonly serviceName: string;
  readonly consulDomain: string;
  readonly nameservers: Endpoint[];
  readonly maxInstances: number;
  readonly healthCheck: ResolvedHealthCheckOptions;
  readonly maxconn: number;
  readonly nbthread?: number;
  readonly retryOn: RetryCondition[];
  readonly maxCallMs: number;
  readonly timeouts: ResolvedTimeoutOptions;
  readonly dnsHoldObsoleteMs: number;
  readonly dnsHoldFailureMs: number;
  readonly stickySessions: boolean;
  readonly rateLimitConnectionsPer10s?: number;
  readonly tlsCertificatePath?: string;
  readonly prometheusExporter: boolean;
  readonly statsAuthUserlist?: string;
  readonly accessLog: HaproxyAccessLog;
}

export const HAPROXY_DEFAULTS: ResolvedHaproxyConfigOptions = Object.freeze({
  mode: HaproxyMode.HTTP,
  balance: BalanceAlgorithm.ROUND_ROBIN,
  frontend: { address: '0.0.0.0', port: PORTS.grpc },
  stats: { address: '0.0.0.0', port: PORTS.haproxyStats },
  mcpFrontend: { address: '0.0.0.0', port: PORTS.mcp },
  routerMcpPort: PORTS.mcp,
  serviceName: ROUTER_SERVICE.name,
  consulDomain: CONSUL_DOMAIN,
  nameservers: [{ address: 'consul', port: PORTS.consulDns }],
  maxInstances: LIMITS.maxInstances.default,
  healthCheck: { type: HealthCheckType.READYZ, port: PORTS.routerAdmin, path: PATHS.readyz, interMs: 2000, rise: 2, fall: 3 },
  maxconn: 10000,
  retryOn: [RetryCondition.CONN_FAILURE, RetryCondition.EMPTY_RESPONSE],
  maxCallMs: ROUTER_DEFAULTS.maxCallMs,
  timeouts: {
    connectMs: 3000,
    clientMs: 60000,
    serverMs: ROUTER_DEFAULTS.maxCallMs + CALL_TIMEOUT_MARGIN_MS,
    tunnelMs: ROUTER_DEFAULTS.maxCallMs + CALL_TIMEOUT_MARGIN_MS,
    httpRequestMs: 10000,
  },
  dnsHoldObsoleteMs: 5000,
  dnsHoldFailureMs: 60000,
  stickySessions: false,
  prometheusExporter: true,
  accessLog: HaproxyAccessLog.ERRORS,
});

/** Who reports a renderer option's error. */
const R = 'renderHaproxyConfig';

const int = (option: string, value: unknown, min: number, max: number): number => checkInteger(R, option, value, min, max);

function endpoint(option: string, value: Endpoint, listener = false): Endpoint {
  checkObject(R, option, value, 'an object { address, port }');
  if (listener) {
    if (typeof value.address !== 'string' || !PATTERNS.ipv4.test(value.address)) throw propError(R, `${option}.address`, value.address, 'an IPv4 address to listen on, such as 0.0.0.0 or 127.0.0.1');
  } else {
    if (typeof value.address !== 'string' || !PATTERNS.host.test(value.address)) throw propError(R, `${option}.address`, value.address, 'an IPv4 address or host name');
  }
  int(`${option}.port`, value.port, 1, 65535);
  return { address: value.address, port: value.port };
}

/** Defaults overlaid with the given keys that are set (an explicit undefined keeps the default). */
function withDefaults<T extends object, Out extends object>(option: string, defaults: Out, given: T | undefined): Out {
  if (given === undefined || given === null) return { ...defaults };
  checkObject(R, option, given);
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const key of Object.keys(defaults)) {
    const v = (given as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = v;
  }
  return out as Out;
}

/** Two listeners clash when they share a port on the same (or the any) address. */
function clash(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && (a.address === b.address || a.address === '0.0.0.0' || b.address === '0.0.0.0');
}

/** Fills defaults and validates; throws a PropError (from renderHaproxyConfig) naming the option. */
export function resolveHaproxyConfigOptions(options: HaproxyConfigOptions = {}): ResolvedHaproxyConfigOptions {
  const d = HAPROXY_DEFAULTS;
  checkObject(R, 'options', options);
  const mode = checkOneOf(R, 'mode', options.mode ?? d.mode, HAPROXY_MODES);
  const balance = checkOneOf(R, 'balance', options.balance ?? d.balance, BALANCE_ALGORITHMS);
  const frontend = endpoint('frontend', options.frontend ?? d.frontend, true);
  const stats = endpoint('stats', options.stats ?? d.stats, true);
  if (clash(frontend, stats)) throw propError(R, 'stats.port', stats.port, `different from frontend.port (${frontend.port}) on the same address`);
  const enableMcp = checkBoolean(R, 'enableMcp', options.enableMcp ?? true);
  if ((options.mcpFrontend as unknown) === false) throw propError(R, 'mcpFrontend', false, 'an object { address, port }; to leave the MCP listener out, set enableMcp: false');
  if (!enableMcp && options.mcpFrontend !== undefined) throw propError(R, 'mcpFrontend', options.mcpFrontend, 'left unset when enableMcp is false');
  const mcpFrontend = enableMcp ? endpoint('mcpFrontend', options.mcpFrontend ?? d.mcpFrontend!, true) : undefined;
  if (mcpFrontend && clash(frontend, mcpFrontend)) throw propError(R, 'mcpFrontend.port', mcpFrontend.port, `different from frontend.port (${frontend.port}) on the same address`);
  if (mcpFrontend && clash(stats, mcpFrontend)) throw propError(R, 'mcpFrontend.port', mcpFrontend.port, `different from stats.port (${stats.port}) on the same address`);
  const routerMcpPort = int('routerMcpPort', options.routerMcpPort ?? d.routerMcpPort, 1, 65535);
  const serviceName = options.serviceName ?? d.serviceName;
  if (typeof serviceName !== 'string' || !PATTERNS.dnsLabel.test(serviceName)) throw propError(R, 'serviceName', serviceName, 'a DNS label (lowercase letters, digits, hyphens; 1-63 chars)');
  const consulDomain = options.consulDomain ?? d.consulDomain;
  if (typeof consulDomain !== 'string' || !PATTERNS.host.test(consulDomain)) throw propError(R, 'consulDomain', consulDomain, 'a DNS domain such as "consul"');
  const nameservers = options.nameservers ?? d.nameservers;
  if (!Array.isArray(nameservers) || nameservers.length === 0) throw propError(R, 'nameservers', nameservers, 'a non-empty list of { address, port }');
  const ns = nameservers.map((n, i) => endpoint(`nameservers[${i}]`, n));
  const maxInstances = int('maxInstances', options.maxInstances ?? d.maxInstances, LIMITS.maxInstances.min, LIMITS.maxInstances.max);
  const hc = withDefaults<HealthCheckOptions, ResolvedHealthCheckOptions>('healthCheck', d.healthCheck, options.healthCheck);
  checkOneOf(R, 'healthCheck.type', hc.type, HEALTH_CHECK_TYPES);
  int('healthCheck.port', hc.port, 1, 65535);
  if (typeof hc.path !== 'string' || !/^\/[A-Za-z0-9._~\/-]*$/.test(hc.path)) throw propError(R, 'healthCheck.path', hc.path, 'an absolute URL path such as /readyz');
  int('healthCheck.interMs', hc.interMs, 100, 3_600_000);
  int('healthCheck.rise', hc.rise, 1, 100);
  int('healthCheck.fall', hc.fall, 1, 100);
  const maxconn = int('maxconn', options.maxconn ?? d.maxconn, 1, 10_000_000);
  // 64 is the thread limit of HAProxy builds without thread groups (Debian's 2.6).
  const nbthread = options.nbthread === undefined ? undefined : int('nbthread', options.nbthread, 1, 64);
  const retryOn = options.retryOn ?? d.retryOn;
  if (!Array.isArray(retryOn) || retryOn.some((r) => !RETRY_CONDITIONS.includes(r)) || new Set(retryOn).size !== retryOn.length) {
    throw propError(R, 'retryOn', retryOn, `a list of distinct conditions from ${RETRY_CONDITIONS.join(', ')}`);
  }
  const maxCallMs = int('maxCallMs', options.maxCallMs ?? d.maxCallMs, 1000, 86_400_000);
  const derived = maxCallMs + CALL_TIMEOUT_MARGIN_MS;
  const t = withDefaults<TimeoutOptions, ResolvedTimeoutOptions>('timeouts', { ...d.timeouts, serverMs: derived, tunnelMs: derived }, options.timeouts);
  for (const k of ['connectMs', 'clientMs', 'serverMs', 'tunnelMs', 'httpRequestMs'] as const) int(`timeouts.${k}`, t[k], 1, 86_400_000 + CALL_TIMEOUT_MARGIN_MS);
  for (const k of ['serverMs', 'tunnelMs'] as const) {
    if (t[k] < maxCallMs + 1000) throw propError(R, `timeouts.${k}`, t[k], `at least maxCallMs + 1000 (${maxCallMs + 1000}): the routers run calls up to ${maxCallMs} ms and HAProxy must not cut them (leave it unset to derive it)`);
  }
  const dnsHoldObsoleteMs = int('dnsHoldObsoleteMs', options.dnsHoldObsoleteMs ?? d.dnsHoldObsoleteMs, 0, 3_600_000);
  const dnsHoldFailureMs = int('dnsHoldFailureMs', options.dnsHoldFailureMs ?? d.dnsHoldFailureMs, 0, 86_400_000);
  const stickySessions = checkBoolean(R, 'stickySessions', options.stickySessions ?? d.stickySessions);
  const rate = options.rateLimitConnectionsPer10s;
  if (rate !== undefined) int('rateLimitConnectionsPer10s', rate, 1, 10_000_000);
  const tls = options.tlsCertificatePath;
  if (tls !== undefined && (typeof tls !== 'string' || !/^\/[^\s]+$/.test(tls))) throw propError(R, 'tlsCertificatePath', tls, 'an absolute path without spaces');
  const prometheusExporter = checkBoolean(R, 'prometheusExporter', options.prometheusExporter ?? d.prometheusExporter);
  const accessLog = checkOneOf(R, 'accessLog', options.accessLog ?? d.accessLog, ACCESS_LOGS);
  const statsAuthUserlist = options.statsAuthUserlist;
  if (statsAuthUserlist !== undefined && (typeof statsAuthUserlist !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(statsAuthUserlist))) {
    throw propError(R, 'statsAuthUserlist', statsAuthUserlist, 'the name of an HAProxy userlist (1-64 letters, digits, "_", "." or "-")');
  }
  return {
    mode,
    balance,
    frontend,
    stats,
    mcpFrontend,
    routerMcpPort,
    serviceName,
    consulDomain,
    nameservers: ns,
    maxInstances,
    healthCheck: hc,
    maxconn,
    nbthread,
    retryOn: [...retryOn],
    maxCallMs,
    timeouts: t,
    dnsHoldObsoleteMs,
    dnsHoldFailureMs,
    stickySessions,
    rateLimitConnectionsPer10s: rate,
    tlsCertificatePath: tls,
    prometheusExporter,
    statsAuthUserlist,
    accessLog,
  };
}
