/**
 * Standard MCP clients through the platform's MCP listener: real HAProxy
 * (generated config), 3 router processes, Consul and a demo MCP server on
 * loopback. The official SDK client lists and calls (progress, cancel), its
 * calls spread over the routers, and its session survives the loss of the
 * router that served it, a rolling restart and scaling 3 → 5 → 3; the MCP
 * Inspector's CLI (2.x, on Node 22 as it requires) lists and calls a tool.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LocalPlatform } from '../../scripts/local-platform/platform';
import { sleep, waitUntil } from '../../scripts/local-platform/managed-process';
import { report, spread } from '../platform/helpers';
import { requireTool } from '../support/tools';
import { AbortListenerWatch, watchAbortListeners } from '../support/abort-listener-warnings';

jest.setTimeout(240_000);

const N = 3;
let platform: LocalPlatform;

beforeAll(async () => {
  platform = await LocalPlatform.start({ instances: N, mode: 'http', block: 'random', maxInstances: 10 });
  await waitUntil('HAProxy has every router UP for MCP', async () => (await platform.haproxyUpAddresses('mcp_http_backend')).length === N, 45_000, 250);
});
afterAll(async () => {
  await platform?.close();
});

/** Each client's transport signal, watched (the SDK's one signal for every fetch: see the helper). */
const abortListeners = new WeakMap<Client, AbortListenerWatch>();

async function connect(): Promise<Client> {
  const client = new Client({ name: 'through-haproxy', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(platform.mcpUrl));
  await client.connect(transport);
  abortListeners.set(client, watchAbortListeners(transport));
  return client;
}

/** MCP tools/call requests each running router has answered (its own metrics). */
async function callsByRouter(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [i, proc] of platform.routers) {
    if (!proc.running) continue;
    const text = await (await fetch(`http://${platform.block.routerAddress(i)}:${platform.ports.routerAdmin}/metrics`)).text();
    out[`router-${i}`] = [...text.matchAll(/mcp_router_mcp_requests_total\{method="tools\/call",status="200"\} (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
  }
  return out;
}

/** Each start of each router as its log tells it: when it was ready and with how many tools (what a failed call is read against). */
function routerStarts(): Array<{ router: string; time: string; tools: number; ms: number }> {
  return [...platform.routers.keys()].flatMap((i) =>
    fs
      .readFileSync(path.join(platform.workDir, `router-${i}.log`), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"router ready"'))
      .map((l) => JSON.parse(l) as { time: string; tools: number; ms: number })
      .map((r) => ({ router: `router-${i}`, time: r.time, tools: r.tools, ms: r.ms })),
  );
}

const echo = async (client: Client, text: string) => (await client.callTool({ name: 'demo__echo', arguments: { text } })).content;

test('the SDK client lists and calls tools, streams progress, cancels, lists and reads resources and prompts', async () => {
  const client = await connect();
  try {
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(['demo__echo', 'demo__slow']));
    expect(await echo(client, 'through haproxy')).toEqual([{ type: 'text', text: 'through haproxy' }]);
    const progress: number[] = [];
    await client.callTool({ name: 'demo__slow', arguments: { steps: 5, stepMs: 100 } }, undefined, { onprogress: (p) => progress.push(p.progress) });
    expect(progress).toEqual([1, 2, 3, 4, 5]);
    const ac = new AbortController();
    const cancelled = client.callTool({ name: 'demo__slow', arguments: { steps: 100, stepMs: 50 } }, undefined, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('user cancelled')), 300);
    await expect(cancelled).rejects.toThrow();
    expect((await client.listResources()).resources.map((r) => r.uri)).toContain('demo://demo/readme');
    expect((await client.readResource({ uri: 'demo://demo/readme' })).contents).toHaveLength(1);
    expect((await client.getPrompt({ name: 'demo__greet', arguments: { who: 'HAProxy' } })).messages).toHaveLength(1);
  } finally {
    await client.close();
  }
});

test('300 calls of one client session spread over all 3 routers', async () => {
  const before = await callsByRouter();
  const client = await connect();
  try {
    for (let k = 0; k < 300; k++) await echo(client, `n${k}`);
  } finally {
    await client.close();
  }
  const after = await callsByRouter();
  const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]));
  const { shares, maxOverMin } = spread(delta, Object.keys(after));
  report('mcp 300 calls of one session', { perRouter: delta, shares, maxOverMin });
  expect(Object.values(delta).reduce((a, b) => a + b, 0)).toBe(300);
  expect(Object.values(delta).every((n) => n > 0)).toBe(true);
  expect(maxOverMin).toBeLessThanOrEqual(1.15);
});

test('the session survives SIGKILL of the router that served its last request, a rolling restart, and scaling 3 → 5 → 3', async () => {
  const client = await connect();
  let calls = 0;
  let failed = 0;
  const failures: string[] = [];
  const call = async () => {
    calls++;
    if (calls % 100 === 0) abortListeners.get(client)!.sample();
    try {
      await echo(client, `c${calls}`);
    } catch (err) {
      failed++;
      failures.push((err as Error).message);
    }
  };
  try {
    // Which router served the last call: the one whose tools/call count moved.
    const before = await callsByRouter();
    await call();
    const after = await callsByRouter();
    const served = Object.keys(after).find((k) => after[k] > (before[k] ?? 0))!;
    const victim = Number(served.split('-')[1]);
    await platform.stopRouter(victim, 'SIGKILL');
    const t0 = Date.now();
    for (let k = 0; k < 50; k++) await call();
    const afterKill = { calls, failed, ms: Date.now() - t0 };
    await platform.startRouter(victim);
    await waitUntil('the restarted router is UP for MCP', async () => (await platform.haproxyUpAddresses('mcp_http_backend')).length === N, 45_000, 250);

    // Rolling restart: each router in turn drains (SIGTERM), exits and comes back, under steady calls.
    const rolling = { calls: 0, failed: 0 };
    for (let i = 1; i <= N; i++) {
      const c0 = calls;
      const f0 = failed;
      const stopping = platform.stopRouter(i, 'SIGTERM');
      while (!(await Promise.race([stopping.then(() => true), sleep(0).then(() => false)]))) await call();
      await platform.startRouter(i);
      await waitUntil(`router ${i} back UP for MCP`, async () => (await platform.haproxyUpAddresses('mcp_http_backend')).length === N, 45_000, 250);
      rolling.calls += calls - c0;
      rolling.failed += failed - f0;
    }

    // Scale 3 → 5 → 3.
    const c0 = calls;
    const f0 = failed;
    await Promise.all([platform.startRouter(4), platform.startRouter(5)]);
    await waitUntil('5 routers UP for MCP', async () => (await platform.haproxyUpAddresses('mcp_http_backend')).length === 5, 45_000, 250);
    for (let k = 0; k < 100; k++) await call();
    const down = Promise.all([platform.stopRouter(4, 'SIGTERM'), platform.stopRouter(5, 'SIGTERM')]);
    while (!(await Promise.race([down.then(() => true), sleep(0).then(() => false)]))) await call();
    const scaling = { calls: calls - c0, failed: failed - f0 };

    const starts = routerStarts();
    report('mcp session under router loss', { afterKill, rolling, scaling, firstFailures: failures.slice(0, 3), ...(failed ? { routerStarts: starts } : {}), sdkTransportAbortListenersMax: abortListeners.get(client)!.sample() });
    // The killed router held nothing of the session: no call after the kill failed (none was in flight on it).
    expect(afterKill.failed).toBe(0);
    expect(rolling.failed).toBe(0);
    expect(rolling.calls).toBeGreaterThan(10);
    expect(scaling.failed).toBe(0);
    // Every router that started during the test was ready with the demo server's tools (the first start may precede the server's first passing check).
    expect(starts.filter((r) => Date.parse(r.time) >= t0).map((r) => r.tools)).toEqual(starts.filter((r) => Date.parse(r.time) >= t0).map(() => 5));
  } finally {
    await client.close();
  }
});

test('the MCP Inspector CLI lists the tools and calls one through HAProxy', async () => {
  const node22 = requireTool('node22');
  const inspector = requireTool('inspector');
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(node22, [inspector, '--cli', platform.mcpUrl, '--transport', 'http', ...args], { timeout: 60_000, env: { ...process.env, HOME: platform.workDir } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const list = await run(['--method', 'tools/list']);
  expect({ code: list.code, stderr: list.code ? list.stderr : '' }).toEqual({ code: 0, stderr: '' });
  const tools = JSON.parse(list.stdout).tools.map((t: { name: string }) => t.name);
  expect(tools).toEqual(expect.arrayContaining(['demo__echo', 'demo__add']));
  const call = await run(['--method', 'tools/call', '--tool-name', 'demo__add', '--tool-arg', 'a=2', 'b=3']);
  expect({ code: call.code, stderr: call.code ? call.stderr : '' }).toEqual({ code: 0, stderr: '' });
  expect(JSON.parse(call.stdout)).toMatchObject({ structuredContent: { sum: 5 } });
  report('mcp inspector cli', { tools: tools.length, add: JSON.parse(call.stdout).structuredContent });
});
