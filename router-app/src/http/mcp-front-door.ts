/**
 * The MCP front door: MCP Streamable HTTP at PATHS.mcp on its own port,
 * serving the aggregated catalogue with the SDK's server classes.
 *
 * Any router answers any request. Each HTTP request gets a fresh SDK `Server`
 * and a stateless transport; what a client's session needs (the negotiated
 * protocol version, a nonce) travels in its Mcp-Session-Id, signed
 * (session-token.ts), so the next request may land on any router. This holds
 * to the 2026-07-28 revision too: nothing depends on a session in one
 * router's memory.
 *
 * - POST: initialize issues the session ID; every other request must carry a
 *   valid one (404 when unknown or expired: the client re-initializes).
 * - Cancellation: a client's notifications/cancelled cancels the call on this
 *   router, or is passed to every peer router (the call may run there); a
 *   response stream the client closes cancels its call (2026-07-28).
 * - GET: a notification stream; the catalogue's list changes are sent there.
 * - DELETE: accepted (there is nothing to remove on the server).
 * - Authentication (MCP authorization spec, 2025-11-25): every request carries
 *   `Authorization: Bearer …` (when MCP_ROUTER_AUTH is on); without a valid
 *   one it gets 401 with `WWW-Authenticate: Bearer resource_metadata=…`, and
 *   the OAuth protected resource metadata (RFC 9728) is served at
 *   /.well-known/oauth-protected-resource[/mcp]. A call the caller's rights
 *   do not cover gets 403 with `error="insufficient_scope"` and the scopes that
 *   would grant it; over its rate limit, 429 with Retry-After. Listings hold
 *   only what the caller may call. A session belongs to the caller who opened it.
 * - Bad input gets a JSON-RPC error: a body over the limit (413), invalid JSON
 *   (-32700), a batch or a message nested more than 64 levels deep (-32600),
 *   an unknown method (-32601), a missing or
 *   unsupported MCP-Protocol-Version (400), a wrong Accept (406), an Origin
 *   outside the allow-list (403, DNS-rebinding protection).
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { PATHS } from '../contract';
import type { Logger } from '../logger';
import type { Catalog, CatalogSnapshot } from '../mcp/catalog';
import { CallCancelledError } from '../mcp/errors';
import { MAX_REQUEST_DEPTH, nestsDeeperThan } from '../json-depth';
import { RouterMetrics } from '../metrics';
import type { CallPath } from '../routing/call-path';
import { InflightCalls } from './inflight';
import { McpListingCache } from './listing-cache';
import { tryAnswerCall } from './json-call';
import { createMcpServer, JSONRPC_REFUSED, McpHandlerContext } from './mcp-handlers';
import { SessionState, SessionTokens } from './session-token';
import type { Access, AccessControl } from '../auth/access';
import { PermissionDeniedError, RateLimitedError, UnauthenticatedError } from '../auth/errors';
import type { Identity } from '../auth/identity';
import type { ProtectedResource } from '../auth/setup';
import type { AuthorizedCalls } from '../routing/authorized';
import { forCaller } from '../routing/caller-errors';

export interface McpFrontDoorOptions {
  readonly address: string;
  readonly port: number;
  readonly calls: CallPath;
  /** The call path through a caller's rights. */
  readonly authorized: AuthorizedCalls;
  /** Admits each request (authentication, rate limit). */
  readonly access: AccessControl;
  /** OAuth protected resource metadata to serve (JWT authentication with a public URL). */
  readonly protectedResource?: ProtectedResource;
  readonly catalog: Catalog;
  readonly tokens: SessionTokens;
  readonly inflight: InflightCalls;
  readonly allowedOrigins: readonly string[];
  readonly maxBodyBytes: number;
  /** How long a client may take to send a whole request (headers and body), in ms: then 408 and the connection closed. */
  readonly receiveTimeoutMs: number;
  readonly pageSize: number;
  readonly defaultTimeoutMs: number;
  /** Passes a cancellation to the other routers; resolves to how many cancelled a call. */
  readonly cancelOnPeers: (sessionId: string, requestId: unknown) => Promise<number>;
  readonly metrics: RouterMetrics;
  readonly logger: Logger;
}

export interface McpFrontDoor {
  readonly port: number;
  /** Open notification streams (GET). */
  readonly streams: () => number;
  /**
   * The drain: stop taking new requests (the listener closes; HAProxy retries a
   * refused connection on another router), end the notification streams (clients
   * reopen them elsewhere), and let requests in flight finish within `graceMs`.
   */
  drain(graceMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Protocol versions that define the MCP-Protocol-Version header. */
const HEADER_REQUIRED_FROM = '2025-06-18';

function jsonRpcError(res: http.ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/** A `WWW-Authenticate: Bearer …` challenge (RFC 6750 §3) from its parameters. */
function bearerChallenge(params: Record<string, string | undefined>): string {
  const list = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  return list.length ? `Bearer ${list.map(([k, v]) => `${k}="${v.replace(/["\\]/g, '\\$&')}"`).join(', ')}` : 'Bearer';
}

/** The RFC 9728 well-known URL of a resource: `/.well-known/oauth-protected-resource` inserted before its path. */
export function resourceMetadataUrl(resource: string): string {
  const u = new URL(resource);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return `${u.origin}${PATHS.protectedResourceMetadata}${path}`;
}

/** Who a session belongs to (undefined: authentication off). */
function principalOf(identity: Identity): string | undefined {
  return identity.method === 'anonymous' ? undefined : createHash('sha256').update(identity.key).digest('base64url').slice(0, 22);
}

/** What a JSON-RPC request asks to use: the kind and name the authorization rules judge. */
function askedFor(body: { method?: unknown; params?: { name?: unknown; uri?: unknown } }): { kind: 'tool' | 'prompt' | 'resource'; name: unknown } | undefined {
  if (body.method === 'tools/call') return { kind: 'tool', name: body.params?.name };
  if (body.method === 'prompts/get') return { kind: 'prompt', name: body.params?.name };
  if (body.method === 'resources/read') return { kind: 'resource', name: body.params?.uri };
  return undefined;
}

/** Reads the body up to `max` bytes; undefined when it is larger. */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      req.resume();
      return resolve(undefined);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        return;
      }
      if (!over) chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** What of the catalogue a client's listing shows, to tell a real change from a TTL rebuild. */
function fingerprint(s: CatalogSnapshot): { tools: string; prompts: string; resources: string } {
  const f = (m: ReadonlyMap<string, unknown>, part: (v: never) => unknown) => JSON.stringify([...m.entries()].map(([k, v]) => [k, part(v as never)]).sort());
  return {
    tools: f(s.tools, (t: { tool: unknown }) => t.tool),
    prompts: f(s.prompts, (p: { prompt: unknown }) => p.prompt),
    resources: f(s.resources, (r: { resource: unknown }) => r.resource),
  };
}

export async function startMcpFrontDoor(o: McpFrontDoorOptions): Promise<McpFrontDoor> {
  const streams = new Set<Server>();
  let last = fingerprint(o.catalog.snapshot);
  const onUpdate = (snap: CatalogSnapshot) => {
    const now = fingerprint(snap);
    const changed = { tools: now.tools !== last.tools, prompts: now.prompts !== last.prompts, resources: now.resources !== last.resources };
    last = now;
    for (const server of streams) {
      if (changed.tools) void server.sendToolListChanged().catch(() => undefined);
      if (changed.prompts) void server.sendPromptListChanged().catch(() => undefined);
      if (changed.resources) void server.sendResourceListChanged().catch(() => undefined);
    }
  };
  o.catalog.on('updated', onUpdate);
  const listings = new McpListingCache(o.catalog, o.authorized, o.pageSize);

  /** Verifies a request's session ID; answers the error itself and returns undefined when it is not valid. */
  const sessionOf = (req: http.IncomingMessage, res: http.ServerResponse, access: Access): { id: string; state: SessionState } | undefined => {
    const id = req.headers['mcp-session-id'];
    if (typeof id !== 'string' || id === '') {
      jsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required (send initialize first)');
      return undefined;
    }
    const verified = o.tokens.verify(id);
    // Another caller's session is no session of this caller's.
    const state = typeof verified !== 'string' && verified.principal !== principalOf(access.identity) ? 'malformed' : verified;
    if (typeof state === 'string') {
      // 404 tells the client to start a new session (spec: session management).
      jsonRpcError(res, 404, -32001, state === 'expired' ? 'Session expired' : 'Session not found');
      return undefined;
    }
    const header = req.headers['mcp-protocol-version'];
    if (typeof header === 'string') {
      if (!SUPPORTED_PROTOCOL_VERSIONS.includes(header)) {
        jsonRpcError(res, 400, -32000, `Bad Request: Unsupported protocol version: ${header} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`);
        return undefined;
      }
      if (header !== state.protocolVersion) {
        jsonRpcError(res, 400, -32000, `Bad Request: MCP-Protocol-Version ${header} differs from the session's ${state.protocolVersion}`);
        return undefined;
      }
    } else if (state.protocolVersion >= HEADER_REQUIRED_FROM) {
      jsonRpcError(res, 400, -32000, `Bad Request: MCP-Protocol-Version header is required for protocol ${state.protocolVersion}`);
      return undefined;
    }
    return { id, state };
  };

  /**
   * Ties the calls of one HTTP request to cancellation: a response the client
   * closes before it is finished, or a notifications/cancelled for the call
   * (`nonce` is the session's; without one a call is not registered).
   */
  const trackerFor = (res: http.ServerResponse, nonce: string | undefined): McpHandlerContext['track'] => {
    const closedEarly = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) closedEarly.abort(new CallCancelledError());
    });
    return async (requestId, fn) => {
      const abort = new AbortController();
      const onClose = () => abort.abort(closedEarly.signal.reason);
      if (closedEarly.signal.aborted) onClose();
      closedEarly.signal.addEventListener('abort', onClose, { once: true });
      const end = nonce !== undefined ? o.inflight.begin(nonce, requestId, abort) : () => undefined;
      try {
        return await fn(abort.signal);
      } finally {
        end();
        closedEarly.signal.removeEventListener('abort', onClose);
      }
    };
  };

  /** What the MCP handlers of one request work with. */
  const contextFor = (res: http.ServerResponse, nonce: string | undefined, access: Access): McpHandlerContext => ({
    calls: o.calls,
    access,
    authorized: o.authorized,
    pageSize: o.pageSize,
    defaultTimeoutMs: o.defaultTimeoutMs,
    track: trackerFor(res, nonce),
  });

  /** One SDK server and stateless transport for this request. */
  const serve = async (req: http.IncomingMessage, res: http.ServerResponse, body: unknown, nonce: string | undefined, access: Access, onServer?: (s: Server) => void): Promise<void> => {
    const server = createMcpServer(contextFor(res, nonce, access));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: false, maxRequestBodySize: o.maxBodyBytes });
    transport.onerror = (err) => o.logger.debug({ err: err.message }, 'MCP front door transport error');
    await server.connect(transport);
    res.on('close', () => void server.close().catch(() => undefined));
    onServer?.(server);
    // For a GET this resolves only when the stream ends.
    await transport.handleRequest(req, res, body);
  };

  const pr = o.protectedResource;
  const metadataUrl = pr ? resourceMetadataUrl(pr.resource) : undefined;
  const metadataPaths = pr ? new Set([PATHS.protectedResourceMetadata, new URL(metadataUrl!).pathname]) : new Set<string>();

  /** Answers a refusal of the router's (401, 403, 429) with its challenge; false when `err` is none of them. */
  const refuse = (res: http.ServerResponse, err: unknown, id: unknown = null): boolean => {
    if (res.headersSent) return err instanceof UnauthenticatedError || err instanceof PermissionDeniedError || err instanceof RateLimitedError;
    const send = (status: number, message: string, headers: Record<string, string>) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: JSONRPC_REFUSED, message }, id }));
    if (err instanceof UnauthenticatedError) {
      send(401, `Unauthorized: ${err.message}`, {
        'www-authenticate': bearerChallenge({ ...(err.reason !== 'missing' ? { error: 'invalid_token' } : {}), resource_metadata: metadataUrl }),
      });
      return true;
    }
    if (err instanceof PermissionDeniedError) {
      const scope = err.grantingScopes.length ? err.grantingScopes.join(' ') : undefined;
      send(403, `Forbidden: ${err.message}`, { 'www-authenticate': bearerChallenge({ error: 'insufficient_scope', scope, resource_metadata: metadataUrl }) });
      return true;
    }
    if (err instanceof RateLimitedError) {
      send(429, `Too Many Requests: ${err.message}`, { 'retry-after': String(err.retryAfterSeconds) });
      return true;
    }
    return false;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = (req.url ?? '/').split('?')[0];
    if (metadataPaths.has(url) && (req.method === 'GET' || req.method === 'HEAD')) {
      // RFC 9728 protected resource metadata: where to get a token for this platform.
      const doc = { resource: pr!.resource, authorization_servers: pr!.authorizationServers, bearer_methods_supported: ['header'], scopes_supported: pr!.scopes(), resource_name: 'MCP router platform' };
      return void res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(req.method === 'HEAD' ? undefined : JSON.stringify(doc));
    }
    if (url !== PATHS.mcp) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    const origin = req.headers.origin;
    if (origin !== undefined && !o.allowedOrigins.includes(origin)) {
      return jsonRpcError(res, 403, -32000, `Forbidden: Origin ${JSON.stringify(origin)} is not allowed (MCP_ROUTER_MCP_ALLOWED_ORIGINS)`);
    }
    // While draining, requests are still answered until the listener closes (drain()):
    // HAProxy keeps sending them until its readiness check sees the router leave.

    // Every request is authenticated (the spec: even those of one session).
    let access: Access;
    try {
      const admitted = o.access.admit(req.headersDistinct.authorization ?? []);
      access = admitted instanceof Promise ? await admitted : admitted;
    } catch (err) {
      if (refuse(res, err)) {
        req.resume();
        return;
      }
      throw err;
    }

    if (req.method === 'DELETE') {
      // Sessions live in their IDs: there is nothing to remove here.
      if (sessionOf(req, res, access)) res.writeHead(200).end();
      return;
    }
    if (req.method === 'GET') {
      const session = sessionOf(req, res, access);
      if (!session) return;
      if (!String(req.headers.accept ?? '').includes('text/event-stream')) return jsonRpcError(res, 406, -32000, 'Not Acceptable: Client must accept text/event-stream');
      await serve(req, res, undefined, undefined, access, (server) => {
        streams.add(server);
        res.on('close', () => streams.delete(server));
      });
      return;
    }
    if (req.method !== 'POST') return jsonRpcError(res, 405, -32000, 'Method Not Allowed', { allow: 'GET, POST, DELETE' });

    const raw = await readBody(req, o.maxBodyBytes);
    if (raw === undefined) return jsonRpcError(res, 413, -32000, `Payload Too Large: the body exceeds ${o.maxBodyBytes} bytes (MCP_ROUTER_MCP_MAX_BODY_BYTES)`);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return jsonRpcError(res, 400, -32700, 'Parse error: Invalid JSON');
    }
    if (Array.isArray(body)) return jsonRpcError(res, 400, -32600, 'Invalid Request: JSON-RPC batches are not supported');
    if (typeof body !== 'object' || body === null) return jsonRpcError(res, 400, -32600, 'Invalid Request: not a JSON-RPC message');
    if (nestsDeeperThan(body, MAX_REQUEST_DEPTH)) return jsonRpcError(res, 400, -32600, `Invalid Request: the message nests objects or arrays more than ${MAX_REQUEST_DEPTH} levels deep`);
    const method = (body as { method?: unknown }).method;
    if (typeof method === 'string') (req as { mcpMethod?: string }).mcpMethod = method;

    // Only an initialize is checked as one: a failed schema check builds a zod error (bench:alloc).
    if (method === 'initialize' && isInitializeRequest(body)) {
      const requested = body.params.protocolVersion;
      const negotiated = SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
      const { id } = o.tokens.issue(negotiated, principalOf(access.identity));
      res.setHeader('mcp-session-id', id);
      await serve(req, res, body, undefined, access);
      return;
    }
    const session = sessionOf(req, res, access);
    if (!session) return;
    // A call outside the caller's rights: 403 with the scopes that would grant it (the spec's
    // insufficient_scope challenge), before the request reaches an MCP server.
    const asked = askedFor(body as { method?: unknown; params?: { name?: unknown; uri?: unknown } });
    if (asked && !access.grant.all) {
      try {
        const found = asked.kind === 'tool' ? o.authorized.lookupTool(access, asked.name) : asked.kind === 'prompt' ? o.authorized.lookupPrompt(access, asked.name) : o.authorized.lookupResource(access, asked.name);
        if (found instanceof Promise) await found;
      } catch (err) {
        if (refuse(res, forCaller(err, access.internals), (body as { id?: unknown }).id ?? null)) return;
        // Anything else (unknown name, …) is answered by the MCP handler as a JSON-RPC error.
      }
    }
    const msg = body as { method?: unknown; params?: { requestId?: unknown } };
    if (msg.method === 'notifications/cancelled') {
      const requestId = msg.params?.requestId;
      res.writeHead(202).end();
      if (!o.inflight.cancel(session.state.nonce, requestId, new CallCancelledError())) {
        const n = await o.cancelOnPeers(session.id, requestId).catch(() => 0);
        o.logger.debug({ requestId, cancelledOnPeers: n }, 'cancellation passed to peer routers');
      }
      return;
    }
    // Listings answer from the catalogue's cached JSON, per set of rights (listing-cache.ts); everything else through the SDK.
    if (listings.tryAnswer(req, res, body, access)) return;
    // A tools/call that asked for no progress is answered as one JSON response (json-call.ts).
    const answered = tryAnswerCall(req, res, body, () => contextFor(res, session.state.nonce, access));
    if (answered) return answered;
    await serve(req, res, body, session.state.nonce, access);
  };

  let inflight = 0;
  let idle: (() => void) | undefined;
  // Node checks the receive timeout every connectionsCheckingInterval: a quarter of it, so it holds to ±25 %.
  const httpServer = http.createServer({ connectionsCheckingInterval: Math.max(250, Math.floor(o.receiveTimeoutMs / 4)) }, (req, res) => {
    if (req.method === 'POST') {
      inflight++;
      res.once('close', () => {
        inflight--;
        if (inflight === 0) idle?.();
      });
    }
    // Counted when the response is done: the JSON-RPC method (or GET/DELETE) and the HTTP status.
    res.on('finish', () => {
      const m = (req as { mcpMethod?: string }).mcpMethod ?? req.method ?? 'other';
      o.metrics.countMcpRequest(m, res.statusCode);
    });
    handle(req, res).catch((err: Error) => {
      o.logger.error({ err: err.message }, 'MCP front door request failed');
      jsonRpcError(res, 500, -32603, 'Internal error');
    });
  });
  // A request (headers and body) must arrive whole within receiveTimeoutMs, or Node answers 408 and
  // closes the connection: a client trickling a body cannot hold a connection and its buffer for good.
  // The timeout ends once the request is received, so a tool call streaming progress for minutes,
  // or a GET stream, is not cut by it.
  httpServer.headersTimeout = o.receiveTimeoutMs;
  httpServer.requestTimeout = o.receiveTimeoutMs;
  httpServer.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(o.port, o.address, () => resolve());
  });
  return {
    port: (httpServer.address() as { port: number }).port,
    streams: () => streams.size,
    async drain(graceMs: number) {
      httpServer.close();
      httpServer.closeIdleConnections();
      for (const s of streams) await s.close().catch(() => undefined);
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          timer.unref();
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      httpServer.closeAllConnections();
    },
    async close() {
      o.catalog.off('updated', onUpdate);
      for (const s of streams) await s.close().catch(() => undefined);
      streams.clear();
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeAllConnections();
      await closed;
    },
  };
}
