/**
 * A small MCP server (Streamable HTTP, stateful sessions) built with the
 * official SDK: the router's test and demo backend.
 *
 * Tools: echo, add, slow (progress notifications, honours cancellation),
 * fail (isError result), whoami. Resource: demo://<name>/readme. Prompt: greet.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import { z } from 'zod';

export interface DemoServerOptions {
  /** Server name; also the namespace the router gives its tools. @default 'demo' */
  readonly name?: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** @default '/mcp' */
  readonly path?: string;
  /**
   * Keep an event store (the SDK's InMemoryEventStore): every SSE response then
   * opens with a priming event (`id:` + empty `data:`) and streams are resumable.
   * @default false
   */
  readonly eventStore?: boolean;
  /**
   * HTTP status for a request with a session ID this server does not know (a
   * stale session after a restart). The spec says 404; many real servers,
   * the reference server among them, answer 400.
   * @default 404
   */
  readonly unknownSessionStatus?: 400 | 404;
  /** Serve HTTPS with this key and certificate (PEM) instead of plain HTTP. @default plain HTTP */
  readonly tls?: { readonly key: string; readonly cert: string };
  /**
   * Headers every request must carry with exactly these values (e.g. the server's own API
   * key); a request without them gets 401. @default none
   */
  readonly requiredHeaders?: Readonly<Record<string, string>>;
}

export interface DemoServerHandle {
  readonly url: string;
  readonly port: number;
  readonly name: string;
  /** Calls of the slow tool that were cancelled by the client (notifications/cancelled). */
  readonly cancelled: string[];
  /** Number of MCP sessions initialized so far. */
  readonly sessions: () => number;
  /** Headers of the last requests received (at most 200), for tests of what a client forwards. */
  readonly seenHeaders: http.IncomingHttpHeaders[];
  /** Adds a tool at run time (sends notifications/tools/list_changed to every session). */
  addTool(name: string, text: string): void;
  close(): Promise<void>;
}

function createMcpServer(name: string, state: { cancelled: string[]; extraTools: Map<string, string> }): McpServer {
  const server = new McpServer({ name, version: '1.0.0' }, { capabilities: { tools: { listChanged: true }, resources: {}, prompts: {} } });
  server.registerTool('echo', { description: 'Echoes the text back', inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  server.registerTool(
    'add',
    { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() }, outputSchema: { sum: z.number() } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }),
  );
  server.registerTool(
    'slow',
    { description: 'Waits, reporting progress every step', inputSchema: { steps: z.number().int().min(1).max(1000), stepMs: z.number().int().min(1).max(10000) } },
    async ({ steps, stepMs }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        // One abort listener per step, removed when the step ends: a 1,000-step call must not
        // leave 1,000 listeners on its signal.
        await new Promise<void>((resolve, reject) => {
          if (extra.signal.aborted) return reject(new Error('cancelled'));
          const onAbort = () => {
            clearTimeout(t);
            reject(new Error('cancelled'));
          };
          const t = setTimeout(() => {
            extra.signal.removeEventListener('abort', onAbort);
            resolve();
          }, stepMs);
          extra.signal.addEventListener('abort', onAbort, { once: true });
        }).catch((err) => {
          state.cancelled.push(String(extra.requestId));
          throw err;
        });
        if (token !== undefined) {
          await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: steps, message: `step ${i}/${steps}` } });
        }
      }
      return { content: [{ type: 'text', text: `done after ${steps} steps` }] };
    },
  );
  server.registerTool('fail', { description: 'Always fails (isError result)', inputSchema: { reason: z.string().optional() } }, async ({ reason }) => ({
    isError: true,
    content: [{ type: 'text', text: `failed: ${reason ?? 'as requested'}` }],
  }));
  server.registerTool('whoami', { description: 'Name of this server' }, async () => ({ content: [{ type: 'text', text: name }] }));
  for (const [tool, text] of state.extraTools) {
    server.registerTool(tool, { description: `added at run time` }, async () => ({ content: [{ type: 'text', text }] }));
  }
  server.registerResource('readme', `demo://${name}/readme`, { description: 'About this server', mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: `This is the ${name} demo MCP server.` }],
  }));
  server.registerPrompt('greet', { description: 'Greets someone', argsSchema: { who: z.string() } }, ({ who }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Say hello to ${who} from ${name}.` } }],
  }));
  return server;
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (chunks.length === 0) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startDemoServer(options: DemoServerOptions = {}): Promise<DemoServerHandle> {
  const name = options.name ?? 'demo';
  const host = options.host ?? '127.0.0.1';
  const mcpPath = options.path ?? '/mcp';
  const state = { cancelled: [] as string[], extraTools: new Map<string, string>() };
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();
  let sessionCount = 0;

  const seenHeaders: http.IncomingHttpHeaders[] = [];
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    try {
      seenHeaders.push(req.headers);
      if (seenHeaders.length > 200) seenHeaders.shift();
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/healthz') {
        res.writeHead(200).end('ok');
        return;
      }
      if (url.pathname !== mcpPath) {
        res.writeHead(404).end();
        return;
      }
      for (const [name, value] of Object.entries(options.requiredHeaders ?? {})) {
        if (req.headers[name.toLowerCase()] !== value) {
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unauthorized' }));
          return;
        }
      }
      const sid = req.headers['mcp-session-id'];
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const existing = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (existing) {
        await existing.transport.handleRequest(req, res, body);
        return;
      }
      if (sid === undefined && req.method === 'POST' && isInitializeRequest(body)) {
        const server = createMcpServer(name, state);
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          eventStore: options.eventStore ? new InMemoryEventStore() : undefined,
          onsessioninitialized: (id) => {
            sessions.set(id, { transport, server });
            sessionCount++;
          },
        });
        transport.onclose = () => {
          if (transport.sessionId) sessions.delete(transport.sessionId);
        };
        await server.connect(transport);
        await transport.handleRequest(req, res, body);
        return;
      }
      // Unknown session (e.g. after a restart): 404 tells the client to start a new one
      // (some servers answer 400 instead; unknownSessionStatus reproduces them).
      const status = sid ? (options.unknownSessionStatus ?? 404) : 400;
      res.writeHead(status, { 'content-type': 'application/json' }).end(
        JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: sid ? (status === 404 ? 'Session not found' : 'Bad Request: No valid session ID provided') : 'No session: send initialize first' }, id: null }),
      );
    } catch (err) {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    }
  };
  const httpServer: http.Server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler) : http.createServer(handler);
  httpServer.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (httpServer.address() as { port: number }).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${port}${mcpPath}`,
    port,
    name,
    cancelled: state.cancelled,
    sessions: () => sessionCount,
    seenHeaders,
    addTool(tool: string, text: string) {
      state.extraTools.set(tool, text);
      for (const { server } of sessions.values()) {
        server.registerTool(tool, { description: 'added at run time' }, async () => ({ content: [{ type: 'text', text }] }));
      }
    },
    async close() {
      for (const { transport } of sessions.values()) await transport.close().catch(() => undefined);
      sessions.clear();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
