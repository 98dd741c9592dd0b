/**
 * Maps router and MCP errors to gRPC status codes:
 * unknown tool/prompt/resource → NOT_FOUND; invalid arguments → INVALID_ARGUMENT;
 * backend unreachable or circuit open → UNAVAILABLE; timeout → DEADLINE_EXCEEDED;
 * client cancel → CANCELLED. (A tool's own error, isError, is a normal response.)
 */
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { BackendUnavailableError, DrainingError, InvalidArgumentError, NotFoundError } from '../mcp/errors';

export function toGrpcError(err: unknown): Partial<ServiceError> & { code: status; details: string } {
  const message = err instanceof Error ? err.message : String(err);
  const e = (code: status) => ({ code, details: message, metadata: new Metadata() });
  if (err instanceof NotFoundError) return e(status.NOT_FOUND);
  if (err instanceof InvalidArgumentError) return e(status.INVALID_ARGUMENT);
  if (err instanceof BackendUnavailableError || err instanceof DrainingError) return e(status.UNAVAILABLE);
  if (err instanceof McpError) {
    switch (err.code) {
      case ErrorCode.RequestTimeout:
        return e(status.DEADLINE_EXCEEDED);
      case ErrorCode.InvalidParams:
        return /not found|unknown/i.test(err.message) ? e(status.NOT_FOUND) : e(status.INVALID_ARGUMENT);
      case ErrorCode.MethodNotFound:
        return e(status.UNIMPLEMENTED);
      case ErrorCode.ConnectionClosed:
        return e(status.UNAVAILABLE);
      default:
        return /not found/i.test(err.message) ? e(status.NOT_FOUND) : e(status.INTERNAL);
    }
  }
  if (err instanceof Error && (err.name === 'AbortError' || /aborted|cancelled/i.test(err.message))) return e(status.CANCELLED);
  return e(status.INTERNAL);
}

/** gRPC status name for metrics labels. */
export function statusName(code: status): string {
  return status[code] ?? String(code);
}
