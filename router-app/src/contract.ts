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
  consulCheckIntervalTcp: '10s',
  consulCheckIntervalGrpc: '2s',
  consulDeregisterCriticalAfter: '1m',
  consulReregisterIntervalMs: 5_000,
  consulHealthIntervalMs: 2_000,
  logLevel: 'info',
  mcpPort: PORTS.mcp,
  mcpMaxBodyBytes: 4 * MiB,
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
