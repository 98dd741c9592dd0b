/**
 * Access control for both front doors: one request's credential in, the
 * caller's identity and rights out (or an error the door maps to its wire
 * format). Every request passes `admit` (authentication, then the caller's
 * rate limit); each operation then asks the grant (`allowTool`, …).
 *
 * A verified JWT is cached by its text until it expires (bounded, least
 * recently used out), so a client that reuses its token pays for the
 * signature once: admit() is then synchronous. Concurrent first uses of one
 * token share one verification.
 */
import type { Logger } from '../logger';
import type { ApiKeySet } from './api-keys';
import { PermissionDeniedError, UnauthenticatedError } from './errors';
import { ANONYMOUS, Identity } from './identity';
import { JwtVerifier, looksLikeJwt } from './jwt';
import type { AuthMetrics } from './metrics';
import { Grant, Kind, Policy } from './policy';
import type { RateLimiter } from './rate-limit';

/** What a request may do: who it is, what it may call, whether it sees internals. */
export interface Access {
  readonly identity: Identity;
  readonly grant: Grant;
  /** Backend URLs, raw errors, reflection. */
  readonly internals: boolean;
}

export interface AccessControlOptions {
  /** JWT verification (MCP_ROUTER_AUTH has `jwt`). */
  readonly jwt?: JwtVerifier;
  /** The API keys in force (MCP_ROUTER_AUTH has `apiKeys`). */
  readonly apiKeys?: () => ApiKeySet;
  /** The rules in force. */
  readonly policy: () => Policy;
  readonly rateLimiter?: RateLimiter;
  /** Who sees internals: the admin scope only, or everyone. */
  readonly internals: 'admin' | 'everyone';
  /** Most verified tokens kept. */
  readonly cacheEntries: number;
  readonly metrics: AuthMetrics;
  readonly logger: Logger;
  readonly now?: () => number;
}

interface Cached {
  readonly identity: Identity;
  readonly until: number;
  access?: Access;
  policyVersion: number;
}

/** `Bearer <credential>` (RFC 6750 §2.1); undefined when absent, 'malformed' when not that. */
export function bearerCredential(values: readonly unknown[]): string | undefined | 'malformed' {
  if (values.length === 0) return undefined;
  if (values.length > 1 || typeof values[0] !== 'string') return 'malformed';
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(values[0]);
  return m ? m[1] : 'malformed';
}

export class AccessControl {
  /** Authentication is on. */
  readonly required: boolean;
  private readonly verified = new Map<string, Cached>();
  private readonly verifying = new Map<string, Promise<Cached>>();
  private readonly now: () => number;
  private anonymous?: { access: Access; policyVersion: number };

  constructor(private readonly o: AccessControlOptions) {
    this.required = o.jwt !== undefined || o.apiKeys !== undefined;
    this.now = o.now ?? Date.now;
  }

  /**
   * Authenticates a request's `authorization` values and takes one token of
   * the caller's rate limit. Synchronous when the credential is cached (or
   * authentication is off); throws UnauthenticatedError or RateLimitedError.
   */
  admit(authorization: readonly unknown[]): Access | Promise<Access> {
    if (!this.required) return this.anonymousAccess();
    // Verified tokens are cached by the header's text: a client that reuses its token is
    // admitted with one map lookup (no parsing of the header or the token).
    const header = authorization.length === 1 && typeof authorization[0] === 'string' ? authorization[0] : undefined;
    if (this.o.jwt && header !== undefined) {
      const hit = this.verified.get(header);
      if (hit) {
        if (hit.until > this.now()) return this.limited(this.accessOf(hit));
        this.verified.delete(header);
      }
    }
    const credential = bearerCredential(authorization);
    if (credential === undefined || credential === 'malformed') return this.refuse(credential === undefined ? 'missing' : 'malformed');
    if (this.o.jwt && looksLikeJwt(credential)) {
      // Refusals are counted per request (concurrent uses of one token share one verification).
      return this.verifyJwt(credential, header!).then(
        (c) => this.limited(this.accessOf(c)),
        (err: unknown) => this.refuse(err instanceof UnauthenticatedError ? err.reason : 'malformed'),
      );
    }
    if (this.o.apiKeys) {
      const identity = this.o.apiKeys().lookup(credential);
      if (!identity) return this.refuse('unknown-api-key');
      return this.limited(this.build(identity));
    }
    return this.refuse('malformed');
  }

  /** Throws PermissionDeniedError unless the grant allows this. */
  authorize(access: Access, kind: Kind, name: string, namespace: string | undefined): void {
    const g = access.grant;
    const ok = kind === 'tool' ? g.tool(name, namespace ?? '') : kind === 'prompt' ? g.prompt(name, namespace ?? '') : g.resource(name, namespace);
    if (ok) return;
    this.o.metrics.denied.inc({ kind });
    throw new PermissionDeniedError(`${kind} ${name}`, this.o.policy().grantingScopes(kind, name, namespace));
  }

  /** Counts a refusal of internals (reflection) and returns the error to answer with. */
  denyInternals(): PermissionDeniedError {
    this.o.metrics.denied.inc({ kind: 'internals' });
    return new PermissionDeniedError('server reflection');
  }

  private refuse(reason: UnauthenticatedError['reason']): never {
    this.o.metrics.failures.inc({ reason });
    throw new UnauthenticatedError(reason);
  }

  private limited(access: Access): Access {
    if (this.o.rateLimiter && access.identity.method !== 'anonymous') {
      try {
        this.o.rateLimiter.take(access.identity.key);
      } catch (err) {
        this.o.metrics.rateLimited.inc();
        throw err;
      }
    }
    return access;
  }

  private anonymousAccess(): Access {
    const policy = this.o.policy();
    if (this.anonymous?.policyVersion !== policy.version) this.anonymous = { access: this.build(ANONYMOUS, policy), policyVersion: policy.version };
    return this.anonymous.access;
  }

  private build(identity: Identity, policy = this.o.policy()): Access {
    return { identity, grant: policy.grantFor(identity), internals: this.o.internals === 'everyone' || identity.admin };
  }

  private accessOf(c: Cached): Access {
    const policy = this.o.policy();
    if (!c.access || c.policyVersion !== policy.version) {
      c.access = this.build(c.identity, policy);
      c.policyVersion = policy.version;
    }
    return c.access;
  }

  /** Verifies `token` (one verification shared by concurrent uses) and caches the result under `header`. */
  private verifyJwt(token: string, header: string): Promise<Cached> {
    let p = this.verifying.get(token);
    if (!p) {
      p = this.o.jwt!.verify(token).then(
        ({ identity, expiresAt }) => {
          const c: Cached = { identity, until: expiresAt, policyVersion: -1 };
          if (this.verified.size >= this.o.cacheEntries) this.verified.delete(this.verified.keys().next().value as string);
          this.verified.set(header, c);
          return c;
        },
        (err: unknown) => {
          const reason = err instanceof UnauthenticatedError ? err.reason : 'malformed';
          this.o.logger.debug({ reason }, 'JWT refused');
          throw new UnauthenticatedError(reason);
        },
      );
      const settled = p.finally(() => this.verifying.delete(token));
      settled.catch(() => undefined);
      this.verifying.set(token, p);
    }
    return p;
  }
}
