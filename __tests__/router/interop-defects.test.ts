/**
 * Defects found against real third-party MCP servers (issue: interoperability),
 * each reproduced here with a real SDK server behaving like the reference
 * server does, and a real router and gRPC client.
 */
import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { fromListValue } from '../../router-app/src/grpc/struct';
import { unary } from '../../scripts/local-platform/router-client';
import { closedPort, eventually, routerFor, sleep, startDemoServer, struct } from '../support/demo-backends';

jest.setTimeout(60_000);

interface StreamOutcome {
  readonly events: any[];
  readonly code: grpc.status;
  readonly details: string;
  readonly ms: number;
}

function streamCall(client: any, name: string, args: Record<string, unknown>, deadlineMs?: number): Promise<StreamOutcome> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const out: any[] = [];
    const s = client.CallToolStream({ name, arguments: struct(args) }, new grpc.Metadata(), deadlineMs ? { deadline: Date.now() + deadlineMs } : {});
    s.on('data', (d: any) => out.push(d));
    s.on('error', (e: grpc.ServiceError) => resolve({ events: out, code: e.code, details: e.details, ms: Date.now() - t0 }));
    s.on('end', () => resolve({ events: out, code: grpc.status.OK, details: '', ms: Date.now() - t0 }));
  });
}

const text = (res: any) => (fromListValue(res.content)[0] as { text: string }).text;

describe('SSE priming events (SDK server with an event store, protocol 2025-11-25)', () => {
  test('initialize, listing, unary and streamed calls all work', async () => {
    const backend = await startDemoServer({ name: 'primed', eventStore: true });
    const r = await routerFor([{ name: 'primed', url: backend.url }]);
    try {
      const tools = await unary(r.client, 'ListTools', {});
      expect(tools.tools.map((t: any) => t.name)).toContain('primed__echo');
      expect(text(await unary(r.client, 'CallTool', { name: 'primed__echo', arguments: struct({ text: 'hi' }) }))).toBe('hi');
      const s = await streamCall(r.client, 'primed__slow', { steps: 3, stepMs: 10 }, 10_000);
      expect(s.code).toBe(grpc.status.OK);
      expect(s.events.map((e) => e.event)).toEqual(['progress', 'progress', 'progress', 'result']);
      const servers = await unary(r.client, 'ListServers', {});
      expect(servers.servers[0]).toMatchObject({ healthy: true, lastError: '' });
    } finally {
      await r.close();
      await backend.close();
    }
  });
});

describe('CallToolStream ends with the right status within milliseconds', () => {
  let backend: Awaited<ReturnType<typeof startDemoServer>>;
  let r: Awaited<ReturnType<typeof routerFor>>;
  let deadPort: number;
  beforeAll(async () => {
    backend = await startDemoServer({ name: 'live' });
    deadPort = await closedPort();
    r = await routerFor([
      { name: 'live', url: backend.url },
      { name: 'dead', url: `http://127.0.0.1:${deadPort}/mcp` },
    ], {}, 1);
  });
  afterAll(async () => {
    await r?.close();
    await backend?.close();
  });

  const cases: Array<[string, string, Record<string, unknown>, grpc.status]> = [
    ['unknown tool', 'live__nope', {}, grpc.status.NOT_FOUND],
    ['missing name', '', {}, grpc.status.INVALID_ARGUMENT],
    ['invalid arguments', 'live__echo', { text: 5 }, grpc.status.INVALID_ARGUMENT],
    ['backend down', 'dead__echo', { text: 'x' }, grpc.status.UNAVAILABLE],
  ];
  for (const [label, name, args, code] of cases) {
    test(`${label} -> ${grpc.status[code]} with a 10 s deadline, and with none`, async () => {
      for (const deadline of [10_000, undefined]) {
        const s = await Promise.race([
          streamCall(r.client, name, args, deadline),
          sleep(3_000).then(() => ({ events: [], code: -1 as grpc.status, details: 'no status within 3 s', ms: 3000 })),
        ]);
        expect({ code: grpc.status[s.code] ?? s.code, events: s.events.length }).toEqual({ code: grpc.status[code], events: 0 });
        expect(s.ms).toBeLessThan(1_500);
        expect(s.details).not.toBe('');
      }
    });
  }

  test('a client cancel is counted as CANCELLED, not DEADLINE_EXCEEDED', async () => {
    const metrics = async () => {
      const res = await fetch(`http://127.0.0.1:${r.router.metricsPort}/metrics`);
      return res.text();
    };
    const count = (m: string, code: string) => Number(new RegExp(`mcp_router_grpc_calls_total\\{method="CallTool",code="${code}"\\} (\\d+)`).exec(m)?.[1] ?? 0);
    const before = await metrics();
    const code = await new Promise<grpc.status>((resolve) => {
      const c = r.client.CallTool({ name: 'live__slow', arguments: struct({ steps: 50, stepMs: 50 }) }, new grpc.Metadata(), { deadline: Date.now() + 20_000 }, (err: grpc.ServiceError | null) => resolve(err ? err.code : grpc.status.OK));
      setTimeout(() => c.cancel(), 200);
    });
    expect(code).toBe(grpc.status.CANCELLED);
    expect(await eventually(async () => count(await metrics(), 'CANCELLED') === count(before, 'CANCELLED') + 1, 3000)).toBe(true);
    expect(count(await metrics(), 'DEADLINE_EXCEEDED')).toBe(count(before, 'DEADLINE_EXCEEDED'));
  });
});

describe('a backend restarted faster than its health check: stale session recovered', () => {
  for (const status of [400, 404] as const) {
    test(`stale session answered with HTTP ${status}: the next call re-initializes and succeeds, on every kind of request`, async () => {
      let backend = await startDemoServer({ name: 'flappy', unknownSessionStatus: status });
      const port = backend.port;
      const r = await routerFor([{ name: 'flappy', url: backend.url }]);
      try {
        expect(text(await unary(r.client, 'CallTool', { name: 'flappy__echo', arguments: struct({ text: 'before' }) }))).toBe('before');
        await backend.close();
        backend = await startDemoServer({ name: 'flappy', port, unknownSessionStatus: status });
        // Each request kind on the stale session: a call, a streamed call, a resource, a prompt, and the listing.
        expect(text(await unary(r.client, 'CallTool', { name: 'flappy__echo', arguments: struct({ text: 'after' }) }))).toBe('after');
        await backend.close();
        backend = await startDemoServer({ name: 'flappy', port, unknownSessionStatus: status });
        const s = await streamCall(r.client, 'flappy__slow', { steps: 2, stepMs: 5 }, 10_000);
        expect(s.code).toBe(grpc.status.OK);
        await backend.close();
        backend = await startDemoServer({ name: 'flappy', port, unknownSessionStatus: status });
        const res = await unary(r.client, 'ReadResource', { uri: 'demo://flappy/readme' });
        expect(fromListValue(res.contents)).toHaveLength(1);
        await backend.close();
        backend = await startDemoServer({ name: 'flappy', port, unknownSessionStatus: status });
        const p = await unary(r.client, 'GetPrompt', { name: 'flappy__greet', arguments: { who: 'x' } });
        expect(fromListValue(p.messages)).toHaveLength(1);
        await backend.close();
        backend = await startDemoServer({ name: 'flappy', port, unknownSessionStatus: status });
        backend.addTool('late', 'added after restart');
        void r.router.catalog.refresh('test');
        expect(await eventually(async () => (await unary(r.client, 'ListTools', {})).tools.some((t: any) => t.name === 'flappy__late'), 5_000)).toBe(true);
        // 10 calls in a row after all that: all fine, and a new session per restart, not per call.
        for (let i = 0; i < 10; i++) expect(text(await unary(r.client, 'CallTool', { name: 'flappy__echo', arguments: struct({ text: `n${i}` }) }))).toBe(`n${i}`);
        expect(backend.sessions()).toBe(1);
      } finally {
        await r.close();
        await backend.close();
      }
    });
  }
});

describe('ajv', () => {
  test('formats are checked (uri, date-time) and ajv writes nothing to stdout', async () => {
    // Stateless, as the SDK documents it: a server and transport per request.
    const httpServer = http.createServer(async (req, res) => {
      const server = new McpServer({ name: 'formats', version: '1.0.0' });
      server.registerTool('fetch', { inputSchema: { url: z.url(), when: z.iso.datetime() } }, async ({ url }) => ({ content: [{ type: 'text', text: url }] }));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => void server.close());
      await server.connect(transport);
      await transport.handleRequest(req, res);
    });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(httpServer.address() as { port: number }).port}/mcp`;
    const writes: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    (process.stdout as any).write = (chunk: any, ...rest: any[]) => {
      writes.push(String(chunk));
      return original(chunk, ...rest);
    };
    const r = await routerFor([{ name: 'formats', url }]);
    try {
      const bad = await unary(r.client, 'CallTool', { name: 'formats__fetch', arguments: struct({ url: 'not a url', when: 'yesterday' }) }).catch((e) => e);
      expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(bad.details).toMatch(/format/);
      const good = await unary(r.client, 'CallTool', { name: 'formats__fetch', arguments: struct({ url: 'https://example.test/x', when: '2026-11-29T10:00:00Z' }) });
      expect(text(good)).toBe('https://example.test/x');
    } finally {
      (process.stdout as any).write = original;
      await r.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    }
    expect(writes.filter((w) => /unknown format|ignored/.test(w))).toEqual([]);
  });
});

describe('resource templates', () => {
  test('ListResourceTemplates lists them; ReadResource routes a URI matching one to its server; a URI matching none is NOT_FOUND', async () => {
    const httpServer = http.createServer(async (req, res) => {
      const server = new McpServer({ name: 'items', version: '1.0.0' });
      server.registerResource('item', new ResourceTemplate('items://{id}', { list: undefined }), { description: 'An item by id', mimeType: 'text/plain' }, async (uri, vars) => ({
        contents: [{ uri: uri.href, mimeType: 'text/plain', text: `item ${String(vars.id)}` }],
      }));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => void server.close());
      await server.connect(transport);
      await transport.handleRequest(req, res);
    });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(httpServer.address() as { port: number }).port}/mcp`;
    const r = await routerFor([{ name: 'items', url }], {}, 0);
    try {
      await eventually(() => r.router.catalog.snapshot.resourceTemplates.length > 0, 10_000);
      const list = await unary(r.client, 'ListResourceTemplates', {});
      expect(list.resourceTemplates).toEqual([{ uriTemplate: 'items://{id}', name: 'item', server: 'items', title: '', description: 'An item by id', mimeType: 'text/plain' }]);
      const read = await unary(r.client, 'ReadResource', { uri: 'items://42' });
      expect(fromListValue(read.contents)).toEqual([{ uri: 'items://42', mimeType: 'text/plain', text: 'item 42' }]);
      expect(read.server).toBe('items');
      const missing = await unary(r.client, 'ReadResource', { uri: 'other://42' }).catch((e: grpc.ServiceError) => e);
      expect((missing as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    } finally {
      await r.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    }
  });
});
