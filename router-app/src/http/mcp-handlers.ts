/**
 * The MCP methods of the front door, as request handlers of an SDK `Server`,
 * on the shared call path (routing/call-path.ts): the same catalogue, names
 * (`<server>__<tool>`), validation, failover and backends as the gRPC door.
 * This file does only what is MCP's: pagination cursors, progress
 * notifications, and router errors as JSON-RPC errors.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type CallToolRequest,
  type CallToolResult,
  type RequestId,
  type Prompt,
  type Resource,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { BackendUnavailableError, CallCancelledError, InvalidArgumentError, MCP_RESOURCE_NOT_FOUND, NotFoundError, ResourceExhaustedError, TransportError } from '../mcp/errors';
import type { CallOptions, CallPath } from '../routing/call-path';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import type { Access } from '../auth/access';
import { PermissionDeniedError, RateLimitedError, UnauthenticatedError } from '../auth/errors';
import type { AuthorizedCalls } from '../routing/authorized';
import { forCaller } from '../routing/caller-errors';
import { ROUTER_VERSION } from '../version';

/** JSON-RPC code of the router's refusals (authentication, authorization, rate limit): an implementation-defined server error. */
export const JSONRPC_REFUSED = -32000;

export interface McpHandlerContext {
  readonly calls: CallPath;
  /** The caller's rights (every request was admitted before it reached here). */
  readonly access: Access;
  readonly authorized: AuthorizedCalls;
  readonly pageSize: number;
  readonly defaultTimeoutMs: number;
  /**
   * Wraps one call: gives it an AbortSignal that fires when the client cancels
   * (its stream closes, or notifications/cancelled reaches any router).
   */
  readonly track: <T>(requestId: unknown, fn: (signal: AbortSignal) => Promise<T>) => Promise<T>;
}

/** The router's answer to a call it could not complete, as a JSON-RPC error (internals only for callers that may see them). */
export function toMcpError(caught: unknown, internals = true): McpError {
  const err = forCaller(caught, internals);
  if (err instanceof McpError) return err;
  if (err instanceof PermissionDeniedError || err instanceof UnauthenticatedError || err instanceof RateLimitedError) return new McpError(JSONRPC_REFUSED, err.message);
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof NotFoundError) return new McpError(ErrorCode.InvalidParams, message);
  if (err instanceof InvalidArgumentError) return new McpError(ErrorCode.InvalidParams, message);
  if (err instanceof CallCancelledError) return new McpError(ErrorCode.RequestTimeout, message);
  if (err instanceof BackendUnavailableError || err instanceof ResourceExhaustedError || err instanceof TransportError) return new McpError(ErrorCode.InternalError, message);
  return new McpError(ErrorCode.InternalError, message);
}

/** Cursors are offsets into the catalogue sorted by name, so every router reads them alike. */
function page<T>(items: T[], cursor: string | undefined, size: number): { items: T[]; nextCursor?: string } {
  let offset = 0;
  if (cursor !== undefined) {
    const m = /^o(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!m) throw new McpError(ErrorCode.InvalidParams, `invalid cursor ${JSON.stringify(cursor)}`);
    offset = Number(m[1]);
  }
  const slice = items.slice(offset, offset + size);
  const next = offset + size < items.length ? Buffer.from(`o${offset + size}`).toString('base64url') : undefined;
  return next ? { items: slice, nextCursor: next } : { items: slice };
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** A listing result: one page of `items` under `key`, with the next cursor when there is more. */
function listing<K extends string, T>(key: K, items: T[], cursor: string | undefined, size: number): { [P in K]: T[] } & { nextCursor?: string } {
  const p = page(items, cursor, size);
  return { [key]: p.items, ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}) } as { [P in K]: T[] } & { nextCursor?: string };
}

/** The listing methods: their results depend only on the catalogue, the caller's rights and the cursor. */
export type ListingMethod = 'tools/list' | 'prompts/list' | 'resources/list' | 'resources/templates/list';

/**
 * Each listing, filtered by a caller's rights and sorted, once per catalogue snapshot: a page, whatever
 * its cursor, is a slice of it. (Built per page, a client walking through cursors of its own had the
 * router filter and sort the whole catalogue at every request.) Bounded per snapshot: rights are
 * many only with many API keys or rules.
 */
const sortedListings = new WeakMap<object, Map<string, readonly unknown[]>>();
const MAX_SORTED_LISTINGS = 64;

function sortedListing(authorized: AuthorizedCalls, access: Access, method: ListingMethod): readonly unknown[] {
  const snapshot = authorized.calls.snapshot;
  let byRights = sortedListings.get(snapshot);
  if (!byRights) sortedListings.set(snapshot, (byRights = new Map()));
  const key = `${access.grant.key}\u0000${method}`;
  let items = byRights.get(key);
  if (items === undefined) {
    if (byRights.size >= MAX_SORTED_LISTINGS) byRights.clear();
    items = buildListing(authorized, access, method);
    byRights.set(key, items);
  }
  return items;
}

function buildListing(authorized: AuthorizedCalls, access: Access, method: ListingMethod): readonly unknown[] {
  switch (method) {
    case 'tools/list':
      return authorized.tools(access).map((t): Tool => ({ ...t.tool, name: t.name })).sort(byName);
    case 'prompts/list':
      return authorized.prompts(access).map((p): Prompt => ({ ...p.prompt, name: p.name })).sort(byName);
    case 'resources/list':
      return authorized.resources(access).map((r): Resource => r.resource).sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
    case 'resources/templates/list':
      return authorized.resourceTemplates(access).map((t) => t.template);
  }
}

const LISTING_KEYS = { 'tools/list': 'tools', 'prompts/list': 'prompts', 'resources/list': 'resources', 'resources/templates/list': 'resourceTemplates' } as const;

/** One page of a listing method's result (both the SDK handlers and the front door's listing cache answer with it). */
export function listingResult(authorized: AuthorizedCalls, access: Access, method: ListingMethod, cursor: string | undefined, pageSize: number): Record<string, unknown> {
  return listing(LISTING_KEYS[method], sortedListing(authorized, access, method) as unknown[], cursor, pageSize);
}

/**
 * The JSON Schema validator every per-request Server shares. Left to itself, the
 * SDK's Server builds its own Ajv instance (every keyword and format compiled)
 * in its constructor: about 10 % of the CPU of an MCP tools/list (bench item
 * 9a, bench/FINDINGS.md). A Server uses it only to check elicitation answers,
 * which this router never asks for, so the Ajv instance is made on first use.
 */
let ajvValidator: jsonSchemaValidator | undefined;
const sharedValidator: jsonSchemaValidator = {
  getValidator(schema) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ajvValidator ??= new (require('@modelcontextprotocol/sdk/validation/ajv-provider.js') as typeof import('@modelcontextprotocol/sdk/validation/ajv-provider.js')).AjvJsonSchemaValidator();
    return ajvValidator.getValidator(schema);
  },
};

/**
 * tools/call on the shared call path: the tool's result, or the router's error
 * as a JSON-RPC error. Both the SDK handler (progress over SSE) and the front
 * door's JSON answer (json-call.ts) call it, so a rule changed here holds on both.
 * A result that is not a valid CallToolResult is the server's fault: -32603
 * naming the server (the SDK's Server would answer -32602, "invalid params",
 * which tells the client its own request was wrong).
 */
export async function callTool(ctx: McpHandlerContext, params: CallToolRequest['params'], requestId: RequestId, onprogress?: CallOptions['onprogress']): Promise<CallToolResult> {
  try {
    const found = ctx.authorized.lookupTool(ctx.access, params.name);
    const entry = found instanceof Promise ? await found : found;
    const { result } = await ctx.track(requestId, (signal) => ctx.calls.callTool(entry, params.arguments ?? {}, { timeoutMs: ctx.defaultTimeoutMs, signal, onprogress }));
    const checked = CallToolResultSchema.safeParse(result);
    if (!checked.success) throw new McpError(ErrorCode.InternalError, `MCP server ${entry.namespace} answered tools/call with an invalid result: ${checked.error.message}`);
    return checked.data;
  } catch (err) {
    throw toMcpError(err, ctx.access.internals);
  }
}

/** A new SDK Server answering from the catalogue (one per HTTP request: the front door keeps no session). */
export function createMcpServer(ctx: McpHandlerContext): Server {
  const server = new Server(
    { name: 'mcp-router', version: ROUTER_VERSION },
    { capabilities: { tools: { listChanged: true }, resources: { listChanged: true }, prompts: { listChanged: true } }, jsonSchemaValidator: sharedValidator },
  );
  const { calls, access, authorized } = ctx;
  const internals = access.internals;

  server.setRequestHandler(ListToolsRequestSchema, (req) => listingResult(authorized, access, 'tools/list', req.params?.cursor, ctx.pageSize));

  server.setRequestHandler(CallToolRequestSchema, (req, extra) => {
    const token = req.params._meta?.progressToken;
    const onprogress: CallOptions['onprogress'] =
      token === undefined
        ? undefined
        : (p) => void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: p.progress, ...(p.total !== undefined ? { total: p.total } : {}), ...(p.message !== undefined ? { message: p.message } : {}) } }).catch(() => undefined);
    return callTool(ctx, req.params, extra.requestId, onprogress);
  });

  server.setRequestHandler(ListResourcesRequestSchema, (req) => listingResult(authorized, access, 'resources/list', req.params?.cursor, ctx.pageSize));

  server.setRequestHandler(ListResourceTemplatesRequestSchema, (req) => listingResult(authorized, access, 'resources/templates/list', req.params?.cursor, ctx.pageSize));

  server.setRequestHandler(ReadResourceRequestSchema, async (req, extra) => {
    try {
      const entry = authorized.lookupResource(access, req.params.uri);
      const { result } = await ctx.track(extra.requestId, (signal) => calls.readResource(entry, { timeoutMs: ctx.defaultTimeoutMs, signal }));
      return result;
    } catch (err) {
      if (err instanceof NotFoundError) throw new McpError(MCP_RESOURCE_NOT_FOUND, err.message, { uri: req.params.uri });
      throw toMcpError(err, internals);
    }
  });

  server.setRequestHandler(ListPromptsRequestSchema, (req) => listingResult(authorized, access, 'prompts/list', req.params?.cursor, ctx.pageSize));

  server.setRequestHandler(GetPromptRequestSchema, async (req, extra) => {
    try {
      const entry = await authorized.lookupPrompt(access, req.params.name);
      const { result } = await ctx.track(extra.requestId, (signal) => calls.getPrompt(entry, req.params.arguments ?? {}, { timeoutMs: ctx.defaultTimeoutMs, signal }));
      return result;
    } catch (err) {
      throw toMcpError(err, internals);
    }
  });

  return server;
}
