/**
 * Router-side error types; grpc/status.ts maps them (and MCP SDK errors) to
 * gRPC status codes.
 */
export class NotFoundError extends Error {
  readonly kind = 'not-found';
}
export class InvalidArgumentError extends Error {
  readonly kind = 'invalid-argument';
}
/** The backend cannot be reached, its circuit is open, or its session broke. */
export class BackendUnavailableError extends Error {
  readonly kind = 'unavailable';
  /**
   * True when the request certainly never reached the backend (connection
   * refused, host unreachable, circuit open, instance removed), so another
   * instance of the same server may be tried.
   */
  notSent = false;
}
export class DrainingError extends Error {
  readonly kind = 'draining';
}
