/**
 * The router's MCP front door with the official SDK client and raw HTTP:
 * every method, progress, cancellation, pagination, list changes, every
 * protocol version the SDK negotiates, sessions that any router with the same
 * keys accepts (and a cancellation passed between routers through Consul),
 * and every kind of bad input answered with a JSON-RPC error.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SUPPORTED_PROTOCOL_VERSIONS, LATEST_PROTOCOL_VERSION, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig } from '../../router-app/src/config';
import { SessionTokens } from '../../router-app/src/http/session-token';
import { startRouter, RouterHandle } from '../../router-app/src/router';
import { waitUntil } from '../../scripts/local-platform/managed-process';
import { startConsulAgent } from '../support/consul-agent';
import { DemoServerHandle, eventually, routerFor, RouterUnderTest, sleep, startDemoServer } from '../support/demo-backends';

jest.setTimeout(90_000);

const KEYS = 'k2=' + 'b'.repeat(40) + ',k1=' + 'a'.repeat(40);
let demo: DemoServerHandle;
let r: RouterUnderTest;
let url: string;

beforeAll(async () => {
  demo = await startDemoServer({ name: 'demo' });
  r = await routerFor([{ name: 'demo', url: demo.url }], { MCP_ROUTER_SESSION_KEYS: KEYS, MCP_ROUTER_MCP_PAGE_SIZE: '2', MCP_ROUTER_MCP_ALLOWED_ORIGINS: 'http://localhost:6274', MCP_ROUTER_MCP_MAX_BODY_BYTES: '4096' });
  url = `http://127.0.0.1:${r.router.mcpPort}/mcp`;
});
afterAll(async () => {
  await r?.close();
  await demo?.close();
});

async function connect(target = url, sessionId?: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: 'front-door-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(target), sessionId ? { sessionId } : {});
  await client.connect(transport);
  return { client, transport };
}

/** A raw JSON-RPC POST; returns status, headers and the parsed body (JSON, or the messages of an SSE body). */
async function post(body: unknown, headers: Record<string, string> = {}, target = url) {
  const res = await fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any;
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    parsed = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    parsed = parsed.length === 1 ? parsed[0] : parsed;
  } else {
    parsed = text ? JSON.parse(text) : undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

const initialize = (protocolVersion: string, target = url) =>
  post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }, {}, target);

describe('the SDK client', () => {
  test('lists and calls tools, lists and reads resources and prompts, with the gRPC names', async () => {
    const { client } = await connect();
    try {
      expect(client.getServerVersion()).toMatchObject({ name: 'mcp-router' });
      const tools = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const p = await client.listTools(cursor ? { cursor } : {});
        tools.push(...p.tools);
        cursor = p.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3); // 5 tools, pages of 2
      expect(tools.map((t) => t.name)).toEqual(['demo__add', 'demo__echo', 'demo__fail', 'demo__slow', 'demo__whoami']);
      expect(tools.find((t) => t.name === 'demo__echo')?.inputSchema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } } });
      expect(await client.callTool({ name: 'demo__echo', arguments: { text: 'hi' } })).toEqual({ content: [{ type: 'text', text: 'hi' }] });
      expect(await client.callTool({ name: 'demo__add', arguments: { a: 2, b: 3 } })).toMatchObject({ structuredContent: { sum: 5 } });
      expect(await client.callTool({ name: 'demo__fail', arguments: {} })).toMatchObject({ isError: true });
      const resources = await client.listResources();
      expect(resources.resources.map((x) => x.uri)).toEqual(['demo://demo/readme']);
      expect((await client.readResource({ uri: 'demo://demo/readme' })).contents[0]).toMatchObject({ text: 'This is the demo demo MCP server.' });
      expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['demo__greet']);
      const prompt = await client.getPrompt({ name: 'demo__greet', arguments: { who: 'Ada' } });
      expect(prompt.messages[0]).toMatchObject({ role: 'user', content: { type: 'text', text: 'Say hello to Ada from demo.' } });
      expect((await client.listResourceTemplates()).resourceTemplates).toEqual([]); // the demo server has none
    } finally {
      await client.close();
    }
  });

  test('progress notifications stream while a call runs', async () => {
    const { client } = await connect();
    try {
      const progress: number[] = [];
      const res = await client.callTool({ name: 'demo__slow', arguments: { steps: 4, stepMs: 20 } }, undefined, { onprogress: (p) => progress.push(p.progress) });
      expect(res).toEqual({ content: [{ type: 'text', text: 'done after 4 steps' }] });
      expect(progress).toEqual([1, 2, 3, 4]);
    } finally {
      await client.close();
    }
  });

  test('a cancelled call is cancelled on the backend', async () => {
    const { client } = await connect();
    try {
      const before = demo.cancelled.length;
      const ac = new AbortController();
      const call = client.callTool({ name: 'demo__slow', arguments: { steps: 100, stepMs: 50 } }, undefined, { signal: ac.signal });
      setTimeout(() => ac.abort(new Error('user cancelled')), 300);
      await expect(call).rejects.toThrow();
      expect(await eventually(() => demo.cancelled.length === before + 1, 3000)).toBe(true);
    } finally {
      await client.close();
    }
  });

  test('errors: unknown tool, invalid arguments, unknown resource, missing prompt argument', async () => {
    const { client } = await connect();
    try {
      await expect(client.callTool({ name: 'demo__nope', arguments: {} })).rejects.toMatchObject({ code: -32602 });
      await expect(client.callTool({ name: 'demo__echo', arguments: { text: 5 } })).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/invalid arguments for tool demo__echo/) });
      await expect(client.readResource({ uri: 'demo://nope' })).rejects.toMatchObject({ code: -32002 });
      await expect(client.getPrompt({ name: 'demo__greet', arguments: {} })).rejects.toMatchObject({ code: -32602 });
    } finally {
      await client.close();
    }
  });

  test("a backend's tools/list_changed reaches a connected client", async () => {
    const { client } = await connect();
    try {
      let changed = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        changed++;
      });
      // The SDK client opens its notification stream (GET) after initialize.
      await waitUntil('the GET stream is open', async () => r.router.mcpStreams() > 0, 5_000);
      demo.addTool('late', 'added later');
      expect(await eventually(() => changed > 0, 10_000)).toBe(true);
      const names = [];
      let cursor: string | undefined;
      do {
        const p = await client.listTools(cursor ? { cursor } : {});
        names.push(...p.tools.map((t) => t.name));
        cursor = p.nextCursor;
      } while (cursor);
      expect(names).toContain('demo__late');
    } finally {
      await client.close();
    }
  });
});

describe('protocol versions', () => {
  test.each(SUPPORTED_PROTOCOL_VERSIONS)('%s is negotiated and then required in the header where the spec says so', async (version) => {
    const init = await initialize(version);
    expect(init.status).toBe(200);
    expect(init.body.result.protocolVersion).toBe(version);
    const sid = init.headers.get('mcp-session-id')!;
    expect(sid).toMatch(/^v1\.k2\./);
    const withHeader = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': sid, 'mcp-protocol-version': version });
    expect(withHeader.body.result.tools.length).toBeGreaterThan(0);
    const without = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': sid });
    expect(without.status).toBe(version >= '2025-06-18' ? 400 : 200);
  });

  test('an unknown version asked at initialize gets the latest', async () => {
    const init = await initialize('1999-01-01');
    expect(init.body.result.protocolVersion).toBe(LATEST_PROTOCOL_VERSION);
  });
});

describe('bad input gets a JSON-RPC error, never a crash or a hung stream', () => {
  let sid: string;
  const h = () => ({ 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION });
  beforeAll(async () => {
    sid = (await initialize(LATEST_PROTOCOL_VERSION)).headers.get('mcp-session-id')!;
  });

  test('a body over the limit -> 413', async () => {
    const res = await post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'demo__echo', arguments: { text: 'x'.repeat(10_000) } } }, h());
    expect(res.status).toBe(413);
    expect(res.body.error.message).toMatch(/exceeds 4096 bytes/);
  });
  test('invalid JSON -> -32700', async () => {
    const res = await post('{"jsonrpc":', h());
    expect([res.status, res.body.error.code]).toEqual([400, -32700]);
  });
  test('a batch -> -32600', async () => {
    const res = await post([{ jsonrpc: '2.0', id: 1, method: 'tools/list' }], h());
    expect([res.status, res.body.error.code]).toEqual([400, -32600]);
  });
  test('an unknown method -> -32601', async () => {
    const res = await post({ jsonrpc: '2.0', id: 1, method: 'no/such/method' }, h());
    expect(res.body.error.code).toBe(-32601);
  });
  test('no session, a forged one, one signed with an unknown key -> 400, 404, 404', async () => {
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-protocol-version': LATEST_PROTOCOL_VERSION })).status).toBe(400);
    const forged = sid.replace(/\.[^.]+$/, '.' + 'A'.repeat(43));
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...h(), 'mcp-session-id': forged })).status).toBe(404);
    const stranger = new SessionTokens([{ id: 'k2', secret: 'c'.repeat(40) }], 60_000).issue(LATEST_PROTOCOL_VERSION).id;
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...h(), 'mcp-session-id': stranger })).body.error.code).toBe(-32001);
  });
  test('an unsupported or mismatched MCP-Protocol-Version -> 400', async () => {
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...h(), 'mcp-protocol-version': '2099-01-01' })).status).toBe(400);
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...h(), 'mcp-protocol-version': '2025-03-26' })).status).toBe(400);
  });
  test('a wrong Accept -> 406', async () => {
    const res = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...h(), accept: 'application/json' });
    expect(res.status).toBe(406);
  });
  test('an Origin outside the allow-list -> 403; an allowed one passes', async () => {
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...h(), origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...h(), origin: 'http://localhost:6274' })).status).toBe(200);
  });
  test('PUT -> 405; DELETE with a session -> 200; another path -> 404', async () => {
    expect((await fetch(url, { method: 'PUT' })).status).toBe(405);
    expect((await fetch(url, { method: 'DELETE', headers: h() })).status).toBe(200);
    expect((await fetch(url.replace('/mcp', '/other'), { method: 'POST' })).status).toBe(404);
  });
});

describe('listings answer from the cached catalogue JSON (http/listing-cache.ts)', () => {
  let sid: string;
  const h = () => ({ 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION });
  beforeAll(async () => {
    sid = (await initialize(LATEST_PROTOCOL_VERSION)).headers.get('mcp-session-id')!;
  });

  test('as one JSON response echoing the request id, paged like the SDK path', async () => {
    const first = await post({ jsonrpc: '2.0', id: 'list-1', method: 'tools/list', params: {} }, h());
    expect(first.headers.get('content-type')).toBe('application/json');
    expect(first.body).toMatchObject({ jsonrpc: '2.0', id: 'list-1' });
    const names: string[] = first.body.result.tools.map((t: { name: string }) => t.name);
    expect(names.length).toBe(2); // page size 2
    let cursor: string | undefined = first.body.result.nextCursor;
    for (let id = 2; cursor; id++) {
      const next = await post({ jsonrpc: '2.0', id, method: 'tools/list', params: { cursor } }, h());
      expect(next.body.id).toBe(id);
      names.push(...next.body.result.tools.map((t: { name: string }) => t.name));
      cursor = next.body.result.nextCursor;
    }
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['demo__add', 'demo__echo', 'demo__fail', 'demo__slow', 'demo__whoami']));
    // The same listing as the SDK client sees, page for page.
    const { client } = await connect();
    try {
      const viaSdk: string[] = [];
      let c: string | undefined;
      do {
        const p = await client.listTools(c ? { cursor: c } : {});
        viaSdk.push(...p.tools.map((t) => t.name));
        c = p.nextCursor;
      } while (c);
      expect(viaSdk).toEqual(names);
    } finally {
      await client.close();
    }
    const prompts = await post({ jsonrpc: '2.0', id: 8, method: 'prompts/list' }, h());
    expect(prompts.body.result.prompts.map((p: { name: string }) => p.name)).toContain('demo__greet');
    const resources = await post({ jsonrpc: '2.0', id: 9, method: 'resources/list' }, h());
    expect(resources.body.result.resources.map((r: { uri: string }) => r.uri)).toContain('demo://demo/readme');
  });

  test('what the SDK would refuse still gets the SDK\'s error: a bad cursor, a bad params type, a missing id', async () => {
    const bad = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { cursor: 'nonsense' } }, h());
    expect(bad.body.error.code).toBe(-32602);
    const wrongType = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: { cursor: 5 } }, h());
    expect(wrongType.body.error).toBeDefined();
    const notification = await post({ jsonrpc: '2.0', method: 'tools/list' }, h());
    expect(notification.body?.result).toBeUndefined();
  });
});

describe('a tools/call without a progress token answers as one JSON response (http/json-call.ts)', () => {
  let sid: string;
  const h = () => ({ 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION });
  const call = (id: number, params: Record<string, unknown>) => post({ jsonrpc: '2.0', id, method: 'tools/call', params }, h());
  beforeAll(async () => {
    sid = (await initialize(LATEST_PROTOCOL_VERSION)).headers.get('mcp-session-id')!;
  });

  test('the same result as the SDK path (SSE, taken when progress is asked for), echoing the id', async () => {
    const json = await call(7, { name: 'demo__echo', arguments: { text: 'same' } });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(json.body).toEqual({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'same' }] } });
    const sse = await call(7, { name: 'demo__echo', arguments: { text: 'same' }, _meta: { progressToken: 'p1' } });
    expect(sse.headers.get('content-type')).toBe('text/event-stream');
    expect(sse.body).toEqual(json.body);
  });

  test('the same JSON-RPC errors as the SDK path: unknown tool, invalid arguments, a failing backend', async () => {
    for (const params of [
      { name: 'demo__nope', arguments: {} },
      { name: 'demo__echo', arguments: { text: 5 } },
      { name: 'demo__fail', arguments: {} },
    ]) {
      const json = await call(9, params);
      const sse = await call(9, { ...params, _meta: { progressToken: 'p2' } });
      expect(json.headers.get('content-type')).toBe('application/json');
      expect(sse.headers.get('content-type')).toBe('text/event-stream');
      expect(json.body).toEqual(sse.body);
    }
    expect((await call(9, { name: 'demo__nope', arguments: {} })).body.error).toMatchObject({ code: -32602, message: expect.stringMatching(/unknown tool/) });
  });

  test('invalid params get -32602 (the SDK path would answer -32603): no name, a non-object arguments', async () => {
    const noName = await call(1, { arguments: {} });
    expect(noName.body).toMatchObject({ id: 1, error: { code: -32602, message: expect.stringMatching(/Invalid tools\/call request/) } });
    const badArgs = await call(2, { name: 'demo__echo', arguments: 'text' });
    expect(badArgs.body.error).toMatchObject({ code: -32602 });
  });

  test('a client that closes the response cancels the call on the backend', async () => {
    const before = demo.cancelled.length;
    const ac = new AbortController();
    const pending = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...h() },
      body: JSON.stringify({ jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'demo__slow', arguments: { steps: 100, stepMs: 50 } } }),
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 300);
    await expect(pending).rejects.toThrow();
    expect(await eventually(() => demo.cancelled.length === before + 1, 3000)).toBe(true);
  });
});

describe('sessions any router accepts', () => {
  test('tokens: rotation (old key still verifies), expiry, tampering', () => {
    let now = 1_000_000;
    const old = new SessionTokens([{ id: 'k1', secret: 'a'.repeat(40) }], 60_000, () => now);
    const rotated = new SessionTokens([{ id: 'k2', secret: 'b'.repeat(40) }, { id: 'k1', secret: 'a'.repeat(40) }], 60_000, () => now);
    const dropped = new SessionTokens([{ id: 'k2', secret: 'b'.repeat(40) }], 60_000, () => now);
    const { id } = old.issue('2025-11-25');
    expect(rotated.verify(id)).toMatchObject({ protocolVersion: '2025-11-25' });
    expect(dropped.verify(id)).toBe('unknown-key');
    expect(rotated.issue('2025-11-25').id).toMatch(/^v1\.k2\./);
    const [v, k, payload, mac] = id.split('.');
    const tampered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), exp: now * 10 })).toString('base64url');
    expect(old.verify([v, k, tampered, mac].join('.'))).toBe('bad-signature');
    now += 60_001;
    expect(old.verify(id)).toBe('expired');
  });

  test('tokens: a verified ID is remembered (bounded) and still expires; one that fails is never remembered', () => {
    let now = 1_000_000;
    const tokens = new SessionTokens([{ id: 'k1', secret: 'a'.repeat(40) }], 60_000, () => now, 3);
    const ids = Array.from({ length: 5 }, () => tokens.issue('2025-11-25').id);
    for (const id of ids) expect(tokens.verify(id)).toMatchObject({ protocolVersion: '2025-11-25' });
    expect(tokens.remembered).toBe(3);
    // The oldest were dropped, not refused: they verify again (and are remembered again).
    expect(tokens.verify(ids[0])).toMatchObject({ protocolVersion: '2025-11-25' });
    expect(tokens.verify(ids[0])).toBe(tokens.verify(ids[0]));
    expect(tokens.remembered).toBe(3);
    // A tampered MAC is refused every time and takes no place.
    const forged = ids[1].slice(0, -2) + (ids[1].endsWith('AA') ? 'BB' : 'AA');
    expect(tokens.verify(forged)).toBe('bad-signature');
    expect(tokens.verify(forged)).toBe('bad-signature');
    expect(tokens.remembered).toBe(3);
    // A remembered ID still expires, and is forgotten then.
    now += 60_001;
    expect(tokens.verify(ids[0])).toBe('expired');
    expect(tokens.remembered).toBe(2);
  });

  test('a session opened on one router is served by another with the same keys, refused by one with other keys', async () => {
    const other = await routerFor([{ name: 'demo', url: demo.url }], { MCP_ROUTER_SESSION_KEYS: KEYS });
    const stranger = await routerFor([{ name: 'demo', url: demo.url }], { MCP_ROUTER_SESSION_KEYS: 'x=' + 'z'.repeat(40) });
    const { client, transport } = await connect();
    try {
      const sid = transport.sessionId!;
      const onOther = await post({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'demo__echo', arguments: { text: 'elsewhere' } } }, { 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION }, `http://127.0.0.1:${other.router.mcpPort}/mcp`);
      expect(onOther.body.result).toEqual({ content: [{ type: 'text', text: 'elsewhere' }] });
      const onStranger = await post({ jsonrpc: '2.0', id: 8, method: 'tools/list' }, { 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION }, `http://127.0.0.1:${stranger.router.mcpPort}/mcp`);
      expect(onStranger.status).toBe(404);
    } finally {
      await client.close();
      await other.close();
      await stranger.close();
    }
  });

  test('notifications/cancelled sent to another router cancels the call where it runs (peers from Consul)', async () => {
    const consul = await startConsulAgent();
    const routers: RouterHandle[] = [];
    try {
      for (const name of ['peer-a', 'peer-b']) {
        routers.push(
          await startRouter(
            loadConfig({
              CONSUL_HOST: consul.address,
              CONSUL_PORT: String(consul.httpPort),
              MCP_BACKENDS: JSON.stringify([{ name: 'demo', url: demo.url }]),
              MCP_BACKEND_DISCOVERY: 'false',
              MCP_ROUTER_BIND_ADDRESS: '127.0.0.1',
              MCP_ROUTER_PORT: '0',
              MCP_ROUTER_METRICS_PORT: '0',
              MCP_ROUTER_MCP_PORT: '0',
              MCP_ROUTER_HOSTNAME: name,
              MCP_ROUTER_SESSION_KEYS: KEYS,
              MCP_ROUTER_DRAIN_DELAY_MS: '0',
              CONSUL_REREGISTER_INTERVAL_MS: '500',
              LOG_LEVEL: 'silent',
            }),
          ),
        );
      }
      const [a, b] = routers;
      await waitUntil('both routers registered and passing', async () => (await consul.api('/v1/health/service/mcp-router?passing=true')).length === 2, 30_000);
      await waitUntil('the demo tools are listed on router a', async () => a.catalog.snapshot.tools.has('demo__slow'), 10_000);
      const urlA = `http://127.0.0.1:${a.mcpPort}/mcp`;
      const urlB = `http://127.0.0.1:${b.mcpPort}/mcp`;
      const sid = (await initialize(LATEST_PROTOCOL_VERSION, urlA)).headers.get('mcp-session-id')!;
      const h = { 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
      const before = demo.cancelled.length;
      const slow = post({ jsonrpc: '2.0', id: 42, method: 'tools/call', params: { name: 'demo__slow', arguments: { steps: 200, stepMs: 50 } } }, h, urlA);
      await sleep(500);
      const t0 = Date.now();
      const cancel = await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 42, reason: 'test' } }, h, urlB);
      expect(cancel.status).toBe(202);
      expect(await eventually(() => demo.cancelled.length === before + 1, 5000)).toBe(true);
      const cancelledAfterMs = Date.now() - t0;
      process.stdout.write(`[mcp] cancellation sent to router b reached the call on router a and the backend in ${cancelledAfterMs} ms\n`);
      await slow.catch(() => undefined);
    } finally {
      for (const router of routers) await router.close();
      await consul.stop();
    }
  });
});
