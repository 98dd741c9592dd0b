/**
 * tools/call answered as one application/json response when the client asked
 * for no progress: the spec lets a server answer any POSTed request with JSON
 * or with an SSE stream, and the client must accept both. Without a progress
 * token there is nothing to stream, so the call skips the per-request SDK
 * Server, its web-standard transport (a Request/Response pair and a
 * ReadableStream per request) and the SSE framing: about half the router's CPU
 * of an MCP tools/call (bench item 9b/9c, bench/FINDINGS.md §7).
 *
 * It answers exactly what the SDK path answers (mcp-handlers.ts callTool, the
 * SDK's own request and result schemas, its JSON-RPC error shape), and only
 * for requests the SDK's transport would take: Accept with both types, a JSON
 * content type, a JSON-RPC request. A tools/call whose params fail the SDK's
 * schema gets -32602 (the SDK's Server answers -32603 there). Everything else
 * (a progress token, a task request, bad headers) goes the SDK's way, which
 * streams progress or answers the proper error.
 */
import type * as http from 'node:http';
import { CallToolRequestSchema, ErrorCode, isJSONRPCRequest, McpError } from '@modelcontextprotocol/sdk/types.js';
import { callTool, McpHandlerContext } from './mcp-handlers';

/** The JSON-RPC error the SDK's Protocol answers for an error thrown by a request handler. */
function errorBody(id: unknown, err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; data?: unknown };
  const error = {
    code: Number.isSafeInteger(e.code) ? e.code : ErrorCode.InternalError,
    message: typeof e.message === 'string' ? e.message : 'Internal error',
    ...(e.data !== undefined ? { data: e.data } : {}),
  };
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

/**
 * Answers a tools/call without a progress token as JSON; undefined (nothing
 * written) when the request must go the SDK's way. `contextFor` is called only
 * for a call answered here; its `track` ties the call to cancellation (a closed
 * response, or notifications/cancelled).
 */
export function tryAnswerCall(req: http.IncomingMessage, res: http.ServerResponse, body: unknown, contextFor: () => McpHandlerContext): Promise<void> | undefined {
  if ((body as { method?: unknown }).method !== 'tools/call') return undefined;
  const accept = String(req.headers.accept ?? '');
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return undefined;
  if (!String(req.headers['content-type'] ?? '').includes('application/json')) return undefined;
  if (!isJSONRPCRequest(body)) return undefined;
  const id = body.id;
  const parsed = CallToolRequestSchema.safeParse(body);
  if (!parsed.success) {
    // The SDK's Server answers -32603 here (its Protocol's schema check throws a plain error
    // before the Server's own -32602 check): invalid params are -32602 (JSON-RPC 2.0).
    return answer(res, errorBody(id, new McpError(ErrorCode.InvalidParams, `Invalid tools/call request: ${parsed.error.message}`)));
  }
  const params = parsed.data.params;
  if (params._meta?.progressToken !== undefined || (params as { task?: unknown }).task !== undefined) return undefined;
  return (async () => {
    let text: string;
    try {
      // callTool checks the result (a server's invalid one is -32603).
      text = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${JSON.stringify(await callTool(contextFor(), params, id))}}`;
    } catch (err) {
      text = errorBody(id, err);
    }
    return answer(res, text);
  })();
}

/** Writes one JSON-RPC response, unless the client has closed its response (it cancelled: nobody is left to answer). */
async function answer(res: http.ServerResponse, text: string): Promise<void> {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
