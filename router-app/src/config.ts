/**
 * Router configuration from the environment, parsed and validated at start
 * (zod). An invalid value stops the router with a message naming the
 * variable, the value received and what is allowed.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { z } from 'zod';
import { Cidr, NamespaceRule, parseCidr, parseCidrList, parseNamespaceRules } from './discovery/backend-policy';
import { AUTH, PATTERNS, ROUTER_DEFAULTS, ROUTER_ENV, ROUTER_SERVICE } from './contract';
import { ApiKeySet } from './auth/api-keys';
import { staticKeyLookup } from './auth/jwks';
import { Policy } from './auth/policy';
import type { AuthConfig, AuthMethodName } from './auth/setup';
import { BACKEND_CREDENTIAL_NAME } from './mcp/backend-credentials';

const MiB = 1024 * 1024;

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, { message: `must be an integer from ${min} to ${max}` })
    .transform(Number)
    .pipe(z.number().int().min(min, { message: `must be an integer from ${min} to ${max}` }).max(max, { message: `must be an integer from ${min} to ${max}` }));

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), { message: 'must be true or false' })
  .transform((v) => ['true', '1', 'yes'].includes(v));

const host = z
  .string()
  .trim()
  .regex(PATTERNS.host, { message: 'must be a host name or IPv4 address' });

const ipv4 = z
  .string()
  .trim()
  .regex(PATTERNS.ipv4, { message: 'must be an IPv4 address' });

const name = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, { message: 'must be 1-128 letters, digits, "_", "." or "-"' });

const backendList = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array like [{"name":"demo","url":"http://host:3000/mcp"}]' });
      return z.NEVER;
    }
  })
  .pipe(
    z.array(
      z.object({
        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, { message: 'backend name must be 1-64 letters, digits, "_" or "-"' }),
        url: z.string().url({ message: 'backend url must be an http(s) URL' }).refine((u) => /^https?:\/\//.test(u), { message: 'backend url must be http(s)' }),
        tlsServerName: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, { message: 'backend tlsServerName must be a host name' }).optional(),
        credentials: z.string().regex(BACKEND_CREDENTIAL_NAME, { message: 'backend credentials must name a file <name>.json in MCP_BACKEND_CREDENTIALS_DIR: 1-64 letters, digits, "_" or "-"' }).optional(),
      }).strict(),
    ),
  );

/** A value parsed by `parse`, whose thrown message becomes the problem. */
const parsed = <T>(parse: (s: string) => T) =>
  z.string().transform((s, ctx) => {
    try {
      return parse(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** An absolute http(s) URL without a fragment (OAuth resource and issuer identifiers, JWKS URLs). */
const httpUrl = z
  .string()
  .trim()
  .refine((u) => {
    try {
      const url = new URL(u);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hash === '' && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  }, { message: 'must be an absolute http(s) URL without a fragment or credentials' });

const commaList = z.string().transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean));

/** MCP_ROUTER_AUTH: `none`, or a comma list of `jwt` and `apiKeys`. */
const authMethods = commaList.pipe(
  z.array(z.string()).superRefine((list, ctx) => {
    const ok = (list.length === 1 && list[0] === 'none') || (list.length > 0 && list.every((m) => (AUTH.methods as readonly string[]).includes(m)) && new Set(list).size === list.length);
    if (!ok) ctx.addIssue({ code: 'custom', message: `must be none, jwt, apiKeys or jwt,apiKeys` });
  }),
);

const algorithms = commaList.pipe(
  z.array(z.string()).min(1, { message: 'must name at least one algorithm' }).superRefine((list, ctx) => {
    for (const a of list) {
      if (/^none$/i.test(a)) ctx.addIssue({ code: 'custom', message: 'none (unsigned tokens) is never accepted' });
      else if (/^HS\d+$/i.test(a)) ctx.addIssue({ code: 'custom', message: `${a} is refused: a shared-secret algorithm lets whoever verifies also sign; use ${AUTH.algorithms.join(', ')}` });
      else if (!(AUTH.algorithms as readonly string[]).includes(a)) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(a)} is not one of ${AUTH.algorithms.join(', ')}` });
    }
  }),
);

const E = ROUTER_ENV;
const D = ROUTER_DEFAULTS;

/** Env variable → schema; the key is the variable's name (contract.ts names them and holds the defaults). */
const schema = {
  [E.consulHost]: host.default(D.consulHost),
  [E.consulPort]: int(1, 65535).default(D.consulPort),
  [E.consulRegister]: bool.default(D.consulRegister),
  [E.port]: int(0, 65535).default(D.port),
  [E.bindAddress]: ipv4.default(D.bindAddress),
  [E.advertiseAddress]: ipv4.optional(),
  // Docker Swarm: a task has an address on each network it joins (overlay, ingress,
  // docker_gwbridge), in an order no one promises; the overlay's range picks the right one.
  [E.advertiseCidr]: parsed((s) => {
    const c = parseCidr(s);
    if (c.family !== 'ipv4' || !s.includes('/')) throw new Error('must be an IPv4 range such as 10.213.0.0/20 (the overlay network\'s subnet)');
    return c;
  }).optional(),
  [E.hostname]: name.optional(),
  [E.instanceId]: name.optional(),
  [E.serviceName]: z.string().regex(PATTERNS.dnsLabel, { message: 'must be a DNS label' }).default(D.serviceName),
  [E.metricsPort]: int(0, 65535).default(D.metricsPort),
  [E.backends]: backendList.default([]),
  [E.backendDiscovery]: bool.default(D.backendDiscovery),
  [E.backendTag]: name.default(D.backendTag),
  [E.backendCaFile]: z.string().trim().min(1).optional(),
  [E.maxBackendResponseBytes]: int(1024, 1024 * MiB).default(D.maxBackendResponseBytes),
  [E.defaultTimeoutMs]: int(1, 3_600_000).default(D.defaultTimeoutMs),
  [E.connectTimeoutMs]: int(1, 600_000).default(D.connectTimeoutMs),
  [E.catalogTtlMs]: int(1_000, 86_400_000).default(D.catalogTtlMs),
  [E.drainDelayMs]: int(0, 600_000).default(D.drainDelayMs),
  [E.shutdownGraceMs]: int(0, 600_000).default(D.shutdownGraceMs),
  [E.breakerFailures]: int(1, 1000).default(D.breakerFailures),
  [E.breakerResetMs]: int(100, 600_000).default(D.breakerResetMs),
  [E.grpcMaxReceiveBytes]: int(1024, 1024 * MiB).default(D.grpcMaxReceiveBytes),
  [E.grpcMaxSendBytes]: int(1024, 1024 * MiB).default(D.grpcMaxSendBytes),
  [E.grpcKeepaliveTimeMs]: int(1_000, 86_400_000).default(D.grpcKeepaliveTimeMs),
  [E.grpcKeepaliveTimeoutMs]: int(1_000, 600_000).default(D.grpcKeepaliveTimeoutMs),
  [E.grpcHttp2GcWorkaround]: bool.default(D.grpcHttp2GcWorkaround),
  [E.consulCheckIntervalTcp]: z.string().regex(/^\d+(ms|s|m)$/, { message: 'must be a duration like 10s' }).default(D.consulCheckIntervalTcp),
  [E.consulCheckIntervalGrpc]: z.string().regex(/^\d+(ms|s|m)$/, { message: 'must be a duration like 2s' }).default(D.consulCheckIntervalGrpc),
  [E.consulDeregisterCriticalAfter]: z.string().regex(/^\d+(ms|s|m|h)$/, { message: 'must be a duration like 1m' }).default(D.consulDeregisterCriticalAfter),
  [E.consulReregisterIntervalMs]: int(200, 600_000).default(D.consulReregisterIntervalMs),
  // The token itself is checked by readConsulToken (its value is never echoed).
  [E.consulToken]: z.string().optional(),
  [E.consulTokenFile]: z.string().trim().min(1).optional(),
  [E.consulHealthIntervalMs]: int(200, 600_000).default(D.consulHealthIntervalMs),
  [E.logLevel]: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default(D.logLevel),
  [E.mcpPort]: int(0, 65535).default(D.mcpPort),
  [E.mcpAllowedOrigins]: z
    .string()
    .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/, { message: 'must be a comma list of origins like http://localhost:6274' })))
    .default([]),
  [E.mcpMaxBodyBytes]: int(1024, 256 * MiB).default(D.mcpMaxBodyBytes),
  [E.mcpReceiveTimeoutMs]: int(1_000, 600_000).default(D.mcpReceiveTimeoutMs),
  [E.mcpPageSize]: int(1, 10_000).default(D.mcpPageSize),
  [E.sessionKeys]: z.string().optional(),
  [E.sessionKeysFile]: z.string().trim().min(1).optional(),
  [E.sessionTtlMs]: int(60_000, 30 * 86_400_000).default(D.sessionTtlMs),
  [E.maxConcurrentCalls]: int(1, 100_000).default(D.maxConcurrentCalls),
  [E.maxCallMs]: int(1_000, 86_400_000).default(D.maxCallMs),
  [E.listingMaxPages]: int(1, 100_000).default(D.listingMaxPages),
  [E.listingMaxItems]: int(1, 10_000_000).default(D.listingMaxItems),
  [E.listingMaxBytes]: int(1024, 1024 * MiB).default(D.listingMaxBytes),
  [E.listingTimeoutMs]: int(100, 3_600_000).default(D.listingTimeoutMs),
  [E.backendAllowedCidrs]: parsed(parseCidrList).default(parseCidrList(D.backendAllowedCidrs)),
  [E.backendAllowedNamespaces]: parsed(parseNamespaceRules).optional(),
  [E.consulTimeoutMs]: int(100, 600_000).default(D.consulTimeoutMs),
  [E.backendHoldMs]: int(0, 600_000).default(D.backendHoldMs),
  [E.maxDiscoveredBackends]: int(1, 10_000).default(D.maxDiscoveredBackends),
  // --- who may call what ---
  [E.auth]: authMethods.default(['none']),
  [E.publicUrl]: httpUrl.optional(),
  [E.authJwtIssuer]: z.string().trim().min(1).max(1024).optional(),
  [E.authJwtAudience]: commaList.pipe(z.array(z.string().min(1).max(1024)).min(1, { message: 'must name at least one audience' })).optional(),
  [E.authJwtJwksUrl]: httpUrl.optional(),
  [E.authJwtPublicKeyFile]: z.string().trim().min(1).optional(),
  [E.authJwtAlgorithms]: algorithms.default(D.authJwtAlgorithms.split(',')),
  [E.authJwtClockToleranceS]: int(0, AUTH.maxClockToleranceS).default(D.authJwtClockToleranceS),
  [E.authJwksRefreshMs]: int(10_000, 86_400_000).default(D.authJwksRefreshMs),
  [E.authJwksCooldownMs]: int(100, 3_600_000).default(D.authJwksCooldownMs),
  [E.authJwksTimeoutMs]: int(100, 60_000).default(D.authJwksTimeoutMs),
  [E.authApiKeysFile]: z.string().trim().min(1).optional(),
  [E.authRulesFile]: z.string().trim().min(1).optional(),
  [E.authRulesConsulKey]: z.string().trim().regex(/^[A-Za-z0-9_.\/-]{1,512}$/, { message: 'must be a Consul KV key such as mcp-router/auth-rules' }).refine((k) => !k.startsWith('/') && !k.split('/').includes('..'), { message: 'must be a relative Consul KV key without ".." segments' }).optional(),
  [E.authAdminScope]: z.string().trim().regex(/^[\x21-\x7e]{1,128}$/, { message: 'must be a scope of 1-128 printable characters without spaces' }).default(D.authAdminScope),
  [E.authReloadMs]: int(100, 600_000).default(D.authReloadMs),
  [E.authCacheEntries]: int(1, 10_000_000).default(D.authCacheEntries),
  [E.internals]: z.enum(AUTH.internals, { message: `must be one of ${AUTH.internals.join(', ')}` }).default(D.internals),
  [E.rateLimitRps]: z.string().trim().regex(/^\d+(\.\d+)?$/, { message: 'must be a number of requests per second (0 = off)' }).transform(Number).pipe(z.number().min(0).max(1_000_000, { message: 'must be at most 1000000' })).default(D.rateLimitRps),
  [E.rateLimitBurst]: int(1, 10_000_000).optional(),
  [E.rateLimitScope]: z.enum(AUTH.rateLimitScopes, { message: `must be one of ${AUTH.rateLimitScopes.join(', ')}` }).default(D.rateLimitScope),
  [E.backendCredentialsDir]: z.string().trim().min(1).optional(),
} as const;

export const ENV_VARIABLES = Object.keys(schema);

type Schema = typeof schema;
type Parsed = { [K in keyof Schema]: z.output<Schema[K]> };

export interface RouterConfig {
  /**
   * The Consul agent, and the ACL token sent on every call to it (from CONSUL_HTTP_TOKEN or the
   * file CONSUL_HTTP_TOKEN_FILE names). The token is a non-enumerable property, so logging or
   * serializing the configuration never shows it.
   */
  readonly consul: { readonly host: string; readonly port: number; readonly register: boolean; readonly token?: string };
  readonly port: number;
  readonly bindAddress: string;
  readonly advertiseAddress: string;
  readonly hostname: string;
  readonly instanceId: string;
  readonly serviceName: string;
  readonly metricsPort: number;
  readonly staticBackends: ReadonlyArray<{ name: string; url: string; tlsServerName?: string; credentials?: string }>;
  readonly discovery: {
    readonly enabled: boolean;
    readonly tag: string;
    /** How long a backend that stopped passing stays in the catalogue (ms; 0: dropped at once). */
    readonly holdMs: number;
    /** The most MCP server instances (and tagged services) taken from Consul; the rest are refused. */
    readonly maxBackends: number;
  };
  /** The MCP front door (Streamable HTTP on its own port). */
  readonly mcp: {
    readonly port: number;
    readonly allowedOrigins: readonly string[];
    readonly maxBodyBytes: number;
    /** How long a client may take to send a whole request (headers and body), in ms; then 408. */
    readonly receiveTimeoutMs: number;
    readonly pageSize: number;
    /** Keys that sign session IDs (the first signs, all verify); empty: a key of this process only. */
    readonly sessionKeys: ReadonlyArray<{ readonly id: string; readonly secret: string }>;
    readonly sessionTtlMs: number;
  };
  /**
   * Backends: extra CA certificates (PEM, from MCP_BACKEND_CA_FILE), the
   * response size bound, and where a backend from Consul may be (address
   * ranges; namespace rules, undefined: any namespace).
   */
  readonly backends: {
    readonly caPem?: string;
    readonly caFile?: string;
    readonly maxResponseBytes: number;
    readonly allowedCidrs: readonly Cidr[];
    readonly allowedNamespaces?: readonly NamespaceRule[];
  };
  /** Bounds of one backend's listing (tools, resources, templates, prompts together). */
  readonly listing: { readonly maxPages: number; readonly maxItems: number; readonly maxBytes: number; readonly timeoutMs: number };
  /** Calls in flight per router (both doors) and the longest call, whatever the client's deadline. */
  readonly limits: { readonly maxConcurrentCalls: number; readonly maxCallMs: number };
  readonly timeouts: {
    readonly defaultCallMs: number;
    readonly connectMs: number;
    readonly catalogTtlMs: number;
    readonly drainDelayMs: number;
    readonly shutdownGraceMs: number;
    /** Every Consul request but the blocking queries (which wait up to their own time). */
    readonly consulMs: number;
  };
  readonly breaker: { readonly failures: number; readonly resetMs: number };
  readonly grpc: { readonly maxReceiveBytes: number; readonly maxSendBytes: number; readonly keepaliveTimeMs: number; readonly keepaliveTimeoutMs: number; readonly http2GcWorkaround: boolean };
  readonly checks: {
    readonly tcpInterval: string;
    readonly grpcInterval: string;
    readonly deregisterCriticalAfter: string;
    readonly reregisterIntervalMs: number;
    /** How often the router asks its Consul agent whether the cluster has a leader. */
    readonly consulHealthIntervalMs: number;
  };
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** Who may call what: authentication, authorization rules, internals, rate limits (auth/). */
  readonly auth: AuthConfig;
  /** Directory of per-backend credential files (`<name>.json`); unset: no backend may name credentials. */
  readonly backendCredentialsDir?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid router configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws ConfigError listing every bad variable with its value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): RouterConfig {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(schema)) {
    const raw = env[key];
    const r = (s as z.ZodType).safeParse(raw === '' ? undefined : raw);
    if (r.success) out[key] = r.data;
    // A secret's value is never echoed.
    else problems.push(`${key}=${SECRET_VARIABLES.includes(key) ? '(secret)' : JSON.stringify(raw)}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  }
  const caPem = out.MCP_BACKEND_CA_FILE === undefined ? undefined : readCaFile(String(out.MCP_BACKEND_CA_FILE), problems);
  const sessionKeys = readSessionKeys(out[E.sessionKeys] as string | undefined, out[E.sessionKeysFile] as string | undefined, problems);
  const consulToken = readConsulToken(out[E.consulToken] as string | undefined, out[E.consulTokenFile] as string | undefined, problems);
  const defaultMs = out[E.defaultTimeoutMs] as number | undefined;
  const maxMs = out[E.maxCallMs] as number | undefined;
  if (defaultMs !== undefined && maxMs !== undefined && defaultMs > maxMs) {
    // Left unset, the default call time follows a lower maximum; set explicitly above it, it is a mistake.
    if (env[E.defaultTimeoutMs] === undefined || env[E.defaultTimeoutMs] === '') out[E.defaultTimeoutMs] = maxMs;
    else problems.push(`${E.defaultTimeoutMs}=${JSON.stringify(env[E.defaultTimeoutMs])}: must not exceed ${E.maxCallMs} (${maxMs})`);
  }
  const auth = authConfig(out, env, problems);
  const advertiseCidr = out[E.advertiseCidr] as Cidr | undefined;
  let advertiseInCidr: string | undefined;
  if (advertiseCidr !== undefined && out[E.advertiseAddress] !== undefined) {
    problems.push(`${E.advertiseCidr}=${JSON.stringify(env[E.advertiseCidr])}: set it or ${E.advertiseAddress}, not both`);
  } else if (advertiseCidr !== undefined) {
    advertiseInCidr = ipv4InRange(advertiseCidr, interfaces);
    if (advertiseInCidr === undefined) {
      const have = Object.entries(interfaces).flatMap(([n, list]) => (list ?? []).filter((a) => a.family === 'IPv4').map((a) => `${n} ${a.address}`));
      problems.push(`${E.advertiseCidr}=${JSON.stringify(env[E.advertiseCidr])}: no interface of this container has an IPv4 address in that range (it has: ${have.join(', ') || 'none'}); is the router on that network?`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  const p = out as Parsed;
  const hostname = p.MCP_ROUTER_HOSTNAME ?? os.hostname();
  const advertise = p.MCP_ROUTER_ADVERTISE_ADDRESS ?? advertiseInCidr ?? (p.MCP_ROUTER_BIND_ADDRESS !== '0.0.0.0' ? p.MCP_ROUTER_BIND_ADDRESS : firstIpv4());
  const consul = { host: p.CONSUL_HOST, port: p.CONSUL_PORT, register: p.CONSUL_REGISTER };
  if (consulToken !== undefined) Object.defineProperty(consul, 'token', { value: consulToken, enumerable: false });
  return {
    consul,
    port: p.MCP_ROUTER_PORT,
    bindAddress: p.MCP_ROUTER_BIND_ADDRESS,
    advertiseAddress: advertise,
    hostname,
    instanceId: p.MCP_ROUTER_INSTANCE_ID ?? `${ROUTER_SERVICE.idPrefix}${hostname}`,
    serviceName: p.MCP_ROUTER_SERVICE_NAME,
    metricsPort: p.MCP_ROUTER_METRICS_PORT,
    staticBackends: p.MCP_BACKENDS,
    discovery: { enabled: p.MCP_BACKEND_DISCOVERY, tag: p.MCP_BACKEND_TAG, holdMs: p[E.backendHoldMs] as number, maxBackends: p[E.maxDiscoveredBackends] as number },
    backends: {
      caPem,
      caFile: p.MCP_BACKEND_CA_FILE,
      maxResponseBytes: p.MCP_ROUTER_MAX_BACKEND_RESPONSE_BYTES,
      allowedCidrs: p.MCP_ROUTER_BACKEND_ALLOWED_CIDRS,
      allowedNamespaces: p.MCP_ROUTER_BACKEND_ALLOWED_NAMESPACES,
    },
    listing: {
      maxPages: p.MCP_ROUTER_LISTING_MAX_PAGES,
      maxItems: p.MCP_ROUTER_LISTING_MAX_ITEMS,
      maxBytes: p.MCP_ROUTER_LISTING_MAX_BYTES,
      timeoutMs: p.MCP_ROUTER_LISTING_TIMEOUT_MS,
    },
    limits: { maxConcurrentCalls: p.MCP_ROUTER_MAX_CONCURRENT_CALLS, maxCallMs: p.MCP_ROUTER_MAX_CALL_MS },
    mcp: {
      port: p.MCP_ROUTER_MCP_PORT,
      allowedOrigins: p.MCP_ROUTER_MCP_ALLOWED_ORIGINS,
      maxBodyBytes: p.MCP_ROUTER_MCP_MAX_BODY_BYTES,
      receiveTimeoutMs: p.MCP_ROUTER_MCP_RECEIVE_TIMEOUT_MS,
      pageSize: p.MCP_ROUTER_MCP_PAGE_SIZE,
      sessionKeys,
      sessionTtlMs: p.MCP_ROUTER_SESSION_TTL_MS,
    },
    timeouts: {
      defaultCallMs: p.MCP_ROUTER_DEFAULT_TIMEOUT_MS,
      connectMs: p.MCP_ROUTER_CONNECT_TIMEOUT_MS,
      catalogTtlMs: p.MCP_ROUTER_CATALOG_TTL_MS,
      drainDelayMs: p.MCP_ROUTER_DRAIN_DELAY_MS,
      shutdownGraceMs: p.MCP_ROUTER_SHUTDOWN_GRACE_MS,
      consulMs: p.CONSUL_TIMEOUT_MS,
    },
    breaker: { failures: p.MCP_ROUTER_BREAKER_FAILURES, resetMs: p.MCP_ROUTER_BREAKER_RESET_MS },
    grpc: {
      maxReceiveBytes: p.GRPC_MAX_RECEIVE_MESSAGE_BYTES,
      maxSendBytes: p.GRPC_MAX_SEND_MESSAGE_BYTES,
      keepaliveTimeMs: p.GRPC_KEEPALIVE_TIME_MS,
      keepaliveTimeoutMs: p.GRPC_KEEPALIVE_TIMEOUT_MS,
      http2GcWorkaround: p[E.grpcHttp2GcWorkaround] as boolean,
    },
    checks: {
      tcpInterval: p.CONSUL_CHECK_INTERVAL_TCP,
      grpcInterval: p.CONSUL_CHECK_INTERVAL_GRPC,
      deregisterCriticalAfter: p.CONSUL_DEREGISTER_CRITICAL_AFTER,
      reregisterIntervalMs: p.CONSUL_REREGISTER_INTERVAL_MS,
      consulHealthIntervalMs: p.CONSUL_HEALTH_INTERVAL_MS,
    },
    logLevel: p.LOG_LEVEL,
    auth: auth!,
    ...(p.MCP_BACKEND_CREDENTIALS_DIR !== undefined ? { backendCredentialsDir: p.MCP_BACKEND_CREDENTIALS_DIR } : {}),
  };
}

/**
 * The auth section, with the checks across variables: what each method
 * needs, files that must read and parse at start (API keys, rules, a static
 * key), one rules source at most.
 */
function authConfig(out: Record<string, unknown>, env: NodeJS.ProcessEnv, problems: string[]): AuthConfig | undefined {
  const get = <T>(name: string) => out[name] as T;
  const set = (name: string) => env[name] !== undefined && env[name] !== '';
  const raw = get<string[] | undefined>(E.auth);
  if (raw === undefined) return undefined;
  const methods = (raw[0] === 'none' ? [] : raw) as AuthMethodName[];
  const publicUrl = get<string | undefined>(E.publicUrl);
  const adminScope = get<string>(E.authAdminScope);
  const before = problems.length;
  const need = (name: string, why: string) => {
    if (!set(name)) problems.push(`${name} is required ${why}`);
  };

  let jwt: AuthConfig['jwt'];
  if (methods.includes('jwt')) {
    need(E.authJwtIssuer, 'when MCP_ROUTER_AUTH has jwt (the issuer every token must name in iss)');
    need(E.publicUrl, "when MCP_ROUTER_AUTH has jwt (the platform's public MCP URL: the resource clients get tokens for, the default audience, what the MCP door's 401 points to)");
    const jwksUrl = get<string | undefined>(E.authJwtJwksUrl);
    const keyFile = get<string | undefined>(E.authJwtPublicKeyFile);
    if ((jwksUrl === undefined) === (keyFile === undefined)) problems.push(`give exactly one of ${E.authJwtJwksUrl} and ${E.authJwtPublicKeyFile} when MCP_ROUTER_AUTH has jwt`);
    if (keyFile !== undefined) {
      try {
        staticKeyLookup(keyFile);
      } catch (err) {
        problems.push(`${E.authJwtPublicKeyFile}=${JSON.stringify(keyFile)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    const audience = get<string[] | undefined>(E.authJwtAudience) ?? (publicUrl !== undefined ? [publicUrl] : undefined);
    jwt = {
      issuer: get<string>(E.authJwtIssuer),
      audience: audience ?? [],
      ...(jwksUrl !== undefined ? { jwksUrl } : {}),
      ...(keyFile !== undefined ? { publicKeyFile: keyFile } : {}),
      algorithms: get<string[]>(E.authJwtAlgorithms),
      clockToleranceS: get<number>(E.authJwtClockToleranceS),
      jwksRefreshMs: get<number>(E.authJwksRefreshMs),
      jwksCooldownMs: get<number>(E.authJwksCooldownMs),
      jwksTimeoutMs: get<number>(E.authJwksTimeoutMs),
    };
  } else {
    for (const name of [E.authJwtIssuer, E.authJwtAudience, E.authJwtJwksUrl, E.authJwtPublicKeyFile]) {
      if (set(name)) problems.push(`${name} is set but MCP_ROUTER_AUTH has no jwt: add jwt, or leave it unset`);
    }
  }

  const apiKeysFile = get<string | undefined>(E.authApiKeysFile);
  if (methods.includes('apiKeys')) {
    need(E.authApiKeysFile, 'when MCP_ROUTER_AUTH has apiKeys (a JSON file of key hashes)');
    if (apiKeysFile !== undefined) fileProblem(E.authApiKeysFile, apiKeysFile, (t) => ApiKeySet.parse(t, adminScope), problems);
  } else if (apiKeysFile !== undefined) {
    problems.push(`${E.authApiKeysFile} is set but MCP_ROUTER_AUTH has no apiKeys: add apiKeys, or leave it unset`);
  }

  const rulesFile = get<string | undefined>(E.authRulesFile);
  const rulesKey = get<string | undefined>(E.authRulesConsulKey);
  if (rulesFile !== undefined && rulesKey !== undefined) problems.push(`${E.authRulesFile} and ${E.authRulesConsulKey} are both set: give the rules one way`);
  if (rulesFile !== undefined) fileProblem(E.authRulesFile, rulesFile, (t) => Policy.parse(t, 0), problems);

  const rps = get<number>(E.rateLimitRps);
  const burst = get<number | undefined>(E.rateLimitBurst);
  if (rps > 0 && methods.length === 0) problems.push(`${E.rateLimitRps}=${JSON.stringify(env[E.rateLimitRps])}: a per-identity rate limit needs authentication (MCP_ROUTER_AUTH); limit anonymous callers per address in HAProxy (rateLimitConnectionsPer10s)`);
  if (problems.length > before) return undefined;
  return {
    methods,
    ...(publicUrl !== undefined ? { publicUrl } : {}),
    ...(jwt ? { jwt } : {}),
    ...(apiKeysFile !== undefined ? { apiKeysFile } : {}),
    ...(rulesFile !== undefined || rulesKey !== undefined ? { rules: { ...(rulesFile !== undefined ? { file: rulesFile } : {}), ...(rulesKey !== undefined ? { consulKey: rulesKey } : {}) } } : {}),
    adminScope,
    reloadMs: get<number>(E.authReloadMs),
    cacheEntries: get<number>(E.authCacheEntries),
    internals: get<'admin' | 'everyone'>(E.internals),
    ...(rps > 0 ? { rateLimit: { rps, burst: burst ?? Math.max(1, Math.ceil(rps * 2)), scope: get<'platform' | 'router'>(E.rateLimitScope) } } : {}),
  };
}

/** Reads and parses a file named by a variable; a problem names the variable, the path and what is wrong (never the content). */
function fileProblem(name: string, file: string, parse: (text: string) => unknown, problems: string[]): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`${name}=${JSON.stringify(file)}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return;
  }
  try {
    parse(text);
  } catch (err) {
    problems.push(`${name}=${JSON.stringify(file)}: ${(err as Error).message}`);
  }
}

/**
 * Session-signing keys from MCP_ROUTER_SESSION_KEYS or the file named by
 * MCP_ROUTER_SESSION_KEYS_FILE: entries `<id>=<secret>` separated by commas or
 * lines; the first signs, every one verifies (rotation: put the new key first,
 * keep the old one until its sessions have expired). A secret has at least 32
 * characters. The value is never logged.
 */
function readSessionKeys(inline: string | undefined, file: string | undefined, problems: string[]): Array<{ id: string; secret: string }> {
  if (inline !== undefined && inline.trim() !== '' && file !== undefined) {
    problems.push(`${E.sessionKeys} and ${E.sessionKeysFile} are both set: give the keys one way`);
    return [];
  }
  let text = inline ?? '';
  let source: string = E.sessionKeys;
  if (file !== undefined) {
    source = `${E.sessionKeysFile}=${JSON.stringify(file)}`;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(`${source}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return [];
    }
  }
  const keys: Array<{ id: string; secret: string }> = [];
  for (const entry of text.split(/[,\n]/).map((e) => e.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_-]{1,32})=(\S{32,})$/.exec(entry);
    if (!m) {
      // Never echo a secret: name the entry by its position and id only.
      problems.push(`${source}: entry ${keys.length + 1} must be <id>=<secret> with an id of 1-32 letters, digits, "_" or "-" and a secret of at least 32 characters (received an entry starting ${JSON.stringify(entry.split('=')[0].slice(0, 32))})`);
      return [];
    }
    if (keys.some((k) => k.id === m[1])) {
      problems.push(`${source}: key id ${JSON.stringify(m[1])} appears twice`);
      return [];
    }
    keys.push({ id: m[1], secret: m[2] });
  }
  return keys;
}

/** Variables whose values are secrets: a problem with one never shows its value. */
const SECRET_VARIABLES: readonly string[] = [E.sessionKeys, E.consulToken];

/**
 * The Consul ACL token from CONSUL_HTTP_TOKEN or the file CONSUL_HTTP_TOKEN_FILE names (one of
 * them; the file's content without surrounding whitespace): 1-256 printable characters without
 * spaces. Unset: no token (Consul then applies its anonymous token). Never echoed.
 */
function readConsulToken(inline: string | undefined, file: string | undefined, problems: string[]): string | undefined {
  if (inline !== undefined && file !== undefined) {
    problems.push(`${E.consulToken} and ${E.consulTokenFile} are both set: give the Consul token one way`);
    return undefined;
  }
  let token = inline;
  let source: string = `${E.consulToken}=(secret)`;
  if (file !== undefined) {
    source = `${E.consulTokenFile}=${JSON.stringify(file)}`;
    try {
      token = fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      problems.push(`${source}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the path of a file holding the router's Consul ACL token`);
      return undefined;
    }
  }
  if (token === undefined) return undefined;
  if (!PATTERNS.consulToken.test(token)) {
    problems.push(`${source}: must be a Consul ACL token (1-256 printable characters without spaces, e.g. a token's SecretID); received ${token.length} characters${token === '' ? '' : ' that do not match'}`);
    return undefined;
  }
  return token;
}

/** The PEM bundle of MCP_BACKEND_CA_FILE; a problem is recorded when it can't be read or holds no certificate. */
function readCaFile(file: string, problems: string[]): string | undefined {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`MCP_BACKEND_CA_FILE=${JSON.stringify(file)}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the path of a PEM file with the CA certificates to trust`);
    return undefined;
  }
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    if (certs.length === 0) throw new Error('no PEM certificate in it');
    for (const c of certs) new crypto.X509Certificate(c);
  } catch (err) {
    problems.push(`MCP_BACKEND_CA_FILE=${JSON.stringify(file)}: not a PEM certificate bundle (${(err as Error).message})`);
    return undefined;
  }
  return pem;
}

/** The first IPv4 interface address inside `range` (sorted by interface name, so the choice is stable). */
function ipv4InRange(range: Cidr, interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>): string | undefined {
  const list = new net.BlockList();
  list.addSubnet(range.address, range.prefix, 'ipv4');
  for (const name of Object.keys(interfaces).sort()) {
    for (const a of interfaces[name] ?? []) if (a.family === 'IPv4' && list.check(a.address, 'ipv4')) return a.address;
  }
  return undefined;
}

function firstIpv4(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
