/**
 * What authentication, authorization and rate limiting refuse, as error
 * classes the two front doors map to their wire formats (gRPC status codes;
 * HTTP status + JSON-RPC error). A client is told only what it needs: the
 * reason a credential failed stays in the router (log at debug level, the
 * `mcp_router_auth_failures_total{reason}` metric), never in the answer.
 */

/** Why a credential was refused (internal: logs and metrics only). */
export type AuthFailure =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'not-yet-valid'
  | 'bad-issuer'
  | 'bad-audience'
  | 'bad-algorithm'
  | 'bad-signature'
  | 'unknown-key'
  | 'keys-unavailable'
  | 'claims'
  | 'unknown-api-key';

export const AUTH_FAILURES: readonly AuthFailure[] = [
  'missing',
  'malformed',
  'expired',
  'not-yet-valid',
  'bad-issuer',
  'bad-audience',
  'bad-algorithm',
  'bad-signature',
  'unknown-key',
  'keys-unavailable',
  'claims',
  'unknown-api-key',
];

/** No credential, or one the router does not accept: gRPC UNAUTHENTICATED, HTTP 401. */
export class UnauthenticatedError extends Error {
  override readonly name = 'UnauthenticatedError';
  constructor(readonly reason: AuthFailure) {
    // The same text whatever the reason: which check failed is not the client's to know.
    super(reason === 'missing' ? 'authentication required' : 'invalid credentials');
  }
}

/** A valid credential without the right to this: gRPC PERMISSION_DENIED, HTTP 403. */
export class PermissionDeniedError extends Error {
  override readonly name = 'PermissionDeniedError';
  constructor(
    /** What was asked for, in the client's own words (e.g. `tool search__query`). */
    readonly what: string,
    /** Scopes any of which would grant it (for the MCP `insufficient_scope` challenge); may be empty. */
    readonly grantingScopes: readonly string[] = [],
  ) {
    super(`permission denied: ${what}`);
  }
}

/** Over the caller's rate limit: gRPC RESOURCE_EXHAUSTED, HTTP 429 with Retry-After. */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError';
  constructor(readonly retryAfterSeconds: number) {
    super(`rate limit exceeded; retry after ${retryAfterSeconds} s`);
  }
}
