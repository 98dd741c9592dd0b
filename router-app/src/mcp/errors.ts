/**
 * Router-side error types. Each carries what it is as a class and, for
 * transport failures, a code; grpc/status.ts maps them (and the MCP SDK's
 * errors, by their JSON-RPC code) to gRPC status codes. Nothing is classified
 * by its message text.
 */
/** MCP's "resource not found" JSON-RPC error code (spec: server/resources). */
export const MCP_RESOURCE_NOT_FOUND = -32002;

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}
export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
}
/** A bound was hit: a backend's response too large, too many calls in flight. */
export class ResourceExhaustedError extends Error {
  override readonly name = 'ResourceExhaustedError';
  constructor(
    message: string,
    /** The text for callers that may not see internals (no backend address). @default message */
    readonly publicMessage: string = message,
  ) {
    super(message);
  }
}
/** Which bound of one backend's listing was hit. */
export type ListingLimit = 'pages' | 'items' | 'bytes' | 'timeout' | 'depth';

/**
 * A backend's listing went over a bound (MCP_ROUTER_LISTING_MAX_PAGES, _ITEMS,
 * _BYTES, _TIMEOUT_MS): it is refused, and the backend keeps its last good
 * listing, if any.
 */
export class ListingLimitError extends Error {
  override readonly name = 'ListingLimitError';
  constructor(
    readonly limit: ListingLimit,
    message: string,
  ) {
    super(message);
  }
}

/** The client cancelled the call (the abort reason the router gives the SDK). */
export class CallCancelledError extends Error {
  override readonly name = 'CallCancelledError';
  constructor() {
    super('the client cancelled the call');
  }
}
/** The backend cannot be reached, its circuit is open, or its session broke. */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
  /**
   * True when the request certainly never reached the backend (connection
   * refused, host unreachable, TLS verification failed, circuit open, instance
   * removed), so another instance of the same server may be tried.
   */
  constructor(
    message: string,
    readonly notSent = false,
  ) {
    super(message);
  }
}

/**
 * A failure of one HTTP exchange with a backend, by code: a Node error code
 * (ECONNREFUSED, ECONNRESET, …) or one of the router's own: TLS (certificate
 * verification), RESPONSE_CUT (the response ended early), RESPONSE_TOO_LARGE,
 * SSE_BAD_MESSAGE (an SSE message that is not JSON), REQUEST_DROPPED (the
 * router dropped it: call cancelled or timed out), SESSION_CLOSED (the
 * session was closed under it), NO_ANSWER (a request tied to no call, such as a
 * notification, got no answer in time).
 */
export class TransportError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The request never reached the backend. */
    readonly notSent: boolean,
    cause?: Error,
    name = 'TransportError',
  ) {
    super(message, cause ? { cause } : undefined);
    this.name = name;
  }
}
