/**
 * The platform's contract, in one place: ports, paths, the router's Consul
 * service (name, tags, ID), the Consul tag and meta keys of MCP servers, the
 * router's environment variables and their defaults, and the shared value
 * patterns. The router, the cdktf constructs, the HAProxy and Consul
 * renderers, the local platform and the bench all import it from here, so a
 * value changed here holds everywhere.
 *
 * Pure data, no dependencies: it lives in router-app/ because the router's
 * image is built from that directory alone.
 */

/** Ports inside the containers (and on each loopback address of the local platform). */
export const PORTS = {
  /** The router's gRPC API (mcp.router.v1.McpRouter, health, reflection); HAProxy's public gRPC port. */
  grpc: 50051,
  /** The router's admin HTTP server: /metrics, /healthz, /readyz. */
  routerAdmin: 9464,
  /** The router's MCP front door (Streamable HTTP at PATHS.mcp); HAProxy's public MCP port. */
  mcp: 8080,
  /** HAProxy's stats page and Prometheus /metrics. */
  haproxyStats: 8404,
  /** Consul HTTP API and UI. */
  consulHttp: 8500,
  /** Consul DNS (udp + tcp). */
  consulDns: 8600,
  /** Consul LAN gossip. */
  consulSerfLan: 8301,
  /** Consul server RPC. */
  consulServer: 8300,
  /** The demo MCP server's Streamable HTTP port. */
  demoBackend: 3000,
} as const;

/** HTTP paths. */
export const PATHS = {
  /** Readiness: 200 while the router takes new work, 503 from the first moment of a drain. */
  readyz: '/readyz',
  /** Liveness: 200 while the process runs. */
  healthz: '/healthz',
  /** Prometheus metrics (router admin port, HAProxy stats port). */
  metrics: '/metrics',
  /** Default path of an MCP server's Streamable HTTP endpoint, and the router's own. */
  mcp: '/mcp',
  /** Admin port: a peer router asks this router to cancel a front-door call it runs. */
  peerCancel: '/internal/cancel',
  /** Admin port: the backends with their URLs and raw errors (what ListServers shows only to the admin scope). */
  servers: '/internal/servers',
  /** OAuth 2.0 Protected Resource Metadata (RFC 9728), as the MCP authorization spec requires. */
  protectedResourceMetadata: '/.well-known/oauth-protected-resource',
} as const;

/** How a router registers in Consul (the seed's scheme). */
export const ROUTER_SERVICE = {
  /** Default service name; HAProxy resolves `_<name>._tcp.service.<domain>`. */
  name: 'mcp-router',
  /** Tags of every router registration, before `instance:<hostname>`. */
  tags: ['router', 'mcp'] as readonly string[],
  /** Tag prefix naming the instance: `instance:<hostname>`. */
  instanceTagPrefix: 'instance:',
  /** Service ID prefix: `mcp-router-<hostname>`. */
  idPrefix: 'mcp-router-',
  /** Registration meta keys. */
  meta: {
    hostname: 'hostname',
    version: 'version',
    /** The router's admin port (peers send cancellations there). */
    adminPort: 'admin_port',
    /** The router's MCP front-door port. */
    mcpPort: 'mcp_port',
  },
} as const;

/** Consul's DNS domain. */
export const CONSUL_DOMAIN = 'consul';

/** How an MCP server is found in Consul. */
export const MCP_SERVER_DISCOVERY = {
  /** Services with this tag are MCP servers. */
  tag: 'mcp-server',
  /** Service meta keys an MCP server's registration may carry. */
  meta: {
    /** Path of the Streamable HTTP endpoint. Default PATHS.mcp. */
    path: 'mcp_path',
    /** Namespace of its tools and prompts. Default: the service name. */
    namespace: 'namespace',
    /** `http` or `https`. Default `http`. */
    scheme: 'mcp_scheme',
    /** Name for SNI and certificate verification when the address is an IP. Default: the address. */
    tlsServerName: 'mcp_tls_server_name',
    /** Name of the router-side credentials (static headers) to send it: `<MCP_BACKEND_CREDENTIALS_DIR>/<name>.json`. */
    credentials: 'mcp_credentials',
  },
} as const;

/** Names of the router's environment variables (router-app/src/config.ts parses them). */
export const ROUTER_ENV = {
  consulHost: 'CONSUL_HOST',
  consulPort: 'CONSUL_PORT',
  consulRegister: 'CONSUL_REGISTER',
  port: 'MCP_ROUTER_PORT',
  bindAddress: 'MCP_ROUTER_BIND_ADDRESS',
  advertiseAddress: 'MCP_ROUTER_ADVERTISE_ADDRESS',
  advertiseCidr: 'MCP_ROUTER_ADVERTISE_CIDR',
  hostname: 'MCP_ROUTER_HOSTNAME',
  instanceId: 'MCP_ROUTER_INSTANCE_ID',
  serviceName: 'MCP_ROUTER_SERVICE_NAME',
  metricsPort: 'MCP_ROUTER_METRICS_PORT',
  backends: 'MCP_BACKENDS',
  backendDiscovery: 'MCP_BACKEND_DISCOVERY',
  backendTag: 'MCP_BACKEND_TAG',
  backendCaFile: 'MCP_BACKEND_CA_FILE',
  maxBackendResponseBytes: 'MCP_ROUTER_MAX_BACKEND_RESPONSE_BYTES',
  defaultTimeoutMs: 'MCP_ROUTER_DEFAULT_TIMEOUT_MS',
  connectTimeoutMs: 'MCP_ROUTER_CONNECT_TIMEOUT_MS',
  catalogTtlMs: 'MCP_ROUTER_CATALOG_TTL_MS',
  drainDelayMs: 'MCP_ROUTER_DRAIN_DELAY_MS',
  shutdownGraceMs: 'MCP_ROUTER_SHUTDOWN_GRACE_MS',
  breakerFailures: 'MCP_ROUTER_BREAKER_FAILURES',
  breakerResetMs: 'MCP_ROUTER_BREAKER_RESET_MS',
  grpcMaxReceiveBytes: 'GRPC_MAX_RECEIVE_MESSAGE_BYTES',
  grpcMaxSendBytes: 'GRPC_MAX_SEND_MESSAGE_BYTES',
  grpcKeepaliveTimeMs: 'GRPC_KEEPALIVE_TIME_MS',
  grpcKeepaliveTimeoutMs: 'GRPC_KEEPALIVE_TIMEOUT_MS',
  /** Pad each gRPC connection's HTTP/2 stream index, against a GC storm in Node's HTTP/2 server (grpc/http2-stream-index.ts). */
  grpcHttp2GcWorkaround: 'GRPC_HTTP2_GC_WORKAROUND',
  consulCheckIntervalTcp: 'CONSUL_CHECK_INTERVAL_TCP',
  consulCheckIntervalGrpc: 'CONSUL_CHECK_INTERVAL_GRPC',
  consulDeregisterCriticalAfter: 'CONSUL_DEREGISTER_CRITICAL_AFTER',
  consulReregisterIntervalMs: 'CONSUL_REREGISTER_INTERVAL_MS',
  /** The router's Consul ACL token (Consul's own variable name); sent on every Consul call. */
  consulToken: 'CONSUL_HTTP_TOKEN',
  /** A file holding the router's Consul ACL token (Consul's own variable name); instead of CONSUL_HTTP_TOKEN. */
  consulTokenFile: 'CONSUL_HTTP_TOKEN_FILE',
  /** How often the router asks its Consul agent whether the cluster has a leader. */
  consulHealthIntervalMs: 'CONSUL_HEALTH_INTERVAL_MS',
  logLevel: 'LOG_LEVEL',
  mcpPort: 'MCP_ROUTER_MCP_PORT',
  mcpAllowedOrigins: 'MCP_ROUTER_MCP_ALLOWED_ORIGINS',
  mcpMaxBodyBytes: 'MCP_ROUTER_MCP_MAX_BODY_BYTES',
  mcpReceiveTimeoutMs: 'MCP_ROUTER_MCP_RECEIVE_TIMEOUT_MS',
  mcpPageSize: 'MCP_ROUTER_MCP_PAGE_SIZE',
  sessionKeys: 'MCP_ROUTER_SESSION_KEYS',
  sessionKeysFile: 'MCP_ROUTER_SESSION_KEYS_FILE',
  sessionTtlMs: 'MCP_ROUTER_SESSION_TTL_MS',
  maxConcurrentCalls: 'MCP_ROUTER_MAX_CONCURRENT_CALLS',
  maxCallMs: 'MCP_ROUTER_MAX_CALL_MS',
  listingMaxPages: 'MCP_ROUTER_LISTING_MAX_PAGES',
  listingMaxItems: 'MCP_ROUTER_LISTING_MAX_ITEMS',
  listingMaxBytes: 'MCP_ROUTER_LISTING_MAX_BYTES',
  listingTimeoutMs: 'MCP_ROUTER_LISTING_TIMEOUT_MS',
  backendAllowedCidrs: 'MCP_ROUTER_BACKEND_ALLOWED_CIDRS',
  backendAllowedNamespaces: 'MCP_ROUTER_BACKEND_ALLOWED_NAMESPACES',
  consulTimeoutMs: 'CONSUL_TIMEOUT_MS',
  /** How long a discovered backend that stopped passing in Consul stays in the catalogue (0: dropped at once). */
  backendHoldMs: 'MCP_ROUTER_BACKEND_HOLD_MS',
  maxDiscoveredBackends: 'MCP_ROUTER_MAX_DISCOVERED_BACKENDS',
  // --- who may call what (router-app/src/auth/) ---
  /** `none`, `jwt`, `apiKeys` or `jwt,apiKeys`: how callers of both front doors authenticate. */
  auth: 'MCP_ROUTER_AUTH',
  /** The platform's public MCP URL (the OAuth resource; the default JWT audience). */
  publicUrl: 'MCP_ROUTER_PUBLIC_URL',
  authJwtIssuer: 'MCP_ROUTER_AUTH_JWT_ISSUER',
  authJwtAudience: 'MCP_ROUTER_AUTH_JWT_AUDIENCE',
  authJwtJwksUrl: 'MCP_ROUTER_AUTH_JWT_JWKS_URL',
  authJwtPublicKeyFile: 'MCP_ROUTER_AUTH_JWT_PUBLIC_KEY_FILE',
  authJwtAlgorithms: 'MCP_ROUTER_AUTH_JWT_ALGORITHMS',
  authJwtClockToleranceS: 'MCP_ROUTER_AUTH_JWT_CLOCK_TOLERANCE_S',
  authJwksRefreshMs: 'MCP_ROUTER_AUTH_JWKS_REFRESH_MS',
  authJwksCooldownMs: 'MCP_ROUTER_AUTH_JWKS_COOLDOWN_MS',
  authJwksTimeoutMs: 'MCP_ROUTER_AUTH_JWKS_TIMEOUT_MS',
  authApiKeysFile: 'MCP_ROUTER_AUTH_API_KEYS_FILE',
  authRulesFile: 'MCP_ROUTER_AUTH_RULES_FILE',
  authRulesConsulKey: 'MCP_ROUTER_AUTH_RULES_CONSUL_KEY',
  authAdminScope: 'MCP_ROUTER_AUTH_ADMIN_SCOPE',
  authReloadMs: 'MCP_ROUTER_AUTH_RELOAD_MS',
  authCacheEntries: 'MCP_ROUTER_AUTH_CACHE_ENTRIES',
  /** Who sees backend URLs, raw errors and gRPC reflection: `admin` (the admin scope; the admin port) or `everyone`. */
  internals: 'MCP_ROUTER_INTERNALS',
  rateLimitRps: 'MCP_ROUTER_RATE_LIMIT_RPS',
  rateLimitBurst: 'MCP_ROUTER_RATE_LIMIT_BURST',
  rateLimitScope: 'MCP_ROUTER_RATE_LIMIT_SCOPE',
  /** Directory of per-backend credential files (`<name>.json`), named by MCP_BACKENDS or Consul meta. */
  backendCredentialsDir: 'MCP_BACKEND_CREDENTIALS_DIR',
} as const;

export type RouterEnvKey = keyof typeof ROUTER_ENV;
export type RouterEnvName = (typeof ROUTER_ENV)[RouterEnvKey];
/** A router environment: variable name → value. A misspelt name is a compile error. */
export type RouterEnv = Partial<Record<RouterEnvName, string>>;

const MiB = 1024 * 1024;

/** Defaults of the router's environment (by ROUTER_ENV key); unset keys are optional. */
export const ROUTER_DEFAULTS = {
  consulHost: 'consul',
  consulPort: PORTS.consulHttp,
  consulRegister: true,
  port: PORTS.grpc,
  bindAddress: '0.0.0.0',
  serviceName: ROUTER_SERVICE.name,
  metricsPort: PORTS.routerAdmin,
  backendDiscovery: true,
  backendTag: MCP_SERVER_DISCOVERY.tag,
  /** A backend body larger than a gRPC message could not be sent on anyway. */
  maxBackendResponseBytes: 4 * MiB,
  defaultTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  catalogTtlMs: 60_000,
  drainDelayMs: 7_000,
  shutdownGraceMs: 10_000,
  breakerFailures: 5,
  breakerResetMs: 5_000,
  /** gRPC's own default; the seed's 50 MiB let one call cost a router hundreds of MB. */
  grpcMaxReceiveBytes: 4 * MiB,
  grpcMaxSendBytes: 4 * MiB,
  grpcKeepaliveTimeMs: 30_000,
  grpcKeepaliveTimeoutMs: 10_000,
  grpcHttp2GcWorkaround: true,
  consulCheckIntervalTcp: '10s',
  consulCheckIntervalGrpc: '2s',
  consulDeregisterCriticalAfter: '1m',
  consulReregisterIntervalMs: 5_000,
  consulHealthIntervalMs: 2_000,
  logLevel: 'info',
  mcpPort: PORTS.mcp,
  mcpMaxBodyBytes: 4 * MiB,
  mcpReceiveTimeoutMs: 30_000,
  mcpPageSize: 200,
  sessionTtlMs: 86_400_000,
  /** Tool calls, resource reads and prompt gets in flight per router, both doors together. */
  maxConcurrentCalls: 256,
  /** The longest call the router runs, whatever deadline a client asks for; HAProxy's timeouts derive from it. */
  maxCallMs: 3_600_000,
  listingMaxPages: 100,
  listingMaxItems: 10_000,
  listingMaxBytes: 8 * MiB,
  listingTimeoutMs: 30_000,
  /**
   * Address ranges a backend discovered in Consul may be at: loopback and the
   * private ranges (RFC 1918, IPv6 ULA). Link-local (169.254.0.0/16 holds every
   * cloud's metadata service), public, multicast and unspecified addresses are
   * refused unless listed.
   */
  backendAllowedCidrs: '127.0.0.0/8,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,::1/128,fc00::/7',
  consulTimeoutMs: 5_000,
  /**
   * Two of the demo server's 2 s check intervals: one check that times out on a busy host
   * does not empty a server's tools on every router (NOT_FOUND for a server that is up).
   */
  backendHoldMs: 5_000,
  maxDiscoveredBackends: 256,
  auth: 'none',
  /** Asymmetric algorithms only: a shared-secret (HS*) key would let anyone who verifies also sign; `none` is never accepted. */
  authJwtAlgorithms: 'RS256,PS256,ES256,EdDSA',
  authJwtClockToleranceS: 30,
  authJwksRefreshMs: 600_000,
  authJwksCooldownMs: 30_000,
  authJwksTimeoutMs: 5_000,
  authAdminScope: 'mcp:admin',
  authReloadMs: 2_000,
  authCacheEntries: 10_000,
  internals: 'admin',
  /** 0: no per-identity rate limit. */
  rateLimitRps: 0,
  rateLimitScope: 'platform',
} as const;

/** Environment variables of the demo MCP server (examples/demo-mcp-server). */
export const DEMO_ENV = {
  host: 'HOST',
  port: 'PORT',
  path: 'MCP_PATH',
  serverName: 'SERVER_NAME',
  consulHost: 'CONSUL_HOST',
  consulPort: 'CONSUL_PORT',
  /** The server's Consul ACL token (as the router's). */
  consulToken: 'CONSUL_HTTP_TOKEN',
  /** A file holding the server's Consul ACL token. */
  consulTokenFile: 'CONSUL_HTTP_TOKEN_FILE',
} as const;

/** Value patterns shared by every layer that checks them. */
export const PATTERNS = {
  /** A dotted-quad IPv4 address. */
  ipv4: /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/,
  /** A DNS label (Consul service names, HAProxy's SRV lookup). */
  dnsLabel: /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
  /** A host name (labels of letters, digits and hyphens) or an IPv4 address. */
  host: /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/,
  /** A Consul ACL token's secret: 1-256 printable ASCII characters without spaces (Consul makes UUIDs). */
  consulToken: /^[\x21-\x7e]{1,256}$/,
} as const;

/** Bounds shared by the constructs and the HAProxy renderer. */
export const LIMITS = {
  /** HAProxy server-template slots: the most routers one deployment can route to. */
  maxInstances: { min: 1, max: 1000, default: 10 },
} as const;

/** Authentication and authorization (router-app/src/auth/): the values every layer checks. */
export const AUTH = {
  /** Ways a caller authenticates; MCP_ROUTER_AUTH is `none` or a comma list of these. */
  methods: ['jwt', 'apiKeys'] as const,
  /** JWT signature algorithms the router can be told to accept: asymmetric only (never `none`, never HS*). */
  algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const,
  /** MCP_ROUTER_INTERNALS values. */
  internals: ['admin', 'everyone'] as const,
  /** MCP_ROUTER_RATE_LIMIT_SCOPE values: the limit holds for the whole platform (shared by the routers serving) or per router. */
  rateLimitScopes: ['platform', 'router'] as const,
  /** Longest clock tolerance for exp/nbf, in seconds. */
  maxClockToleranceS: 300,
} as const;
