/**
 * MCP servers built with the official SDK (@modelcontextprotocol/sdk, the
 * version in package.json) in each Streamable HTTP mode the SDK offers, all
 * with the same features so one test table drives them all:
 *
 *   stateful       sessions, SSE responses, no event store (the SDK default)
 *   event-store    sessions + the SDK's InMemoryEventStore: every SSE response
 *                  opens with a priming event (`id:` + `retry:` + empty `data:`),
 *                  and keep-alive comments every 50 ms
 *   stateless      sessionIdGenerator undefined: no session ID at all, a new
 *                  server per request (the SDK's stateless pattern)
 *   json-response  sessions + enableJsonResponse: application/json bodies
 *   chatty         sessions, SSE; every tool call gets two log messages
 *                  (notifications/message) on its own SSE stream before its
 *                  response
 *
 * How a stateful server answers a request for a session it does not know
 * (after a restart) is configurable: 400 (what the SDK's own examples and
 * server-everything answer) or 404 (what the spec asks for).
 *
 * Each server records what it saw (sessions, cancellations) so tests can check
 * the router's side effects, not just its answers.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export type SdkServerMode = 'stateful' | 'event-store' | 'stateless' | 'json-response' | 'chatty';
export const SDK_SERVER_MODES: readonly SdkServerMode[] = ['stateful', 'event-store', 'stateless', 'json-response', 'chatty'];

/** A 1x1 PNG, made here (not fetched). */
export const TINY_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

export interface SdkServerOptions {
  /** serverInfo.name and the URI authority of its resources. */
  readonly name: string;
  readonly mode: SdkServerMode;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default '/mcp' */
  readonly path?: string;
  /** HTTP status for a request naming an unknown session. @default 404 */
  readonly unknownSessionStatus?: 400 | 404;
}

export interface SdkServerHandle {
  readonly name: string;
  readonly mode: SdkServerMode;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Request ids of `progress` calls the client cancelled (notifications/cancelled reached the tool). */
  readonly cancelled: string[];
  /**
   * notifications/cancelled messages received for requests of `method` (stateless: they cannot
   * reach the tool's server instance). Matched by session and request ID; a cancel of another
   * request (a catalogue listing that timed out on a loaded machine) is not counted. Stateless
   * mode has no session: IDs of different routers' clients can coincide, so there a cancel
   * counts for every method sent under its ID.
   */
  cancelNotifications(method?: string): number;
  /** initialize requests answered so far. */
  initializeCount(): number;
  /** Requests answered with the unknown-session status so far. */
  staleSessionAnswers(): number;
  /** Drops every session, as a restart faster than any health check would. */
  forgetSessions(): Promise<void>;
  close(): Promise<void>;
}

interface State {
  readonly name: string;
  readonly mode: SdkServerMode;
  readonly cancelled: string[];
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new Error('cancelled'));
    }, { once: true });
  });

function createServer(state: State): McpServer {
  const { name, mode } = state;
  const server = new McpServer(
    { name, version: '1.0.0', title: `SDK server (${mode})` },
    { capabilities: { tools: {}, resources: {}, prompts: {}, logging: {} } },
  );
  const readme = `sdk://${name}/readme`;
  const logo = `sdk://${name}/logo.png`;

  /** chatty: log messages on the request's own stream before its response. */
  const chatter = async (extra: { requestId: string | number; sendNotification: (n: any) => Promise<void> }) => {
    if (mode !== 'chatty') return;
    for (const level of ['info', 'warning'] as const) {
      await extra.sendNotification({ method: 'notifications/message', params: { level, logger: name, data: `${level} before the response to ${extra.requestId}` } });
    }
  };

  server.registerTool('echo', { title: 'Echo', description: 'Echoes the text back', inputSchema: { text: z.string() } }, async ({ text }, extra) => {
    await chatter(extra);
    return { content: [{ type: 'text', text }] };
  });
  server.registerTool(
    'structured',
    {
      description: 'Sum and product, as structured content',
      inputSchema: { a: z.number(), b: z.number() },
      outputSchema: { sum: z.number(), product: z.number() },
    },
    async ({ a, b }, extra) => {
      await chatter(extra);
      const out = { sum: a + b, product: a * b };
      return { content: [{ type: 'text', text: JSON.stringify(out) }], structuredContent: out };
    },
  );
  server.registerTool('image', { description: 'A 1x1 PNG' }, async (extra) => {
    await chatter(extra);
    return { content: [{ type: 'text', text: 'an image:' }, { type: 'image', data: TINY_PNG_BASE64, mimeType: 'image/png' }] };
  });
  server.registerTool('links', { description: 'Resource links to this server\'s resources' }, async (extra) => {
    await chatter(extra);
    return {
      content: [
        { type: 'resource_link', uri: readme, name: 'readme', mimeType: 'text/plain' },
        { type: 'resource_link', uri: logo, name: 'logo.png', mimeType: 'image/png' },
        { type: 'resource', resource: { uri: readme, mimeType: 'text/plain', text: `readme of ${name}` } },
      ],
    };
  });
  server.registerTool(
    'progress',
    { description: 'Reports progress every step; honours cancellation', inputSchema: { steps: z.number().int().min(1).max(100), stepMs: z.number().int().min(1).max(5000) } },
    async ({ steps, stepMs }, extra) => {
      await chatter(extra);
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        try {
          await sleep(stepMs, extra.signal);
        } catch (err) {
          state.cancelled.push(String(extra.requestId));
          throw err;
        }
        if (token !== undefined) {
          await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: steps, message: `step ${i}/${steps}` } });
        }
      }
      return { content: [{ type: 'text', text: `done after ${steps} steps` }] };
    },
  );
  server.registerTool('fails', { description: 'A tool error (isError)', inputSchema: { reason: z.string().optional() } }, async ({ reason }, extra) => {
    await chatter(extra);
    return { isError: true, content: [{ type: 'text', text: `failed: ${reason ?? 'as asked'}` }] };
  });

  server.registerResource('readme', readme, { description: 'About this server', mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: `readme of ${name}` }],
  }));
  server.registerResource('logo', logo, { description: 'A 1x1 PNG', mimeType: 'image/png' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'image/png', blob: TINY_PNG_BASE64 }],
  }));

  server.registerResource(
    'item',
    new ResourceTemplate(`sdk://${name}/items/{id}`, { list: undefined }),
    { description: 'Item {id}', mimeType: 'text/plain' },
    async (uri, { id }) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: `item ${String(id)} of ${name}` }] }),
  );

  server.registerPrompt('plain', { description: 'A prompt without arguments' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: `plain prompt of ${name}` } }],
  }));
  server.registerPrompt(
    'with-args',
    { description: 'A prompt with a required and an optional argument', argsSchema: { topic: z.string(), style: z.string().optional() } },
    ({ topic, style }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `write about ${topic}${style ? ` in the style of ${style}` : ''}` } }],
    }),
  );
  return server;
}

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 4 * 1024 * 1024) throw new Error('request body over 4 MiB');
    chunks.push(c as Buffer);
  }
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

export async function startSdkServer(options: SdkServerOptions): Promise<SdkServerHandle> {
  const host = options.host ?? '127.0.0.1';
  const mcpPath = options.path ?? '/mcp';
  const unknownStatus = options.unknownSessionStatus ?? 404;
  const state: State = { name: options.name, mode: options.mode, cancelled: [] };
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();
  let initializes = 0;
  let staleAnswers = 0;
  /** The method of each request, by session and JSON-RPC ID; the method each notifications/cancelled referred to. */
  const methods = new Map<string, Set<string>>();
  const cancelledMethods: Array<Set<string>> = [];

  const transportOptions = () => ({
    sessionIdGenerator: options.mode === 'stateless' ? undefined : () => randomUUID(),
    enableJsonResponse: options.mode === 'json-response',
    ...(options.mode === 'event-store' ? { eventStore: new InMemoryEventStore(), retryInterval: 1000, keepAliveMs: 50 } : {}),
  });

  const httpServer = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== mcpPath) {
        res.writeHead(404).end();
        return;
      }
      const body = req.method === 'POST' ? await readBody(req) : undefined;
      if (isInitializeRequest(body)) initializes++;
      const msg = body as { method?: unknown; id?: unknown; params?: { requestId?: unknown } } | undefined;
      const session = String(req.headers['mcp-session-id'] ?? '');
      if (typeof msg?.method === 'string' && msg.id !== undefined) {
        const key = `${session}|${String(msg.id)}`;
        methods.set(key, (methods.get(key) ?? new Set()).add(msg.method));
      }
      if (msg?.method === 'notifications/cancelled') cancelledMethods.push(methods.get(`${session}|${String(msg.params?.requestId)}`) ?? new Set());

      if (options.mode === 'stateless') {
        if (req.method !== 'POST') {
          res.writeHead(405, { allow: 'POST' }).end();
          return;
        }
        const server = createServer(state);
        const transport = new StreamableHTTPServerTransport(transportOptions());
        res.on('close', () => {
          void transport.close();
          void server.close();
        });
        await server.connect(transport);
        await transport.handleRequest(req, res, body);
        return;
      }

      const sid = req.headers['mcp-session-id'];
      const existing = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (existing) {
        await existing.transport.handleRequest(req, res, body);
        return;
      }
      if (sid === undefined && req.method === 'POST' && isInitializeRequest(body)) {
        const server = createServer(state);
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          ...transportOptions(),
          onsessioninitialized: (id) => {
            sessions.set(id, { transport, server });
          },
        });
        transport.onclose = () => {
          if (transport.sessionId) sessions.delete(transport.sessionId);
        };
        await server.connect(transport);
        await transport.handleRequest(req, res, body);
        return;
      }
      staleAnswers++;
      const message = unknownStatus === 400 ? 'Bad Request: No valid session ID provided' : 'Session not found';
      res
        .writeHead(unknownStatus, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', error: { code: unknownStatus === 400 ? -32000 : -32001, message }, id: (body as { id?: unknown })?.id ?? null }));
    } catch (err) {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    }
  });
  httpServer.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (httpServer.address() as { port: number }).port;

  const dropSessions = async () => {
    const all = [...sessions.values()];
    sessions.clear();
    for (const { transport } of all) {
      transport.onclose = undefined;
      await transport.close().catch(() => undefined);
    }
  };

  return {
    name: options.name,
    mode: options.mode,
    host,
    port,
    url: `http://${host}:${port}${mcpPath}`,
    cancelled: state.cancelled,
    initializeCount: () => initializes,
    staleSessionAnswers: () => staleAnswers,
    cancelNotifications: (method?: string) => cancelledMethods.filter((m) => method === undefined || m.has(method)).length,
    forgetSessions: dropSessions,
    async close() {
      await dropSessions();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
