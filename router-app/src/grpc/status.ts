/**
 * Maps router and MCP errors to gRPC status codes, by class and code (never
 * by message text):
 * - unknown tool/prompt/resource → NOT_FOUND; invalid arguments → INVALID_ARGUMENT;
 * - backend unreachable, circuit open, session broken → UNAVAILABLE;
 * - a bound hit (response too large, too many calls) → RESOURCE_EXHAUSTED;
 * - client cancel → CANCELLED;
 * - an MCP error from the backend, by its JSON-RPC code: request timeout →
 *   DEADLINE_EXCEEDED, invalid params → INVALID_ARGUMENT, resource not found
 *   (-32002) → NOT_FOUND, method not found → UNIMPLEMENTED, connection closed
 *   → UNAVAILABLE, anything else → INTERNAL.
 * (A tool's own error, isError, is a normal response.)
 */
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { BackendUnavailableError, CallCancelledError, InvalidArgumentError, MCP_RESOURCE_NOT_FOUND, NotFoundError, ResourceExhaustedError, TransportError } from '../mcp/errors';
import { PermissionDeniedError, RateLimitedError, UnauthenticatedError } from '../auth/errors';

function codeFor(err: unknown): status {
  if (err instanceof UnauthenticatedError) return status.UNAUTHENTICATED;
  if (err instanceof PermissionDeniedError) return status.PERMISSION_DENIED;
  if (err instanceof RateLimitedError) return status.RESOURCE_EXHAUSTED;
  if (err instanceof NotFoundError) return status.NOT_FOUND;
  if (err instanceof InvalidArgumentError) return status.INVALID_ARGUMENT;
  if (err instanceof BackendUnavailableError) return status.UNAVAILABLE;
  if (err instanceof ResourceExhaustedError) return status.RESOURCE_EXHAUSTED;
  if (err instanceof CallCancelledError) return status.CANCELLED;
  if (err instanceof TransportError) return err.code === 'REQUEST_DROPPED' ? status.CANCELLED : err.code === 'RESPONSE_TOO_LARGE' ? status.RESOURCE_EXHAUSTED : status.UNAVAILABLE;
  if (err instanceof McpError) {
    switch (err.code) {
      case ErrorCode.RequestTimeout:
        return status.DEADLINE_EXCEEDED;
      case ErrorCode.InvalidParams:
        return status.INVALID_ARGUMENT;
      case MCP_RESOURCE_NOT_FOUND:
        return status.NOT_FOUND;
      case ErrorCode.MethodNotFound:
        return status.UNIMPLEMENTED;
      case ErrorCode.ConnectionClosed:
        return status.UNAVAILABLE;
      default:
        return status.INTERNAL;
    }
  }
  return status.INTERNAL;
}

export function toGrpcError(err: unknown): Partial<ServiceError> & { code: status; details: string } {
  const message = err instanceof Error ? err.message : String(err);
  const metadata = new Metadata();
  // The gRPC counterpart of HTTP's Retry-After (seconds), in the trailers.
  if (err instanceof RateLimitedError) metadata.set('retry-after', String(err.retryAfterSeconds));
  return { code: codeFor(err), details: message, metadata };
}

/** gRPC status name for metrics labels. */
export function statusName(code: status): string {
  return status[code] ?? String(code);
}
