/**
 * The reference MCP server, @modelcontextprotocol/server-everything AS
 * PUBLISHED (pinned devDependency, its own bin, `streamableHttp` mode), behind
 * the platform: Consul, 3 router processes, HAProxy (http mode). It is
 * registered in Consul the way the README tells users to (tag mcp-server, meta
 * mcp_path/namespace, a TCP check), and driven through every RPC of
 * mcp.router.v1.McpRouter via HAProxy.
 *
 * Expected values come from the package's source (dist/tools, dist/prompts,
 * dist/resources of the pinned version).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
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
import { startEverythingServer, ThirdPartyServer } from '../support/interop/third-party';
import { SteadyLoad } from '../../scripts/local-platform/steady-load';

jest.setTimeout(120_000);

const NS = 'everything';
/** Tools server-everything registers for every client (dist/tools/index.js registerTools). */
const ALWAYS_TOOLS = [
  'echo',
  'get-annotated-message',
  'get-env',
  'get-resource-links',
  'get-resource-reference',
  'get-structured-content',
  'get-sum',
  'get-tiny-image',
  'gzip-file-as-resource',
  'toggle-simulated-logging',
  'toggle-subscriber-updates',
  'trigger-long-running-operation',
];
const PROMPTS = ['simple-prompt', 'args-prompt', 'completable-prompt', 'resource-prompt'];
/** dist/docs/*.md, exposed as demo://resource/static/document/<name>. */
const DOCS = ['architecture.md', 'extension.md', 'features.md', 'how-it-works.md', 'instructions.md', 'startup.md', 'structure.md'];

let platform: LocalPlatform;
let everything: ThirdPartyServer;
let client: McpRouterClient;
const n = (tool: string) => `${NS}__${tool}`;
const args = (a: Record<string, unknown>) => toStruct(a);
const listed = once(() => waitListedEverywhere(platform, NS, ALWAYS_TOOLS.length, 25_000));

beforeAll(async () => {
  platform = await startPlatform(3);
  const host = platform.block.backendAddress(1);
  everything = await startEverythingServer(host, platform.ports.backend);
  // A TCP check every 2 s that needs 10 failures (20 s) to turn critical: the restart below is
  // certainly faster than Consul noticing, as a restart between two checks of a slower interval is.
  await registerMcpServer(platform, { id: 'everything-1', service: 'everything', address: host, port: platform.ports.backend, namespace: NS, checkInterval: '2s', failuresBeforeCritical: 10 });
  client = createRouterClient(platform.endpoint);
});

// Every router process is still up after each test (none crashed on what a server sent).
afterEach(() => assertRoutersAlive(platform));

afterAll(async () => {
  client?.close();
  await everything?.stop();
  await platform?.close();
});

describe('server-everything (published, Streamable HTTP) behind 3 routers and HAProxy', () => {
  test('ListServers: every router has a healthy session with it, serverInfo as published', async () => {
    await listed();
    for (const i of platform.runningRouters()) {
      const c = createRouterClient(platform.routerTarget(i));
      try {
        const res = await ok(call(c, 'ListServers', {}));
        const s = res.servers.find((x: any) => x.name === NS);
        expect(s).toBeDefined();
        expect(s.instanceId).toBe('everything-1');
        expect(s.url).toBe(everything.url);
        expect(s.healthy).toBe(true);
        expect(s.circuitState).toBe('closed');
        expect(fromStruct(s.serverInfo)).toMatchObject({ name: 'mcp-servers/everything', title: 'Everything Reference Server' });
        expect(s.toolCount).toBeGreaterThanOrEqual(ALWAYS_TOOLS.length);
        expect(s.resourceCount).toBe(DOCS.length);
        expect(s.promptCount).toBe(PROMPTS.length);
        expect(s.lastError).toBe('');
      } finally {
        c.close();
      }
    }
  });

  test('ListTools: the published tools, namespaced, with input/output schemas and annotations', async () => {
    await listed();
    const res = await ok(call(client, 'ListTools', { server: NS }));
    const byName = new Map<string, any>(res.tools.map((t: any) => [t.name, t]));
    for (const t of ALWAYS_TOOLS) expect(byName.has(n(t))).toBe(true);
    const echo = byName.get(n('echo'));
    expect(echo).toMatchObject({ server: NS, originalName: 'echo', title: 'Echo Tool', description: 'Echoes back the input string' });
    expect(fromStruct(echo.inputSchema)).toMatchObject({ type: 'object', properties: { message: { type: 'string' } }, required: ['message'] });
    expect(fromStruct(echo.annotations)).toEqual({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });
    const structured = byName.get(n('get-structured-content'));
    expect(fromStruct(structured.outputSchema)).toMatchObject({ type: 'object', properties: { temperature: { type: 'number' }, conditions: { type: 'string' }, humidity: { type: 'number' } } });
  });

  test('CallTool, plain text: echo and get-sum', async () => {
    await listed();
    const echo = await ok(call(client, 'CallTool', { name: n('echo'), arguments: args({ message: 'hello, router' }) }));
    expect(texts(echo.content)).toEqual(['Echo: hello, router']);
    expect(echo.isError).toBe(false);
    expect(echo.server).toBe(NS);
    const sum = await ok(call(client, 'CallTool', { name: n('get-sum'), arguments: args({ a: 2.5, b: -7 }) }));
    expect(texts(sum.content)).toEqual(['The sum of 2.5 and -7 is -4.5.']);
  });

  test('CallTool, structured output: get-structured-content', async () => {
    await listed();
    const res = await ok(call(client, 'CallTool', { name: n('get-structured-content'), arguments: args({ location: 'Chicago' }) }));
    const weather = { temperature: 36, conditions: 'Light rain / drizzle', humidity: 82 };
    expect(fromStruct(res.structuredContent)).toEqual(weather);
    expect(JSON.parse(texts(res.content)[0])).toEqual(weather);
  });

  test('CallTool, images: get-tiny-image and an annotated message with an image', async () => {
    await listed();
    const res = await ok(call(client, 'CallTool', { name: n('get-tiny-image'), arguments: args({}) }));
    const b = blocks(res.content);
    expect(b.map((x) => x.type)).toEqual(['text', 'image', 'text']);
    expect(b[1].mimeType).toBe('image/png');
    expect(Buffer.from(b[1].data, 'base64').subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const annotated = blocks((await ok(call(client, 'CallTool', { name: n('get-annotated-message'), arguments: args({ messageType: 'error', includeImage: true }) }))).content);
    expect(annotated[0]).toEqual({ type: 'text', text: 'Error: Operation failed', annotations: { priority: 1, audience: ['user', 'assistant'] } });
    expect(annotated[1]).toMatchObject({ type: 'image', mimeType: 'image/png', annotations: { priority: 0.5, audience: ['user'] } });
  });

  test('CallTool, resource links and embedded resources', async () => {
    await listed();
    const links = blocks((await ok(call(client, 'CallTool', { name: n('get-resource-links'), arguments: args({ count: 4 }) }))).content);
    expect(links[0]).toEqual({ type: 'text', text: 'Here are 4 resource links to resources available in this server:' });
    expect(links.slice(1).map((l) => [l.type, l.uri, l.name])).toEqual([
      ['resource_link', 'demo://resource/dynamic/blob/1', 'Blob Resource 1'],
      ['resource_link', 'demo://resource/dynamic/text/2', 'Text Resource 2'],
      ['resource_link', 'demo://resource/dynamic/blob/3', 'Blob Resource 3'],
      ['resource_link', 'demo://resource/dynamic/text/4', 'Text Resource 4'],
    ]);
    const ref = blocks((await ok(call(client, 'CallTool', { name: n('get-resource-reference'), arguments: args({ resourceType: 'Text', resourceId: 2 }) }))).content);
    expect(ref[1]).toMatchObject({ type: 'resource', resource: { uri: 'demo://resource/dynamic/text/2', mimeType: 'text/plain' } });
    expect(ref[1].resource.text).toMatch(/^Resource 2: This is a plaintext resource created at /);
    // gzip of a data: URI (no network): the embedded blob gunzips to the input.
    const input = 'routed through three routers\n';
    const gz = blocks(
      (await ok(call(client, 'CallTool', { name: n('gzip-file-as-resource'), arguments: args({ name: 'note.txt.gz', data: `data:text/plain;base64,${Buffer.from(input).toString('base64')}`, outputType: 'resource' }) }))).content,
    );
    expect(gz[0]).toMatchObject({ type: 'resource', resource: { uri: 'demo://resource/session/note.txt.gz', mimeType: 'application/gzip' } });
    expect(gunzipSync(Buffer.from(gz[0].resource.blob, 'base64')).toString()).toBe(input);
  });

  test('a tool that throws is a tool error (is_error), not a failed RPC', async () => {
    await listed();
    const res = await ok(call(client, 'CallTool', { name: n('get-resource-reference'), arguments: args({ resourceType: 'Text', resourceId: 0 }) }));
    expect(res.isError).toBe(true);
    expect(texts(res.content).join(' ')).toContain('Invalid resourceId: 0');
  });

  test('CallToolStream: progress notifications from trigger-long-running-operation, then the result', async () => {
    await listed();
    const out = await streamCall(client, { name: n('trigger-long-running-operation'), arguments: args({ duration: 1, steps: 4 }) }, 10_000);
    expect(out.code).toBe(grpc.status.OK);
    expect(out.progress.map((p) => [p.progress, p.total, p.hasTotal])).toEqual([
      [1, 4, true],
      [2, 4, true],
      [3, 4, true],
      [4, 4, true],
    ]);
    expect(out.events[out.events.length - 1].result).toBeDefined();
    expect(texts(out.result.content)).toEqual(['Long running operation completed. Duration: 1 seconds, Steps: 4.']);
  });

  test('cancel: a CallToolStream cancelled after its first progress ends at once and is counted CANCELLED (not DEADLINE_EXCEEDED)', async () => {
    await listed();
    const before = await callCounts(platform, 'CallToolStream');
    const out = await streamCall(client, { name: n('trigger-long-running-operation'), arguments: args({ duration: 30, steps: 30 }) }, 20_000, (e) => (e.progress ? 'cancel' : undefined));
    expect(out.code).toBe(grpc.status.CANCELLED);
    expect(out.progress.length).toBe(1);
    expect(out.ms).toBeLessThan(5_000);
    // The router records the call when the backend call is aborted.
    let after: Record<string, number> = {};
    for (let t0 = Date.now(); Date.now() - t0 < 5_000; await sleep(100)) {
      after = await callCounts(platform, 'CallToolStream');
      const settled = Object.keys(after).reduce((s, k) => s + after[k], 0) > Object.keys(before).reduce((s, k) => s + before[k], 0);
      if (settled) break;
    }
    expect({ CANCELLED: (after.CANCELLED ?? 0) - (before.CANCELLED ?? 0), DEADLINE_EXCEEDED: (after.DEADLINE_EXCEEDED ?? 0) - (before.DEADLINE_EXCEEDED ?? 0) }).toEqual({ CANCELLED: 1, DEADLINE_EXCEEDED: 0 });
    // The session is still good.
    expect(texts((await ok(call(client, 'CallTool', { name: n('echo'), arguments: args({ message: 'after cancel' }) }))).content)).toEqual(['Echo: after cancel']);
  });

  test('deadline: a CallTool slower than its deadline gets DEADLINE_EXCEEDED on time', async () => {
    await listed();
    const out = await call(client, 'CallTool', { name: n('trigger-long-running-operation'), arguments: args({ duration: 5, steps: 1 }) }, 1_000);
    expect(out.err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(out.ms).toBeLessThan(2_000);
  });

  test('ListResources and ReadResource: the static documents', async () => {
    await listed();
    const res = await ok(call(client, 'ListResources', { server: NS }));
    // (gzip-file-as-resource above added a session resource, demo://resource/session/note.txt.gz, to
    // the session of the router that ran it: only that router lists it.)
    expect(res.resources.map((r: any) => r.uri).filter((u: string) => u.startsWith('demo://resource/static/')).sort()).toEqual(DOCS.map((d) => `demo://resource/static/document/${d}`));
    const features = res.resources.find((r: any) => r.name === 'features.md');
    expect(features).toMatchObject({ server: NS, mimeType: 'text/markdown', description: 'Static document file exposed from /docs: features.md' });
    const read = await ok(call(client, 'ReadResource', { uri: features.uri }));
    const [content] = blocks(read.contents);
    expect(content).toMatchObject({ uri: features.uri, mimeType: 'text/markdown' });
    expect(content.text).toContain('get-tiny-image');
    expect(read.server).toBe(NS);
  });

  test('ListResourceTemplates: the dynamic text and blob templates', async () => {
    await listed();
    const res = await ok(call(client, 'ListResourceTemplates', { server: NS }));
    expect(res.resourceTemplates.map((t: any) => [t.uriTemplate, t.name, t.server, t.mimeType]).sort()).toEqual([
      ['demo://resource/dynamic/blob/{resourceId}', 'Dynamic Blob Resource', NS, 'application/octet-stream'],
      ['demo://resource/dynamic/text/{resourceId}', 'Dynamic Text Resource', NS, 'text/plain'],
    ]);
  });

  test('ReadResource on a URI the server itself handed out in a resource link (a resource template, not in resources/list)', async () => {
    // server-everything's dynamic resources are ResourceTemplates
    // (demo://resource/dynamic/{text,blob}/{resourceId}); get-resource-links links to them.
    await listed();
    const read = await call(client, 'ReadResource', { uri: 'demo://resource/dynamic/text/2' });
    expect(read.err ? `${grpc.status[read.err.code]}: ${read.err.details}` : 'OK').toBe('OK');
    expect(blocks(read.res.contents)[0].text).toMatch(/^Resource 2: This is a plaintext resource/);
  });

  test('ListPrompts: prompts with and without arguments', async () => {
    await listed();
    const res = await ok(call(client, 'ListPrompts', { server: NS }));
    expect(res.prompts.map((p: any) => p.name).sort()).toEqual(PROMPTS.map((p) => `${NS}__${p}`).sort());
    const byName = new Map<string, any>(res.prompts.map((p: any) => [p.originalName, p]));
    expect(blocks(byName.get('simple-prompt').arguments)).toEqual([]);
    expect(blocks(byName.get('args-prompt').arguments)).toEqual([
      { name: 'city', description: 'Name of the city', required: true },
      // The published server's optional argument arrives without its description (zod .describe().optional()).
      { name: 'state', required: false },
    ]);
  });

  test('GetPrompt without and with arguments (required, optional, embedded resource)', async () => {
    await listed();
    const simple = await ok(call(client, 'GetPrompt', { name: `${NS}__simple-prompt` }));
    expect(blocks(simple.messages)).toEqual([{ role: 'user', content: { type: 'text', text: 'This is a simple prompt without arguments.' } }]);
    const city = await ok(call(client, 'GetPrompt', { name: `${NS}__args-prompt`, arguments: { city: 'Berlin' } }));
    expect(blocks(city.messages)[0].content.text).toBe("What's weather in Berlin?");
    const both = await ok(call(client, 'GetPrompt', { name: `${NS}__args-prompt`, arguments: { city: 'Portland', state: 'Oregon' } }));
    expect(blocks(both.messages)[0].content.text).toBe("What's weather in Portland, Oregon?");
    const withResource = blocks((await ok(call(client, 'GetPrompt', { name: `${NS}__resource-prompt`, arguments: { resourceType: 'Blob', resourceId: '3' } }))).messages);
    expect(withResource).toHaveLength(2);
    expect(withResource[1].content).toMatchObject({ type: 'resource', resource: { uri: 'demo://resource/dynamic/blob/3' } });
    expect(Buffer.from(withResource[1].content.resource.blob, 'base64').toString()).toMatch(/^Resource 3: This is a base64 blob/);
  });

  test('invalid arguments: INVALID_ARGUMENT within milliseconds, on CallTool, CallToolStream and GetPrompt', async () => {
    await listed();
    const bad = [
      { name: n('echo'), arguments: args({}) },
      { name: n('get-structured-content'), arguments: args({ location: 'Paris' }) },
      { name: n('get-sum'), arguments: args({ a: 'two', b: 1 }) },
      // "format": "uri" in the published schema: checked by the router (ajv-formats), not ignored.
      { name: n('gzip-file-as-resource'), arguments: args({ name: 'x.gz', data: 'not a uri', outputType: 'resource' }) },
    ];
    for (const req of bad) {
      const unary = await call(client, 'CallTool', req, 5_000);
      expect([req.name, unary.err ? grpc.status[unary.err.code] : `OK (is_error=${unary.res.isError}: ${texts(unary.res.content).join(' ').slice(0, 120)})`]).toEqual([req.name, 'INVALID_ARGUMENT']);
      expect(unary.ms).toBeLessThan(1_000);
    }
    for (const req of bad) {
      const stream = await streamCall(client, req, 5_000);
      expect([req.name, grpc.status[stream.code]]).toEqual([req.name, 'INVALID_ARGUMENT']);
      expect(stream.ms).toBeLessThan(1_000);
      expect(stream.events).toEqual([]);
    }
    const prompt = await call(client, 'GetPrompt', { name: `${NS}__args-prompt`, arguments: { state: 'Oregon' } });
    expect(prompt.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(prompt.err?.details).toContain('city');
  });

  test('unknown names: NOT_FOUND within milliseconds on every RPC, streaming included', async () => {
    await listed();
    const cases: Array<[string, () => Promise<{ code?: grpc.status; ms: number }>]> = [
      ['CallTool', async () => { const o = await call(client, 'CallTool', { name: n('no-such-tool'), arguments: args({}) }, 5_000); return { code: o.err?.code, ms: o.ms }; }],
      ['CallToolStream', async () => { const o = await streamCall(client, { name: n('no-such-tool'), arguments: args({}) }, 5_000); return { code: o.code, ms: o.ms }; }],
      ['GetPrompt', async () => { const o = await call(client, 'GetPrompt', { name: `${NS}__no-such-prompt` }, 5_000); return { code: o.err?.code, ms: o.ms }; }],
      ['ReadResource', async () => { const o = await call(client, 'ReadResource', { uri: 'demo://resource/static/document/no-such.md' }, 5_000); return { code: o.err?.code, ms: o.ms }; }],
      ['CallTool (unknown server)', async () => { const o = await call(client, 'CallTool', { name: 'nosuchserver__echo', arguments: args({}) }, 5_000); return { code: o.err?.code, ms: o.ms }; }],
    ];
    for (const [what, run] of cases) {
      const { code, ms } = await run();
      expect([what, code === undefined ? 'OK' : grpc.status[code]]).toEqual([what, 'NOT_FOUND']);
      expect([what, ms < 1_000]).toEqual([what, true]);
    }
  });

  test('a tool that needs MCP tasks (simulate-research-query, taskSupport "required") is not offered: the router cannot call it', async () => {
    // server-everything registers it for every client; called without task augmentation it answers
    // "MCP error -32601: ... requires task augmentation". The router's client does not do tasks.
    await listed();
    const tools = (await ok(call(client, 'ListTools', { server: NS }))).tools.map((t: any) => t.originalName);
    const res = await call(client, 'CallTool', { name: n('simulate-research-query'), arguments: args({ topic: 'routers' }) });
    expect({ listed: tools.includes('simulate-research-query'), status: res.err ? grpc.status[res.err.code] : `OK (is_error=${res.res.isError}: ${texts(res.res.content).join(' ')})` }).toEqual({ listed: false, status: 'NOT_FOUND' });
  });

  test('every router log line is a JSON object while serving server-everything (its schemas use formats such as "uri")', async () => {
    await listed();
    for (const i of platform.runningRouters()) {
      const lines = fs.readFileSync(path.join(platform.workDir, `router-${i}.log`), 'utf8').split('\n').filter((l) => l.trim() !== '');
      expect(lines.length).toBeGreaterThan(0);
      const notJson = lines.filter((l) => {
        try {
          const v = JSON.parse(l);
          return typeof v !== 'object' || v === null || Array.isArray(v);
        } catch {
          return true;
        }
      });
      expect([`router-${i}`, notJson]).toEqual([`router-${i}`, []]);
    }
  });

  test('through HAProxy, one channel\'s calls are answered by all 3 routers', async () => {
    await listed();
    const seen = new Map<string, number>();
    for (let k = 0; k < 30; k++) {
      const res = await ok(call(client, 'CallTool', { name: n('echo'), arguments: args({ message: `#${k}` }) }));
      expect(texts(res.content)).toEqual([`Echo: #${k}`]);
      seen.set(res.routerInstanceId, (seen.get(res.routerInstanceId) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['mcp-router-mcp-router-1', 'mcp-router-mcp-router-2', 'mcp-router-mcp-router-3']);
  });

  test('server log messages (toggle-simulated-logging) on the session do not disturb calls', async () => {
    await listed();
    const direct = createRouterClient(platform.routerTarget(1));
    try {
      const on = await ok(call(direct, 'CallTool', { name: n('toggle-simulated-logging'), arguments: args({}) }));
      expect(texts(on.content)[0]).toMatch(/^Started simulated, random-leveled logging for session /);
      for (let k = 0; k < 5; k++) expect(texts((await ok(call(direct, 'CallTool', { name: n('echo'), arguments: args({ message: 'x' }) }))).content)).toEqual(['Echo: x']);
      const off = await ok(call(direct, 'CallTool', { name: n('toggle-simulated-logging'), arguments: args({}) }));
      expect(texts(off.content)[0]).toMatch(/^Stopped simulated logging for session /);
    } finally {
      direct.close();
    }
  });

  /** Each running router's answer to an echo, retried every 250 ms for up to `withinMs`: the text, or the last error. */
  async function echoOnEveryRouter(withinMs: number): Promise<Record<string, string>> {
    const recovered: Record<string, string> = {};
    for (const i of platform.runningRouters()) {
      const c = createRouterClient(platform.routerTarget(i));
      try {
        let last = '';
        for (const t0 = Date.now(); Date.now() - t0 < withinMs; await sleep(250)) {
          const o = await call(c, 'CallTool', { name: n('echo'), arguments: args({ message: 'back' }) }, 3_000);
          last = o.err ? `${grpc.status[o.err.code]}: ${o.err.details}` : texts(o.res.content).join('');
          if (!o.err) break;
        }
        recovered[`router-${i}`] = last;
      } finally {
        c.close();
      }
    }
    return recovered;
  }

  // Last two: they restart the server.
  test('restarted while idle, faster than its Consul check notices, it answers the routers\' old sessions with HTTP 400: every router recovers within seconds', async () => {
    await listed();
    await everything.stop('SIGKILL');
    everything = await startEverythingServer(everything.host, everything.port);
    const recovered = await echoOnEveryRouter(6_000);
    expect(recovered).toEqual({ 'router-1': 'Echo: back', 'router-2': 'Echo: back', 'router-3': 'Echo: back' });
  });

  // While the server is down, the load's failed calls (connection refused) reset the sessions and open
  // the circuit breaker; after the restart the routers come back once the breaker lets a call through.
  test('restarted under load, faster than its Consul check notices: every router recovers within seconds, failures only meanwhile', async () => {
    await listed();
    const load = new SteadyLoad({ target: platform.endpoint, method: 'CallTool', request: { name: n('echo'), arguments: args({ message: 'load' }) }, concurrency: 2, pauseMs: 20, deadlineMs: 3_000, maxCalls: 20_000, maxDurationMs: 40_000 });
    try {
      await sleep(1_000);
      const killedAt = load.now();
      await everything.stop('SIGKILL');
      everything = await startEverythingServer(everything.host, everything.port);
      const restartedAt = load.now();
      const recovered = await echoOnEveryRouter(10_000);
      expect(recovered).toEqual({ 'router-1': 'Echo: back', 'router-2': 'Echo: back', 'router-3': 'Echo: back' });
      const recoveredAt = load.now();
      await sleep(2_000);
      const result = await load.stop();
      const after = result.records.filter((r) => r.start > recoveredAt);
      process.stdout.write(`[interop] server-everything restart under load: ${JSON.stringify({ calls: result.records.length, failed: result.failed, killedAt, restartedAt, recoveredAt, failureWindow: result.failureWindow, codes: [...new Set(result.failures.map((f) => grpc.status[f.code]))] })}\n`);
      expect(after.length).toBeGreaterThan(20);
      expect(after.filter((r) => r.code !== grpc.status.OK).map((r) => r.error)).toEqual([]);
      // Consul still has it passing: turning critical takes 10 failed checks (20 s), the restart took far less.
      const health = (await (await fetch(`${platform.consulHttp}/v1/health/checks/everything`)).json()) as Array<{ Status: string }>;
      expect(health.map((h) => h.Status)).toEqual(['passing']);
    } finally {
      await load.stop();
    }
  });
});
