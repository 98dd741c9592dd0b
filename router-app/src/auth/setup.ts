/**
 * Builds the router's access control from its configuration: the JWT
 * verifier and its keys (JWKS URL or static file), the API keys file, the
 * authorization rules (a file or a Consul KV key, both followed without a
 * restart), the rate limiter, and what the MCP front door publishes as
 * OAuth protected resource metadata.
 */
import type Consul from 'consul';
import type { Registry } from 'prom-client';
import { BlockingQuery } from '../discovery/blocking-query';
import type { Logger } from '../logger';
import { AccessControl } from './access';
import { ApiKeySet } from './api-keys';
import { KeyLookup, RemoteKeySet, staticKeyLookup } from './jwks';
import { JwtVerifier } from './jwt';
import { AuthMetrics } from './metrics';
import { Policy } from './policy';
import { RateLimiter } from './rate-limit';
import { WatchedFile } from './watched-file';

export type AuthMethodName = 'jwt' | 'apiKeys';

export interface JwtConfig {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly jwksUrl?: string;
  readonly publicKeyFile?: string;
  readonly algorithms: readonly string[];
  readonly clockToleranceS: number;
  readonly jwksRefreshMs: number;
  readonly jwksCooldownMs: number;
  readonly jwksTimeoutMs: number;
}

export interface AuthConfig {
  /** Empty: authentication off (`none`). */
  readonly methods: readonly AuthMethodName[];
  /** The platform's public MCP URL (OAuth resource identifier). */
  readonly publicUrl?: string;
  readonly jwt?: JwtConfig;
  readonly apiKeysFile?: string;
  readonly rules?: { readonly file?: string; readonly consulKey?: string };
  readonly adminScope: string;
  readonly reloadMs: number;
  readonly cacheEntries: number;
  readonly internals: 'admin' | 'everyone';
  readonly rateLimit?: { readonly rps: number; readonly burst: number; readonly scope: 'platform' | 'router' };
}

/** RFC 9728 metadata the MCP front door serves, and where. */
export interface ProtectedResource {
  readonly resource: string;
  readonly authorizationServers: readonly string[];
  readonly scopes: () => string[];
}

export interface AuthRuntime {
  readonly access: AccessControl;
  readonly metrics: AuthMetrics;
  /** Set when JWTs are accepted and the public URL is known. */
  readonly protectedResource?: ProtectedResource;
  close(): void;
}

let versions = 0;
const nextVersion = () => ++versions;

export interface AuthDeps {
  readonly consul: Consul;
  readonly registry: Registry;
  readonly logger: Logger;
  /** This router's share of a platform-wide rate (1 / routers serving). */
  readonly routersServing: () => number;
}

export function startAuth(c: AuthConfig, deps: AuthDeps): AuthRuntime {
  const { logger } = deps;
  const metrics = new AuthMetrics(deps.registry);
  const stops: Array<() => void> = [];

  // --- rules ---
  let policy = c.rules ? Policy.denyAll(nextVersion()) : Policy.allowAll();
  if (c.rules?.file) {
    const file = c.rules.file;
    const watched = new WatchedFile<Policy>({
      path: file,
      intervalMs: c.reloadMs,
      parse: (text) => Policy.parse(text, nextVersion()),
      onChange: (p) => {
        policy = p;
        metrics.reloads.inc({ source: 'rules', outcome: 'ok' });
        logger.info({ rules: file }, 'authorization rules reloaded');
      },
      onError: (err) => {
        metrics.reloads.inc({ source: 'rules', outcome: 'failed' });
        logger.error({ err: err.message }, 'authorization rules not reloaded');
      },
    });
    policy = watched.loadNow();
    watched.start();
    stops.push(() => watched.stop());
  } else if (c.rules?.consulKey) {
    const key = c.rules.consulKey;
    let lastText: string | undefined;
    const q = new BlockingQuery<{ Value?: string | null } | undefined>(
      (opts) => deps.consul.kv.get({ ...(opts as object), key } as never) as unknown as Promise<[{ headers: Record<string, string> }, { Value?: string | null } | undefined]>,
      (entry) => {
        const text = entry?.Value ?? undefined;
        if (text === lastText) return;
        lastText = text;
        if (text === undefined) {
          policy = Policy.denyAll(nextVersion());
          logger.warn({ consulKey: key }, 'authorization rules key not in Consul KV: only the admin scope is allowed anything');
          return;
        }
        try {
          policy = Policy.parse(text, nextVersion());
          metrics.reloads.inc({ source: 'rules', outcome: 'ok' });
          logger.info({ consulKey: key }, 'authorization rules loaded from Consul KV');
        } catch (err) {
          metrics.reloads.inc({ source: 'rules', outcome: 'failed' });
          logger.error({ consulKey: key, err: (err as Error).message }, 'authorization rules in Consul KV do not parse; keeping the rules in force');
        }
      },
      (err) => logger.warn({ consulKey: key, err: err.message }, 'Consul KV query for the authorization rules failed; keeping the rules in force'),
    );
    q.start();
    stops.push(() => q.stop());
  }

  // --- API keys ---
  let apiKeys: (() => ApiKeySet) | undefined;
  if (c.methods.includes('apiKeys') && c.apiKeysFile) {
    const file = c.apiKeysFile;
    const watched = new WatchedFile<ApiKeySet>({
      path: file,
      intervalMs: c.reloadMs,
      parse: (text) => ApiKeySet.parse(text, c.adminScope),
      onChange: (set) => {
        keys = set;
        metrics.reloads.inc({ source: 'apiKeys', outcome: 'ok' });
        logger.info({ apiKeys: file, keys: set.size }, 'API keys reloaded');
      },
      onError: (err) => {
        metrics.reloads.inc({ source: 'apiKeys', outcome: 'failed' });
        logger.error({ err: err.message }, 'API keys not reloaded');
      },
    });
    let keys = watched.loadNow();
    watched.start();
    stops.push(() => watched.stop());
    apiKeys = () => keys;
  }

  // --- JWT ---
  let jwt: JwtVerifier | undefined;
  if (c.methods.includes('jwt') && c.jwt) {
    const j = c.jwt;
    let keys: KeyLookup;
    if (j.jwksUrl) {
      const remote = new RemoteKeySet({
        url: j.jwksUrl,
        refreshMs: j.jwksRefreshMs,
        cooldownMs: j.jwksCooldownMs,
        timeoutMs: j.jwksTimeoutMs,
        logger,
        onFetch: (outcome) => metrics.jwksFetches.inc({ outcome }),
      });
      void remote.start();
      stops.push(() => remote.stop());
      keys = remote.lookup;
    } else {
      keys = staticKeyLookup(j.publicKeyFile!);
    }
    jwt = new JwtVerifier({ issuer: j.issuer, audience: j.audience, algorithms: j.algorithms, clockToleranceS: j.clockToleranceS, adminScope: c.adminScope, keys });
  }

  const rateLimiter = c.rateLimit && c.rateLimit.rps > 0
    ? new RateLimiter({ rps: c.rateLimit.rps, burst: c.rateLimit.burst, share: c.rateLimit.scope === 'platform' ? () => 1 / Math.max(1, deps.routersServing()) : () => 1 })
    : undefined;

  const access = new AccessControl({ jwt, apiKeys, policy: () => policy, rateLimiter, internals: c.internals, cacheEntries: c.cacheEntries, metrics, logger });
  const protectedResource: ProtectedResource | undefined =
    c.jwt && c.methods.includes('jwt') && c.publicUrl ? { resource: c.publicUrl, authorizationServers: [c.jwt.issuer], scopes: () => policy.scopes() } : undefined;
  if (c.methods.length === 0) logger.warn({ variable: 'MCP_ROUTER_AUTH' }, 'authentication is off (MCP_ROUTER_AUTH=none): every caller that reaches this router may call every tool');
  else logger.info({ methods: c.methods, rules: c.rules?.file ? 'file' : c.rules?.consulKey ? 'consul' : 'none (authenticated callers may call everything)', rateLimit: rateLimiter ? c.rateLimit : 'off' }, 'authentication on');
  return { access, metrics, protectedResource, close: () => stops.forEach((s) => s()) };
}
