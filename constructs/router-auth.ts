/**
 * Who may call what, as construct props: authentication (JWT and/or API
 * keys), authorization rules, who sees internals, per-identity rate limits.
 * Everything here is a URL, a name or a path on the Docker host: the secrets
 * (API key hashes, rules, keys) stay in files the routers read, so none of
 * them is ever part of the plan. `routerAuthSettings` turns the props into
 * the routers' environment (router-app/src/contract.ts names it) and mounts.
 */
import { AUTH, ROUTER_ENV } from '../router-app/src/contract';
import { checkObject, isUnresolved, propError } from './validation';

/** JWT signature algorithms the routers can accept (asymmetric only: never `none`, never HS*). */
export enum JwtAlgorithm {
  RS256 = 'RS256',
  RS384 = 'RS384',
  RS512 = 'RS512',
  PS256 = 'PS256',
  PS384 = 'PS384',
  PS512 = 'PS512',
  ES256 = 'ES256',
  ES384 = 'ES384',
  ES512 = 'ES512',
  EDDSA = 'EdDSA',
}

/** Who sees backend URLs, raw backend errors and gRPC server reflection on the public doors. */
export enum InternalsVisibility {
  /** Callers with the admin scope only (and anyone on the routers' internal admin port). */
  ADMIN = 'admin',
  /** Every caller (a development setting). */
  EVERYONE = 'everyone',
}

/** Where a per-identity rate limit holds. */
export enum RateLimitScope {
  /** For the whole platform: each router enforces its share (rate / routers serving); right for HAProxy http mode. */
  PLATFORM = 'platform',
  /** On each router as given (tcp mode, where one connection stays on one router). */
  ROUTER = 'router',
}

export interface JwtAuthProps {
  /** The issuer every token must name in `iss` (the authorization server). */
  readonly issuer: string;
  /** JWKS URL of the issuer's signing keys (fetched, cached, rotated). Give this or `publicKeyHostPath`. */
  readonly jwksUrl?: string;
  /** Instead of `jwksUrl`: absolute path on the Docker host of a PEM public key, a JWK or a JWKS (mounted read-only). */
  readonly publicKeyHostPath?: string;
  /** Audiences a token must name one of. @default [the auth `publicUrl`] */
  readonly audience?: string[];
  /** Accepted signature algorithms. @default RS256, PS256, ES256, EdDSA */
  readonly algorithms?: JwtAlgorithm[];
  /** Leeway for `exp` and `nbf`, in seconds (0-300). @default 30 */
  readonly clockToleranceSeconds?: number;
}

export interface RateLimitProps {
  /** Requests per second per identity (subject or API key), over both doors; 0 turns the limit off. */
  readonly requestsPerSecond: number;
  /** Requests an identity may send at once after being idle. @default 2 × requestsPerSecond */
  readonly burst?: number;
  /** @default RateLimitScope.PLATFORM */
  readonly scope?: RateLimitScope;
}

export interface RouterAuthProps {
  /** Accept JWT access tokens (OAuth 2.1 resource server, as the MCP authorization spec asks). */
  readonly jwt?: JwtAuthProps;
  /**
   * Accept API keys: absolute path on the Docker host of the keys file (JSON of SHA-256
   * hashes, never keys; `npm run auth -- api-key <id>` makes entries). Mounted read-only;
   * edits (revocations) take effect within seconds. Update it in place (`cp`, not `mv`):
   * a bind-mounted file keeps its inode.
   */
  readonly apiKeysHostPath?: string;
  /**
   * The platform's public MCP URL, e.g. `https://mcp.example.com/mcp`: the OAuth resource
   * clients get tokens for, the default JWT audience, and where the MCP door's 401 points.
   * Required with `jwt`.
   */
  readonly publicUrl?: string;
  /** Authorization rules: absolute path on the Docker host of the rules file (mounted read-only, followed). @default none: every authenticated caller may call everything */
  readonly rulesHostPath?: string;
  /** Instead of `rulesHostPath`: a Consul KV key holding the rules (followed with blocking queries). */
  readonly rulesConsulKey?: string;
  /** The scope that grants everything and shows internals. @default 'mcp:admin' */
  readonly adminScope?: string;
  /** @default InternalsVisibility.ADMIN */
  readonly internals?: InternalsVisibility;
  /** Per-identity rate limit. @default McpRouterPlatform: 100 requests/s, burst 200, platform-wide; RouterFleet: none */
  readonly rateLimit?: RateLimitProps;
}

/** Where the fleet mounts what `RouterAuthProps` names on the Docker host. */
export const AUTH_MOUNTS = {
  apiKeys: '/run/mcp-router/auth/api-keys.json',
  rules: '/run/mcp-router/auth/rules.json',
  jwtPublicKey: '/run/mcp-router/auth/jwt-public-key',
  backendCredentials: '/run/mcp-router/backend-credentials',
} as const;

/** Router variables the auth props set (a fleet's `environment` may not set them too). */
export const AUTH_ENV: readonly string[] = [
  ROUTER_ENV.auth,
  ROUTER_ENV.publicUrl,
  ROUTER_ENV.authJwtIssuer,
  ROUTER_ENV.authJwtAudience,
  ROUTER_ENV.authJwtJwksUrl,
  ROUTER_ENV.authJwtPublicKeyFile,
  ROUTER_ENV.authJwtAlgorithms,
  ROUTER_ENV.authJwtClockToleranceS,
  ROUTER_ENV.authApiKeysFile,
  ROUTER_ENV.authRulesFile,
  ROUTER_ENV.authRulesConsulKey,
  ROUTER_ENV.authAdminScope,
  ROUTER_ENV.internals,
  ROUTER_ENV.rateLimitRps,
  ROUTER_ENV.rateLimitBurst,
  ROUTER_ENV.rateLimitScope,
  ROUTER_ENV.backendCredentialsDir,
];

const HOST_FILE = /^\/[^\s]*[^\s/]$/;

function hostPath(scope: string, prop: string, value: unknown, what: string): void {
  if (value === undefined || isUnresolved(value)) return;
  if (typeof value !== 'string' || !HOST_FILE.test(value)) throw propError(scope, prop, value, `an absolute path of ${what} on the Docker host`);
}

function httpUrl(scope: string, prop: string, value: unknown, example: string): void {
  if (value === undefined || isUnresolved(value)) return;
  let ok = false;
  if (typeof value === 'string') {
    try {
      const u = new URL(value);
      ok = (u.protocol === 'https:' || u.protocol === 'http:') && u.hash === '' && u.username === '' && u.password === '';
    } catch {
      ok = false;
    }
  }
  if (!ok) throw propError(scope, prop, value, `an absolute http(s) URL without a fragment or credentials, such as ${example}`);
}

function enumValue<T extends string>(scope: string, prop: string, value: unknown, allowed: readonly T[]): void {
  if (value === undefined || isUnresolved(value)) return;
  if (!allowed.includes(value as T)) throw propError(scope, prop, value, `one of ${allowed.join(', ')}`);
}

/** Checks the props (tokens skipped); throws a PropError naming `<prop>.<field>`. */
export function validateRouterAuth(scope: string, prop: string, auth: RouterAuthProps | undefined): void {
  if (auth === undefined) return;
  checkObject(scope, prop, auth, 'an object { jwt?, apiKeysHostPath?, publicUrl?, rulesHostPath?, rulesConsulKey?, adminScope?, internals?, rateLimit? }');
  if (auth.jwt === undefined && auth.apiKeysHostPath === undefined) {
    throw propError(scope, prop, auth, 'given with jwt and/or apiKeysHostPath (leave it unset for no authentication)');
  }
  const p = (f: string) => `${prop}.${f}`;
  if (auth.jwt !== undefined) {
    const j = auth.jwt;
    checkObject(scope, p('jwt'), j, 'an object { issuer, jwksUrl | publicKeyHostPath, audience?, algorithms?, clockToleranceSeconds? }');
    if (!isUnresolved(j.issuer) && (typeof j.issuer !== 'string' || !/^\S{1,1024}$/.test(j.issuer))) throw propError(scope, p('jwt.issuer'), j.issuer, 'the issuer (iss) of the tokens, e.g. https://auth.example.com');
    if ((j.jwksUrl === undefined) === (j.publicKeyHostPath === undefined)) throw propError(scope, p('jwt.jwksUrl'), j.jwksUrl, 'given, or else jwt.publicKeyHostPath (exactly one of them)');
    httpUrl(scope, p('jwt.jwksUrl'), j.jwksUrl, 'https://auth.example.com/.well-known/jwks.json');
    hostPath(scope, p('jwt.publicKeyHostPath'), j.publicKeyHostPath, 'a PEM public key, JWK or JWKS file');
    if (j.audience !== undefined && (!Array.isArray(j.audience) || j.audience.length === 0 || j.audience.some((a) => !isUnresolved(a) && (typeof a !== 'string' || !/^\S{1,1024}$/.test(a))))) {
      throw propError(scope, p('jwt.audience'), j.audience, 'a non-empty list of audiences');
    }
    if (j.algorithms !== undefined) {
      if (!Array.isArray(j.algorithms) || j.algorithms.length === 0) throw propError(scope, p('jwt.algorithms'), j.algorithms, `a non-empty list of ${AUTH.algorithms.join(', ')}`);
      for (const a of j.algorithms) {
        if (typeof a === 'string' && /^(none|HS\d+)$/i.test(a)) throw propError(scope, p('jwt.algorithms'), a, `one of ${AUTH.algorithms.join(', ')} (unsigned and shared-secret algorithms are never accepted)`);
        enumValue(scope, p('jwt.algorithms'), a, AUTH.algorithms);
      }
    }
    const tol = j.clockToleranceSeconds;
    if (tol !== undefined && !isUnresolved(tol) && (typeof tol !== 'number' || !Number.isInteger(tol) || tol < 0 || tol > AUTH.maxClockToleranceS)) {
      throw propError(scope, p('jwt.clockToleranceSeconds'), tol, `an integer from 0 to ${AUTH.maxClockToleranceS}`);
    }
    if (auth.publicUrl === undefined) throw propError(scope, p('publicUrl'), undefined, "the platform's public MCP URL (e.g. https://mcp.example.com/mcp) when jwt is given: tokens are issued for it");
  }
  httpUrl(scope, p('publicUrl'), auth.publicUrl, 'https://mcp.example.com/mcp');
  hostPath(scope, p('apiKeysHostPath'), auth.apiKeysHostPath, 'the API keys file');
  hostPath(scope, p('rulesHostPath'), auth.rulesHostPath, 'the authorization rules file');
  if (auth.rulesHostPath !== undefined && auth.rulesConsulKey !== undefined) throw propError(scope, p('rulesConsulKey'), auth.rulesConsulKey, 'left unset when rulesHostPath is given (one source of rules)');
  const key = auth.rulesConsulKey;
  if (key !== undefined && !isUnresolved(key) && (typeof key !== 'string' || !/^[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,511}$/.test(key) || key.split('/').includes('..'))) {
    throw propError(scope, p('rulesConsulKey'), key, 'a relative Consul KV key such as mcp-router/auth-rules');
  }
  const admin = auth.adminScope;
  if (admin !== undefined && !isUnresolved(admin) && (typeof admin !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(admin))) throw propError(scope, p('adminScope'), admin, 'a scope of 1-128 printable characters without spaces');
  enumValue(scope, p('internals'), auth.internals, Object.values(InternalsVisibility));
  if (auth.rateLimit !== undefined) {
    const r = auth.rateLimit;
    checkObject(scope, p('rateLimit'), r, 'an object { requestsPerSecond, burst?, scope? }');
    if (!isUnresolved(r.requestsPerSecond) && (typeof r.requestsPerSecond !== 'number' || !(r.requestsPerSecond >= 0) || r.requestsPerSecond > 1_000_000)) {
      throw propError(scope, p('rateLimit.requestsPerSecond'), r.requestsPerSecond, 'a number of requests per second from 0 (no limit) to 1000000');
    }
    if (r.burst !== undefined && !isUnresolved(r.burst) && (typeof r.burst !== 'number' || !Number.isInteger(r.burst) || r.burst < 1 || r.burst > 10_000_000)) {
      throw propError(scope, p('rateLimit.burst'), r.burst, 'an integer from 1 to 10000000');
    }
    enumValue(scope, p('rateLimit.scope'), r.scope, Object.values(RateLimitScope));
  }
}

export interface RouterAuthSettings {
  /** `NAME=value` entries for the router containers. */
  readonly env: string[];
  /** Read-only bind mounts. */
  readonly volumes: Array<{ hostPath: string; containerPath: string; readOnly: boolean }>;
}

/** The routers' environment and mounts for the props (no auth: `MCP_ROUTER_AUTH=none`). */
export function routerAuthSettings(auth: RouterAuthProps | undefined, backendCredentialsHostDir?: string): RouterAuthSettings {
  const E = ROUTER_ENV;
  const env: string[] = [];
  const volumes: RouterAuthSettings['volumes'] = [];
  const mount = (hostPath: string, containerPath: string) => volumes.push({ hostPath, containerPath, readOnly: true });
  if (backendCredentialsHostDir !== undefined) {
    env.push(`${E.backendCredentialsDir}=${AUTH_MOUNTS.backendCredentials}`);
    mount(backendCredentialsHostDir, AUTH_MOUNTS.backendCredentials);
  }
  if (auth === undefined) {
    env.push(`${E.auth}=none`);
    return { env, volumes };
  }
  const methods = [...(auth.jwt ? ['jwt'] : []), ...(auth.apiKeysHostPath !== undefined ? ['apiKeys'] : [])];
  env.push(`${E.auth}=${methods.join(',')}`);
  if (auth.publicUrl !== undefined) env.push(`${E.publicUrl}=${auth.publicUrl}`);
  const j = auth.jwt;
  if (j) {
    env.push(`${E.authJwtIssuer}=${j.issuer}`);
    if (j.jwksUrl !== undefined) env.push(`${E.authJwtJwksUrl}=${j.jwksUrl}`);
    if (j.publicKeyHostPath !== undefined) {
      env.push(`${E.authJwtPublicKeyFile}=${AUTH_MOUNTS.jwtPublicKey}`);
      mount(j.publicKeyHostPath, AUTH_MOUNTS.jwtPublicKey);
    }
    if (j.audience !== undefined) env.push(`${E.authJwtAudience}=${j.audience.join(',')}`);
    if (j.algorithms !== undefined) env.push(`${E.authJwtAlgorithms}=${j.algorithms.join(',')}`);
    if (j.clockToleranceSeconds !== undefined) env.push(`${E.authJwtClockToleranceS}=${j.clockToleranceSeconds}`);
  }
  if (auth.apiKeysHostPath !== undefined) {
    env.push(`${E.authApiKeysFile}=${AUTH_MOUNTS.apiKeys}`);
    mount(auth.apiKeysHostPath, AUTH_MOUNTS.apiKeys);
  }
  if (auth.rulesHostPath !== undefined) {
    env.push(`${E.authRulesFile}=${AUTH_MOUNTS.rules}`);
    mount(auth.rulesHostPath, AUTH_MOUNTS.rules);
  }
  if (auth.rulesConsulKey !== undefined) env.push(`${E.authRulesConsulKey}=${auth.rulesConsulKey}`);
  if (auth.adminScope !== undefined) env.push(`${E.authAdminScope}=${auth.adminScope}`);
  if (auth.internals !== undefined) env.push(`${E.internals}=${auth.internals}`);
  if (auth.rateLimit !== undefined) {
    env.push(`${E.rateLimitRps}=${auth.rateLimit.requestsPerSecond}`);
    if (auth.rateLimit.burst !== undefined) env.push(`${E.rateLimitBurst}=${auth.rateLimit.burst}`);
    if (auth.rateLimit.scope !== undefined) env.push(`${E.rateLimitScope}=${auth.rateLimit.scope}`);
  }
  return { env, volumes };
}
