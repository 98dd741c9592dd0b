/**
 * MCP servers built with the official SDK in each Streamable HTTP mode it
 * offers (see support/interop/sdk-servers.ts: stateful, event-store with SSE
 * priming events and keep-alive comments, stateless, JSON responses, and a
 * "chatty" one that sends log messages before every response), registered in
 * the platform's Consul like any user's server, behind 3 router processes and
 * HAProxy. Every server is driven through every RPC; stateful ones also lose
 * their sessions (a restart faster than any health check) and answer the
 * routers' old session with 400 or 404.
 */
import * as grpc from '@grpc/grpc-js';
import {
  assertRoutersAlive,
  blocks,
  call,
  callCounts,
  createRouterClient,
  fromStruct,
  LocalPlatform,
  McpRouterClient,
  ok,
  once,
  registerMcpServer,
  sleep,
  startPlatform,
  streamCall,
  texts,
  toStruct,
  waitListedEverywhere,
} from '../support/interop/harness';
import { SDK_SERVER_MODES, SdkServerHandle, SdkServerMode, startSdkServer, TINY_PNG_BASE64 } from '../support/interop/sdk-servers';

jest.setTimeout(120_000);

/** How each stateful server answers a request for a session it no longer has. */
const STALE_STATUS: Record<SdkServerMode, 400 | 404 | undefined> = {
  stateful: 400,
  'event-store': 404,
  stateless: undefined,
  'json-response': 400,
  chatty: 404,
};
const TOOLS = ['echo', 'fails', 'image', 'links', 'progress', 'structured'];

let platform: LocalPlatform;
let client: McpRouterClient;
const servers = new Map<SdkServerMode, SdkServerHandle>();
const ns = (mode: SdkServerMode) => `sdk-${mode}`;
const args = (a: Record<string, unknown>) => toStruct(a);
const listed = new Map<SdkServerMode, () => Promise<void>>(SDK_SERVER_MODES.map((m) => [m, once(() => waitListedEverywhere(platform, ns(m), TOOLS.length, 20_000))]));

beforeAll(async () => {
  platform = await startPlatform(3);
  let k = 1;
  for (const mode of SDK_SERVER_MODES) {
    const host = platform.block.backendAddress(k++);
    const s = await startSdkServer({ name: ns(mode), mode, host, port: platform.ports.backend, unknownSessionStatus: STALE_STATUS[mode] });
    servers.set(mode, s);
    await registerMcpServer(platform, { id: `${ns(mode)}-1`, service: ns(mode), address: host, port: s.port, checkInterval: '1s', failuresBeforeCritical: 30 });
  }
  client = createRouterClient(platform.endpoint);
});

// Every router process is still up after each test (none crashed on what a server sent).
afterEach(() => assertRoutersAlive(platform));

afterAll(async () => {
  client?.close();
  for (const s of servers.values()) await s.close();
  await platform?.close();
});

describe.each(SDK_SERVER_MODES)('SDK server, %s mode, behind 3 routers and HAProxy', (mode) => {
  const name = (tool: string) => `${ns(mode)}__${tool}`;
  const ready = () => listed.get(mode)!();

  test('every router lists it: healthy, its tools, resources and prompts', async () => {
    await ready();
    for (const i of platform.runningRouters()) {
      const c = createRouterClient(platform.routerTarget(i));
      try {
        const res = await ok(call(c, 'ListServers', {}));
        const s = res.servers.find((x: any) => x.name === ns(mode));
        expect({ healthy: s?.healthy, tools: s?.toolCount, resources: s?.resourceCount, prompts: s?.promptCount, lastError: s?.lastError }).toEqual({ healthy: true, tools: 6, resources: 2, prompts: 2, lastError: '' });
        expect(fromStruct(s.serverInfo)).toMatchObject({ name: ns(mode), version: '1.0.0' });
      } finally {
        c.close();
      }
    }
    const tools = await ok(call(client, 'ListTools', { server: ns(mode) }));
    expect(tools.tools.map((t: any) => t.originalName).sort()).toEqual(TOOLS);
    const structured = tools.tools.find((t: any) => t.originalName === 'structured');
    expect(fromStruct(structured.outputSchema)).toMatchObject({ type: 'object', properties: { sum: { type: 'number' }, product: { type: 'number' } } });
  });

  test('CallTool: plain text, structured output, image, resource links + embedded resource, tool error', async () => {
    await ready();
    expect(texts((await ok(call(client, 'CallTool', { name: name('echo'), arguments: args({ text: `hi ${mode}` }) }))).content)).toEqual([`hi ${mode}`]);
    const s = await ok(call(client, 'CallTool', { name: name('structured'), arguments: args({ a: 6, b: 7 }) }));
    expect(fromStruct(s.structuredContent)).toEqual({ sum: 13, product: 42 });
    const img = blocks((await ok(call(client, 'CallTool', { name: name('image'), arguments: args({}) }))).content);
    expect(img[1]).toEqual({ type: 'image', data: TINY_PNG_BASE64, mimeType: 'image/png' });
    const links = blocks((await ok(call(client, 'CallTool', { name: name('links'), arguments: args({}) }))).content);
    expect(links.map((b) => [b.type, b.uri ?? b.resource?.uri])).toEqual([
      ['resource_link', `sdk://${ns(mode)}/readme`],
      ['resource_link', `sdk://${ns(mode)}/logo.png`],
      ['resource', `sdk://${ns(mode)}/readme`],
    ]);
    const failed = await ok(call(client, 'CallTool', { name: name('fails'), arguments: args({ reason: 'no' }) }));
    expect({ isError: failed.isError, text: texts(failed.content) }).toEqual({ isError: true, text: ['failed: no'] });
  });

  test('CallTool on a slow tool (its SSE response waits 300 ms; keep-alive comments in event-store mode)', async () => {
    await ready();
    const res = await ok(call(client, 'CallTool', { name: name('progress'), arguments: args({ steps: 3, stepMs: 100 }) }));
    expect(texts(res.content)).toEqual(['done after 3 steps']);
  });

  test('CallToolStream: progress notifications, then the result', async () => {
    await ready();
    const out = await streamCall(client, { name: name('progress'), arguments: args({ steps: 3, stepMs: 30 }) }, 10_000);
    expect(grpc.status[out.code]).toBe('OK');
    // In JSON-response mode the SDK server cannot send anything before its one JSON body.
    const expected = mode === 'json-response' ? [] : [1, 2, 3].map((i) => [i, 3, `step ${i}/3`]);
    expect(out.progress.map((p) => [p.progress, p.total, p.message])).toEqual(expected);
    expect(texts(out.result.content)).toEqual(['done after 3 steps']);
  });

  test('the router cancels only what a client cancelled: its listings and answered calls send no notifications/cancelled', async () => {
    await ready();
    // Each router has listed this server (at least once) and the tests above made plain and streamed calls.
    await ok(call(client, 'CallTool', { name: name('echo'), arguments: args({ text: 'no cancel' }) }));
    await streamCall(client, { name: name('progress'), arguments: args({ steps: 2, stepMs: 10 }) }, 10_000);
    await sleep(300);
    expect(servers.get(mode)!.cancelNotifications()).toBe(0);
  });

  test('cancel: a cancelled CallToolStream ends at once, is counted CANCELLED, and the server gets notifications/cancelled', async () => {
    await ready();
    const server = servers.get(mode)!;
    const cancelledBefore = server.cancelled.length;
    const notesBefore = server.cancelNotifications();
    const before = await callCounts(platform, 'CallToolStream');
    // json-response sends no progress: cancel on a timer instead of on the first event.
    const out =
      mode === 'json-response'
        ? await streamCall(client, { name: name('progress'), arguments: args({ steps: 50, stepMs: 100 }) }, 20_000, undefined, 300)
        : await streamCall(client, { name: name('progress'), arguments: args({ steps: 50, stepMs: 100 }) }, 20_000, (e) => (e.progress ? 'cancel' : undefined));
    expect(grpc.status[out.code]).toBe('CANCELLED');
    expect(out.ms).toBeLessThan(3_000);
    for (let w = Date.now(); Date.now() - w < 3_000 && server.cancelNotifications() === notesBefore; ) await sleep(50);
    // Exactly one, and for the tools/call (counted by method; in stateless mode request IDs of the three routers overlap).
    expect(server.cancelNotifications()).toBe(notesBefore + 1);
    expect(server.cancelNotifications('tools/call')).toBeGreaterThanOrEqual(1);
    if (mode !== 'stateless') {
      // The tool itself stops. (A stateless server handles the notification in a new server
      // instance that does not know the request, so its tool runs on: the SDK's stateless
      // pattern, not something the router can change; the spec says a disconnect is no cancel.)
      for (let w = Date.now(); Date.now() - w < 3_000 && server.cancelled.length === cancelledBefore; ) await sleep(50);
      expect(server.cancelled.length).toBe(cancelledBefore + 1);
    }
    let after: Record<string, number> = {};
    for (let w = Date.now(); Date.now() - w < 3_000; await sleep(100)) {
      after = await callCounts(platform, 'CallToolStream');
      if ((after.CANCELLED ?? 0) + (after.DEADLINE_EXCEEDED ?? 0) > (before.CANCELLED ?? 0) + (before.DEADLINE_EXCEEDED ?? 0)) break;
    }
    expect({ CANCELLED: (after.CANCELLED ?? 0) - (before.CANCELLED ?? 0), DEADLINE_EXCEEDED: (after.DEADLINE_EXCEEDED ?? 0) - (before.DEADLINE_EXCEEDED ?? 0) }).toEqual({ CANCELLED: 1, DEADLINE_EXCEEDED: 0 });
  });

  test('ListResources and ReadResource: text and blob', async () => {
    await ready();
    const res = await ok(call(client, 'ListResources', { server: ns(mode) }));
    expect(res.resources.map((r: any) => [r.uri, r.mimeType]).sort()).toEqual([
      [`sdk://${ns(mode)}/logo.png`, 'image/png'],
      [`sdk://${ns(mode)}/readme`, 'text/plain'],
    ]);
    expect(blocks((await ok(call(client, 'ReadResource', { uri: `sdk://${ns(mode)}/readme` }))).contents)).toEqual([{ uri: `sdk://${ns(mode)}/readme`, mimeType: 'text/plain', text: `readme of ${ns(mode)}` }]);
    expect(blocks((await ok(call(client, 'ReadResource', { uri: `sdk://${ns(mode)}/logo.png` }))).contents)[0].blob).toBe(TINY_PNG_BASE64);
  });

  test('ListResourceTemplates, and ReadResource on a URI of the template', async () => {
    await ready();
    const res = await ok(call(client, 'ListResourceTemplates', { server: ns(mode) }));
    expect(res.resourceTemplates.map((t: any) => [t.uriTemplate, t.name, t.mimeType])).toEqual([[`sdk://${ns(mode)}/items/{id}`, 'item', 'text/plain']]);
    expect(blocks((await ok(call(client, 'ReadResource', { uri: `sdk://${ns(mode)}/items/42` }))).contents)).toEqual([{ uri: `sdk://${ns(mode)}/items/42`, mimeType: 'text/plain', text: `item 42 of ${ns(mode)}` }]);
  });

  test('ListPrompts and GetPrompt: without arguments, with required + optional ones, missing the required one', async () => {
    await ready();
    const res = await ok(call(client, 'ListPrompts', { server: ns(mode) }));
    expect(res.prompts.map((p: any) => p.name).sort()).toEqual([name('plain'), name('with-args')]);
    expect(blocks(res.prompts.find((p: any) => p.originalName === 'with-args').arguments).map((a) => [a.name, a.required])).toEqual([
      ['topic', true],
      ['style', false],
    ]);
    expect(blocks((await ok(call(client, 'GetPrompt', { name: name('plain') }))).messages)[0].content.text).toBe(`plain prompt of ${ns(mode)}`);
    expect(blocks((await ok(call(client, 'GetPrompt', { name: name('with-args'), arguments: { topic: 'routers' } }))).messages)[0].content.text).toBe('write about routers');
    expect(blocks((await ok(call(client, 'GetPrompt', { name: name('with-args'), arguments: { topic: 'routers', style: 'haiku' } }))).messages)[0].content.text).toBe('write about routers in the style of haiku');
    const missing = await call(client, 'GetPrompt', { name: name('with-args'), arguments: { style: 'haiku' } });
    expect(missing.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  test('invalid arguments and unknown names: the right status within milliseconds, unary and streaming', async () => {
    await ready();
    const cases: Array<[object, string]> = [
      [{ name: name('echo'), arguments: args({ text: 42 }) }, 'INVALID_ARGUMENT'],
      [{ name: name('progress'), arguments: args({ steps: 0, stepMs: 1 }) }, 'INVALID_ARGUMENT'],
      [{ name: name('no-such-tool'), arguments: args({}) }, 'NOT_FOUND'],
    ];
    for (const [req, want] of cases) {
      const u = await call(client, 'CallTool', req, 5_000);
      expect([JSON.stringify(req).slice(0, 60), u.err ? grpc.status[u.err.code] : 'OK', u.ms < 1_000]).toEqual([JSON.stringify(req).slice(0, 60), want, true]);
      const s = await streamCall(client, req, 5_000);
      expect([JSON.stringify(req).slice(0, 60), grpc.status[s.code], s.ms < 1_000]).toEqual([JSON.stringify(req).slice(0, 60), want, true]);
    }
    expect((await call(client, 'GetPrompt', { name: name('no-such-prompt') })).err?.code).toBe(grpc.status.NOT_FOUND);
    expect((await call(client, 'ReadResource', { uri: `sdk://${ns(mode)}/no-such` })).err?.code).toBe(grpc.status.NOT_FOUND);
  });

  const stale = STALE_STATUS[mode];
  if (stale !== undefined) {
    test(`lost sessions (the server answers the routers' old session ID with HTTP ${stale}): every router re-initializes and the call succeeds`, async () => {
      await ready();
      const server = servers.get(mode)!;
      await server.forgetSessions();
      const initsBefore = server.initializeCount();
      const staleBefore = server.staleSessionAnswers();
      const outcome: Record<string, string> = {};
      for (const i of platform.runningRouters()) {
        const c = createRouterClient(platform.routerTarget(i));
        try {
          const o = await call(c, 'CallTool', { name: name('echo'), arguments: args({ text: 'again' }) }, 5_000);
          outcome[`router-${i}`] = o.err ? `${grpc.status[o.err.code]}: ${o.err.details}` : texts(o.res.content).join('');
        } finally {
          c.close();
        }
      }
      expect(outcome).toEqual({ 'router-1': 'again', 'router-2': 'again', 'router-3': 'again' });
      expect(server.staleSessionAnswers()).toBeGreaterThan(staleBefore);
      expect(server.initializeCount()).toBeGreaterThanOrEqual(initsBefore + 3);
    });
  }
});
