/**
 * Shared pieces of the hardening suite: the router and the demo MCP server as
 * real processes (their dist/main.js, configured only by the environment), a
 * hostile MCP server built with the official SDK (a real server that
 * misbehaves on purpose: endless pages, huge answers, listings that never
 * end), the router's memory read from /proc, and the `[hardening]` report
 * lines that carry each test's figures.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type CallToolResult,
  type ListToolsResult,
  type ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js';
import { ManagedProcess, waitUntil } from '../../scripts/local-platform/managed-process';
import { createRouterClient, McpRouterClient } from '../../scripts/local-platform/router-client';

export const REPO = path.resolve(__dirname, '..', '..');
export const ROUTER_ENTRY = path.join(REPO, 'router-app', 'dist', 'main.js');
export const DEMO_ENTRY = path.join(REPO, 'examples', 'demo-mcp-server', 'dist', 'main.js');

/** Prints a test's measured figures, so they show in the test log and CI output. */
export function report(item: string, figures: Record<string, unknown>): void {
  process.stdout.write(`[hardening] ${item}: ${JSON.stringify(figures)}\n`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resident and peak resident memory of a process, in MB (VmRSS, VmHWM from /proc). */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

/** A loopback port nothing listens on right now. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, host, () => resolve()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const started = new Set<ManagedProcess>();

/** Kills (SIGKILL) every process this file started that still runs: for afterAll, after a failed test. */
export async function killLeftovers(): Promise<void> {
  await Promise.all([...started].map((p) => p.stop('SIGKILL', 1_000)));
  started.clear();
}

export interface RouterProcess {
  readonly proc: ManagedProcess;
  readonly pid: number;
  /** host:port of the gRPC API */
  readonly target: string;
  readonly adminUrl: string;
  readonly mcpUrl: string;
  readonly client: McpRouterClient;
  /** The "router started" line's fields. */
  readonly startedLine: Record<string, unknown>;
  metrics(): Promise<string>;
  memory(): { rssMb: number; peakMb: number };
  /** Resolves when the router says it is ready (its first catalogue is built). */
  ready(timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The router as a process: no Consul unless `env` says so, every port picked
 * by the kernel on `host`. Resolves at its "router started" line.
 */
export async function startRouterProcess(env: Record<string, string>, host = '127.0.0.1', name = 'router'): Promise<RouterProcess> {
  const proc = new ManagedProcess({
    name,
    command: process.execPath,
    args: [ROUTER_ENTRY],
    env: {
      PATH: process.env.PATH ?? '',
      CONSUL_REGISTER: 'false',
      MCP_BACKEND_DISCOVERY: 'false',
      MCP_ROUTER_BIND_ADDRESS: host,
      MCP_ROUTER_PORT: '0',
      MCP_ROUTER_METRICS_PORT: '0',
      MCP_ROUTER_MCP_PORT: '0',
      MCP_ROUTER_HOSTNAME: name,
      MCP_ROUTER_DRAIN_DELAY_MS: '0',
      LOG_LEVEL: 'info',
      // These tests read the router as its operator does: backend addresses and raw reasons in ListServers.
      MCP_ROUTER_INTERNALS: 'everyone',
      ...env,
    },
    keepLines: 2000,
  });
  started.add(proc);
  const line = await proc.waitForLine((l) => l.includes('"router started"'), 20_000, '"router started" line');
  const fields = JSON.parse(line) as { address: string; metricsPort: number; mcpPort: number };
  const port = fields.address.split(':').pop();
  const target = `${host}:${port}`;
  const adminUrl = `http://${host}:${fields.metricsPort}`;
  const client = createRouterClient(target);
  return {
    proc,
    pid: proc.pid!,
    target,
    adminUrl,
    mcpUrl: `http://${host}:${fields.mcpPort}/mcp`,
    client,
    startedLine: fields,
    metrics: async () => (await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text(),
    memory: () => memoryOf(proc.pid!),
    ready: async (timeoutMs = 20_000) => {
      await proc.waitForLine((l) => l.includes('"router ready"'), timeoutMs, '"router ready" line');
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000) {
      client.close();
      const exit = await proc.stop(signal, timeoutMs);
      started.delete(proc);
      return exit;
    },
  };
}

/** The demo MCP server as a process on `host:port`, registered in Consul when `consul` is given. */
export async function startDemoProcess(o: { name: string; host?: string; port: number; consul?: { address: string; httpPort: number } }): Promise<ManagedProcess> {
  const host = o.host ?? '127.0.0.1';
  const proc = new ManagedProcess({
    name: `demo-${o.name}`,
    command: process.execPath,
    args: [DEMO_ENTRY],
    env: {
      PATH: process.env.PATH ?? '',
      HOST: host,
      PORT: String(o.port),
      SERVER_NAME: o.name,
      ...(o.consul ? { CONSUL_HOST: o.consul.address, CONSUL_PORT: String(o.consul.httpPort) } : {}),
    },
  });
  started.add(proc);
  await proc.waitForLine((l) => l.includes('demo MCP server started'), 20_000, '"demo MCP server started" line');
  return proc;
}

export interface HostileBehaviour {
  /** tools/list: a page for `cursor` (undefined for the first). @default one tool, no next page */
  readonly listTools?: (cursor: string | undefined) => ListToolsResult | Promise<ListToolsResult>;
  /** tools/call @default echoes the tool name */
  readonly callTool?: (name: string, args: Record<string, unknown>) => CallToolResult | Promise<CallToolResult>;
  /** resources/templates/list; given, the server has resources (none listed) and resources/read echoes the URI. @default no resources */
  readonly resourceTemplates?: readonly ResourceTemplate[];
  /**
   * Sees every HTTP request first, with its parsed JSON-RPC body: returns true when it has dealt
   * with the request itself (held it open, destroyed the socket, ...), below the SDK's transport.
   */
  readonly intercept?: (message: { method?: string; id?: unknown } | undefined, req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

export interface HostileServer {
  readonly url: string;
  readonly port: number;
  /** tools/list requests answered so far. */
  readonly listRequests: () => number;
  close(): Promise<void>;
}

/**
 * A real MCP server (the SDK's Server class over its stateless Streamable
 * HTTP transport) whose tools/list and tools/call do what the test says:
 * a misbehaving backend, made for real.
 */
export async function startHostileServer(name: string, behaviour: HostileBehaviour, host = '127.0.0.1'): Promise<HostileServer> {
  let lists = 0;
  const build = () => {
    const templates = behaviour.resourceTemplates;
    const server = new Server({ name, version: '1.0.0' }, { capabilities: { tools: {}, ...(templates ? { resources: {} } : {}) } });
    if (templates) {
      server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: [] }));
      server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: [...templates] }));
      server.setRequestHandler(ReadResourceRequestSchema, async (req) => ({ contents: [{ uri: req.params.uri, text: `read by ${name}` }] }));
    }
    server.setRequestHandler(ListToolsRequestSchema, async (req) => {
      lists++;
      return behaviour.listTools ? behaviour.listTools(req.params?.cursor) : { tools: [{ name: 'ping', inputSchema: { type: 'object' } }] };
    });
    server.setRequestHandler(CallToolRequestSchema, async (req) =>
      behaviour.callTool ? behaviour.callTool(req.params.name, req.params.arguments ?? {}) : { content: [{ type: 'text', text: req.params.name }] },
    );
    return server;
  };
  const httpServer = http.createServer(async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      if (behaviour.intercept?.(body, req, res)) return;
      const server = build();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => void server.close().catch(() => undefined));
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((resolve) => httpServer.listen(0, host, () => resolve()));
  const port = (httpServer.address() as net.AddressInfo).port;
  return {
    url: `http://${host}:${port}/mcp`,
    port,
    listRequests: () => lists,
    async close() {
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

/** Value of a Prometheus sample (`name{labels}`), 0 when absent. */
export function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

export { waitUntil };

/** POSTs a raw JSON-RPC body to the router's MCP door within the session of `transport` (an SDK client's). */
export function postToSession(router: RouterProcess, transport: { sessionId?: string; protocolVersion?: string }, body: unknown): Promise<Response> {
  return fetch(router.mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': transport.protocolVersion ?? '2025-11-25' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The official SDK client, connected to the router's MCP door (initialize done), and its transport (session ID, protocol version). */
export async function connectMcp(router: RouterProcess, name: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(router.mcpUrl));
  await client.connect(transport);
  return { client, transport };
}
