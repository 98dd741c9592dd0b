/**
 * Every McpRouter RPC and every status mapping, with a real gRPC client, a
 * real router and real SDK-built MCP servers on loopback.
 */
import * as grpc from '@grpc/grpc-js';
import { NAME_PATTERN } from '../../router-app/src/mcp/naming';
import { fromListValue, fromStruct } from '../../router-app/src/grpc/struct';
import { unary } from '../../scripts/local-platform/router-client';
import { closedPort, DemoServerHandle, eventually, routerFor, RouterUnderTest, sleep, startDemoServer, struct } from '../support/demo-backends';

jest.setTimeout(60_000);

const LONG = 'x'.repeat(60);
let alpha: DemoServerHandle;
let clash: DemoServerHandle;
let long: DemoServerHandle;
let r: RouterUnderTest;

beforeAll(async () => {
  alpha = await startDemoServer({ name: 'svc' });
  alpha.addTool('x__echo', 'from svc'); // "svc" + "x__echo" -> svc__x__echo ...
  clash = await startDemoServer({ name: 'svc__x' }); // ... and "svc__x" + "echo" -> svc__x__echo: a deliberate collision
  long = await startDemoServer({ name: LONG });
  r = await routerFor([
    { name: 'svc', url: alpha.url },
    { name: 'svc__x', url: clash.url },
    { name: LONG, url: long.url },
  ]);
});

afterAll(async () => {
  await r?.close();
  await Promise.all([alpha?.close(), clash?.close(), long?.close()]);
});

const call = (name: string, args: Record<string, unknown> = {}, deadlineMs = 5000) => unary(r.client, 'CallTool', { name, arguments: struct(args) }, deadlineMs);
const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return grpc.status.OK;
  } catch (e) {
    return (e as grpc.ServiceError).code;
  }
};

describe('catalogue and naming', () => {
  test('ListTools: namespaced, all valid for ^[a-zA-Z0-9_-]{1,64}$, unique, and the deliberate collision is resolved', async () => {
    const res = await unary(r.client, 'ListTools', {});
    const names: string[] = res.tools.map((t: any) => t.name);
    expect(names.length).toBe(new Set(names).size);
    for (const n of names) expect(n).toMatch(NAME_PATTERN);
    const collided = res.tools.filter((t: any) => t.name.startsWith('svc__x__echo'));
    expect(collided).toHaveLength(2);
    expect(collided.map((t: any) => `${t.server}/${t.originalName}`).sort()).toEqual(['svc/x__echo', 'svc__x/echo']);
    const longOnes = res.tools.filter((t: any) => t.server === LONG);
    expect(longOnes.length).toBe(5);
    for (const t of longOnes) expect(t.name.length).toBeLessThanOrEqual(64);
    expect(res.routerInstanceId).toBe('mcp-router-test');
    const echo = res.tools.find((t: any) => t.name === 'svc__echo');
    expect(fromStruct(echo.inputSchema)).toMatchObject({ type: 'object', properties: { text: { type: 'string' } }, required: ['text'] });
  });

  test('names are deterministic: a second router gives the same names', async () => {
    const r2 = await routerFor([
      { name: LONG, url: long.url },
      { name: 'svc__x', url: clash.url },
      { name: 'svc', url: alpha.url },
    ]);
    try {
      const a = (await unary(r.client, 'ListTools', {})).tools.map((t: any) => `${t.name}=${t.server}/${t.originalName}`).sort();
      const b = (await unary(r2.client, 'ListTools', {})).tools.map((t: any) => `${t.name}=${t.server}/${t.originalName}`).sort();
      expect(b).toEqual(a);
    } finally {
      await r2.close();
    }
  });

  test('both colliding tools are callable and reach their own server', async () => {
    const tools = (await unary(r.client, 'ListTools', {})).tools.filter((t: any) => t.name.startsWith('svc__x__echo'));
    const texts = await Promise.all(tools.map(async (t: any) => {
      const res = await call(t.name, t.server === 'svc' ? {} : { text: 'from svc__x' });
      return fromListValue(res.content)[0];
    }));
    expect(texts.map((c: any) => c.text).sort()).toEqual(['from svc', 'from svc__x']);
  });

  test('ListTools filtered by server; ListServers reports each backend healthy with counts and serverInfo', async () => {
    const only = await unary(r.client, 'ListTools', { server: 'svc__x' });
    expect(only.tools.map((t: any) => t.originalName).sort()).toEqual(['add', 'echo', 'fail', 'slow', 'whoami']);
    const servers = await unary(r.client, 'ListServers', {});
    const svc = servers.servers.find((s: any) => s.name === 'svc');
    expect(svc).toMatchObject({ instanceId: 'static:svc', url: alpha.url, healthy: true, circuitState: 'closed', toolCount: 6, resourceCount: 1, promptCount: 1 });
    expect(fromStruct(svc.serverInfo)).toMatchObject({ name: 'svc', version: '1.0.0' });
  });

  test('resources keep their URIs and route to their owner; prompts are namespaced', async () => {
    const res = await unary(r.client, 'ListResources', {});
    const uris = res.resources.map((x: any) => x.uri).sort();
    expect(uris).toEqual([`demo://${LONG}/readme`, 'demo://svc/readme', 'demo://svc__x/readme'].sort());
    const read = await unary(r.client, 'ReadResource', { uri: 'demo://svc__x/readme' });
    expect(read.server).toBe('svc__x');
    expect(fromListValue(read.contents)[0]).toMatchObject({ uri: 'demo://svc__x/readme', text: 'This is the svc__x demo MCP server.' });
    const prompts = await unary(r.client, 'ListPrompts', {});
    expect(prompts.prompts.map((p: any) => p.name)).toEqual(expect.arrayContaining(['svc__greet', 'svc__x__greet']));
    const got = await unary(r.client, 'GetPrompt', { name: 'svc__greet', arguments: { who: 'Ada' } });
    expect(JSON.stringify(fromListValue(got.messages))).toContain('Say hello to Ada from svc.');
  });
});

describe('calls', () => {
  test('CallTool returns content and structuredContent', async () => {
    const res = await call('svc__add', { a: 2, b: 40 });
    expect(res.isError).toBe(false);
    expect(res.server).toBe('svc');
    expect(fromStruct(res.structuredContent)).toEqual({ sum: 42 });
    expect(fromListValue(res.content)).toEqual([{ type: 'text', text: '42' }]);
  });

  test("a tool's own error (isError) is a normal response with the flag", async () => {
    const res = await call('svc__fail', { reason: 'nope' });
    expect(res.isError).toBe(true);
    expect(fromListValue(res.content)).toEqual([{ type: 'text', text: 'failed: nope' }]);
  });

  test('CallToolStream: progress notifications, then the result as the last message', async () => {
    const events: any[] = await new Promise((resolve, reject) => {
      const out: any[] = [];
      const s = r.client.CallToolStream({ name: 'svc__slow', arguments: struct({ steps: 4, stepMs: 20 }) }, new grpc.Metadata(), { deadline: Date.now() + 10_000 });
      s.on('data', (d: any) => out.push(d));
      s.on('error', reject);
      s.on('end', () => resolve(out));
    });
    expect(events.map((e) => e.event)).toEqual(['progress', 'progress', 'progress', 'progress', 'result']);
    expect(events.slice(0, 4).map((e) => e.progress.progress)).toEqual([1, 2, 3, 4]);
    expect(events[0].progress).toMatchObject({ total: 4, hasTotal: true, message: 'step 1/4' });
    expect(fromListValue(events[4].result.content)).toEqual([{ type: 'text', text: 'done after 4 steps' }]);
  });

  test('one long-lived MCP session per backend: 50 concurrent calls through a fresh router, exactly one session', async () => {
    const solo = await startDemoServer({ name: 'solo' });
    const rr = await routerFor([{ name: 'solo', url: solo.url }]);
    try {
      const res = await Promise.all(Array.from({ length: 50 }, (_, i) => unary(rr.client, 'CallTool', { name: 'solo__echo', arguments: struct({ text: `m${i}` }) })));
      expect(res.map((x: any) => (fromListValue(x.content)[0] as any).text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
      expect(res.every((x: any) => x.routerInstanceId === 'mcp-router-test' && x.server === 'solo')).toBe(true);
      expect(solo.sessions()).toBe(1);
    } finally {
      await rr.close();
      await solo.close();
    }
  });
});

describe('status mapping', () => {
  test('unknown tool -> NOT_FOUND', async () => {
    expect(await codeOf(call('svc__nope'))).toBe(grpc.status.NOT_FOUND);
  });
  test('missing name -> INVALID_ARGUMENT', async () => {
    expect(await codeOf(unary(r.client, 'CallTool', {}))).toBe(grpc.status.INVALID_ARGUMENT);
  });
  test('invalid arguments (wrong type, missing) -> INVALID_ARGUMENT naming the problem', async () => {
    await expect(call('svc__add', { a: 'two', b: 1 })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('/a must be number') });
    await expect(call('svc__echo', {})).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("required property 'text'") });
  });
  test('unknown resource and prompt -> NOT_FOUND; prompt missing a required argument -> INVALID_ARGUMENT', async () => {
    expect(await codeOf(unary(r.client, 'ReadResource', { uri: 'demo://none' }))).toBe(grpc.status.NOT_FOUND);
    expect(await codeOf(unary(r.client, 'GetPrompt', { name: 'svc__none' }))).toBe(grpc.status.NOT_FOUND);
    expect(await codeOf(unary(r.client, 'GetPrompt', { name: 'svc__greet' }))).toBe(grpc.status.INVALID_ARGUMENT);
  });
  test('deadline shorter than the tool -> DEADLINE_EXCEEDED, and the backend is told to cancel', async () => {
    const before = alpha.cancelled.length;
    expect(await codeOf(call('svc__slow', { steps: 20, stepMs: 100 }, 300))).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(await eventually(() => alpha.cancelled.length > before, 3000)).toBe(true);
    expect(alpha.cancelled.length).toBe(before + 1);
  });
  test('CallToolStream with a short deadline: progress first, then DEADLINE_EXCEEDED, and the backend is told to cancel', async () => {
    const before = alpha.cancelled.length;
    const { events, code } = await new Promise<{ events: any[]; code: grpc.status }>((resolve) => {
      const out: any[] = [];
      const s = r.client.CallToolStream({ name: 'svc__slow', arguments: struct({ steps: 40, stepMs: 50 }) }, new grpc.Metadata(), { deadline: Date.now() + 400 });
      s.on('data', (d: any) => out.push(d));
      s.on('error', (e: grpc.ServiceError) => resolve({ events: out, code: e.code }));
      s.on('end', () => resolve({ events: out, code: grpc.status.OK }));
    });
    expect(code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.event === 'progress')).toBe(true);
    expect(await eventually(() => alpha.cancelled.length > before, 3000)).toBe(true);
  });

  test('client cancel of a unary CallTool -> CANCELLED, and notifications/cancelled reaches the backend', async () => {
    const before = alpha.cancelled.length;
    const sessionsBefore = alpha.sessions();
    const code = new Promise<grpc.status>((resolve) => {
      const c = r.client.CallTool({ name: 'svc__slow', arguments: struct({ steps: 50, stepMs: 50 }) }, new grpc.Metadata(), {}, (err: grpc.ServiceError | null) => resolve(err ? err.code : grpc.status.OK));
      setTimeout(() => c.cancel(), 300);
    });
    expect(await code).toBe(grpc.status.CANCELLED);
    expect(await eventually(() => alpha.cancelled.length > before, 3000)).toBe(true);
    expect(alpha.cancelled.length).toBe(before + 1);
    // the session survives a cancel: the next call uses it
    await call('svc__echo', { text: 'after cancel' });
    expect(alpha.sessions()).toBe(sessionsBefore);
  });

  test('client cancel of a CallToolStream sends notifications/cancelled to the backend', async () => {
    const before = alpha.cancelled.length;
    const s = r.client.CallToolStream({ name: 'svc__slow', arguments: struct({ steps: 50, stepMs: 50 }) }, new grpc.Metadata(), {});
    await new Promise<void>((resolve) => s.once('data', () => resolve())); // first progress: the call is running
    s.on('error', () => undefined);
    s.cancel();
    expect(await eventually(() => alpha.cancelled.length > before, 3000)).toBe(true);
    expect(alpha.cancelled.length).toBe(before + 1);
  });
});

describe('backend faults', () => {
  test('static backend on a closed port: listed as unhealthy with the reason; calling its tool -> UNAVAILABLE, fast', async () => {
    const port = await closedPort();
    const rr = await routerFor([{ name: 'nowhere', url: `http://127.0.0.1:${port}/mcp` }], {}, 0);
    try {
      expect(await eventually(async () => (await unary(rr.client, 'ListServers', {})).servers[0]?.lastError !== '', 5000)).toBe(true);
      const s = (await unary(rr.client, 'ListServers', {})).servers[0];
      expect(s).toMatchObject({ name: 'nowhere', healthy: false, toolCount: 0 });
      expect(s.lastError).toMatch(/ECONNREFUSED|fetch failed/);
      const t0 = Date.now();
      // The client cannot know the tool list of a server the router never reached; the name is <server>__<tool>.
      const err = await unary(rr.client, 'CallTool', { name: 'nowhere__echo', arguments: struct({ text: 'x' }) }, 5000).catch((e) => e);
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeLessThan(2000);
      expect({ code: err.code, details: err.details }).toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringContaining('nowhere') });
      await expect(unary(rr.client, 'GetPrompt', { name: 'nowhere__greet', arguments: { who: 'x' } })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      // a name that belongs to no configured server stays NOT_FOUND
      await expect(unary(rr.client, 'CallTool', { name: 'elsewhere__echo' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    } finally {
      await rr.close();
    }
  });

  test('unreachable backend -> UNAVAILABLE; after N failures the circuit opens and calls fail without a backend round-trip; half-open trial closes it', async () => {
    const dead = await startDemoServer({ name: 'dead' });
    const port = dead.port;
    const rr = await routerFor([{ name: 'dead', url: dead.url }], { MCP_ROUTER_BREAKER_FAILURES: '2', MCP_ROUTER_BREAKER_RESET_MS: '1500' });
    const callDead = () => unary(rr.client, 'CallTool', { name: 'dead__echo', arguments: struct({ text: 'x' }) }, 5000);
    let back: DemoServerHandle | undefined;
    try {
      await dead.close();
      for (let i = 0; i < 2; i++) {
        await expect(callDead()).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringContaining('unreachable') });
      }
      expect((await unary(rr.client, 'ListServers', {})).servers[0]).toMatchObject({ name: 'dead', healthy: false, circuitState: 'open' });
      // The backend is back on the same port, but the open circuit must not touch it.
      back = await startDemoServer({ name: 'dead', port });
      const t0 = Date.now();
      await expect(callDead()).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringContaining('circuit open') });
      const fastFailMs = Date.now() - t0;
      expect(back.sessions()).toBe(0); // no round-trip: no session was even initialized
      expect(fastFailMs).toBeLessThan(1000);
      // After the reset time one trial call goes through, succeeds, and closes the circuit.
      await sleep(1600);
      const ok = await callDead();
      expect(fromListValue(ok.content)).toEqual([{ type: 'text', text: 'x' }]);
      expect(back.sessions()).toBe(1);
      expect((await unary(rr.client, 'ListServers', {})).servers[0]).toMatchObject({ healthy: true, circuitState: 'closed' });
    } finally {
      await rr.close();
      await back?.close();
    }
  });

  test('backend killed mid-call -> UNAVAILABLE for that call; other backends keep working', async () => {
    const victim = await startDemoServer({ name: 'victim' });
    const rr = await routerFor([{ name: 'victim', url: victim.url }, { name: 'svc', url: alpha.url }]);
    try {
      const pending = codeOf(unary(rr.client, 'CallTool', { name: 'victim__slow', arguments: struct({ steps: 50, stepMs: 100 }) }, 10_000));
      await new Promise((res) => setTimeout(res, 300));
      await victim.close();
      const t0 = Date.now();
      expect(await pending).toBe(grpc.status.UNAVAILABLE);
      expect(Date.now() - t0).toBeLessThan(5000); // not left hanging until the 10 s deadline
      const ok = await unary(rr.client, 'CallTool', { name: 'svc__echo', arguments: struct({ text: 'still here' }) });
      expect(fromListValue(ok.content)).toEqual([{ type: 'text', text: 'still here' }]);
    } finally {
      await rr.close();
    }
  });

  test('a backend restart (session lost: 404) is re-established transparently', async () => {
    const first = await startDemoServer({ name: 'phoenix' });
    const port = first.port;
    const rr = await routerFor([{ name: 'phoenix', url: first.url }]);
    try {
      await unary(rr.client, 'CallTool', { name: 'phoenix__echo', arguments: struct({ text: 'a' }) });
      await first.close();
      const second = await startDemoServer({ name: 'phoenix', port });
      try {
        const res = await unary(rr.client, 'CallTool', { name: 'phoenix__echo', arguments: struct({ text: 'b' }) });
        expect(fromListValue(res.content)).toEqual([{ type: 'text', text: 'b' }]);
        expect(second.sessions()).toBe(1);
      } finally {
        await second.close();
      }
    } finally {
      await rr.close();
    }
  });
});
