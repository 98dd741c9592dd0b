/**
 * What a caller may learn from an error. Backend addresses and raw transport
 * errors (`ECONNREFUSED 10.0.0.7:3000`, a backend's URL in a size-limit
 * message) are internals: only callers that may see internals (the admin
 * scope, or everyone with MCP_ROUTER_INTERNALS=everyone) get them. Everyone
 * else gets an error of the same class (so the same status code) with a
 * generic text. Errors made of the caller's own input (unknown name, invalid
 * arguments), refusals of the router, and an MCP server's own JSON-RPC error
 * are passed unchanged.
 */
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { PermissionDeniedError, RateLimitedError, UnauthenticatedError } from '../auth/errors';
import { BackendUnavailableError, CallCancelledError, InvalidArgumentError, NotFoundError, ResourceExhaustedError, TransportError } from '../mcp/errors';

export function forCaller(err: unknown, internals: boolean): unknown {
  if (internals) return err;
  if (
    err instanceof NotFoundError ||
    err instanceof InvalidArgumentError ||
    err instanceof CallCancelledError ||
    err instanceof McpError ||
    err instanceof UnauthenticatedError ||
    err instanceof PermissionDeniedError ||
    err instanceof RateLimitedError
  ) {
    return err;
  }
  if (err instanceof BackendUnavailableError) return new BackendUnavailableError('the MCP server is unavailable', err.notSent);
  if (err instanceof TransportError) {
    const text = err.code === 'RESPONSE_TOO_LARGE' ? "the MCP server's answer exceeds the router's size limit" : err.code === 'REQUEST_DROPPED' ? 'the request was dropped' : 'the MCP server could not be reached';
    return new TransportError(err.code, text, err.notSent, undefined, err.name);
  }
  // A limit of the router is the caller's business (it says which and what to do); a backend's address is not.
  if (err instanceof ResourceExhaustedError) return new ResourceExhaustedError(err.publicMessage);
  const generic = new Error('internal error');
  return generic;
}
