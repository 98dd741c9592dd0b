/**
 * Scenarios 4, 5 and 7: rolling restart and scale 3 -> 5 -> 3 under steady
 * load with zero failed calls, and an MCP backend dying and coming back.
 */
import * as grpc from '@grpc/grpc-js';
import { LocalPlatform } from '../../scripts/local-platform/platform';
import { waitUntil, sleep } from '../../scripts/local-platform/managed-process';
import { SteadyLoad } from '../../scripts/local-platform/steady-load';
import { createRouterClient, unary } from '../../scripts/local-platform/router-client';
import { report } from './helpers';

jest.setTimeout(240_000);

let platform: LocalPlatform;
const upCount = async () => (await platform.haproxyUpAddresses()).length;

beforeAll(async () => {
  platform = await LocalPlatform.start({ instances: 3, mode: 'http', block: 'random', backends: ['demo', 'other'] });
  await waitUntil('HAProxy has 3 routers UP', async () => (await upCount()) === 3, 30_000, 250);
});

afterAll(async () => {
  await platform?.close();
});

test('scenario 4: rolling restart (SIGTERM, start again, next) under steady load fails zero calls', async () => {
  const load = new SteadyLoad({ target: platform.endpoint, concurrency: 4, maxCalls: 300_000, maxDurationMs: 150_000 });
  const exits: Array<{ code: number | null; signal: string | null }> = [];
  for (const i of [1, 2, 3]) {
    exits.push(await platform.stopRouter(i, 'SIGTERM'));
    await platform.startRouter(i);
    await waitUntil(`router-${i} back UP in HAProxy`, async () => (await platform.haproxyUpAddresses()).includes(platform.block.routerAddress(i)), 30_000, 200);
  }
  const result = await load.stop();
  report('scenario 4', { calls: result.records.length, failed: result.failed, byRouter: result.byRouter, firstFailures: result.failures.slice(0, 3) });
  expect(exits).toEqual([
    { code: 0, signal: null },
    { code: 0, signal: null },
    { code: 0, signal: null },
  ]);
  expect(result.records.length).toBeGreaterThan(200);
  expect(result.failed).toBe(0);
});

test('scenario 5: scale 3 -> 5 under load: new routers get calls within a bounded time; back to 3 gracefully with zero failures', async () => {
  const load = new SteadyLoad({ target: platform.endpoint, concurrency: 4, maxCalls: 300_000, maxDurationMs: 120_000 });
  await sleep(1_000);
  const scaledAt = load.now();
  await Promise.all([platform.startRouter(4), platform.startRouter(5)]);
  const newIds = ['mcp-router-mcp-router-4', 'mcp-router-mcp-router-5'];
  const firstCallMs = await waitUntil(
    'routers 4 and 5 answer calls through HAProxy',
    () => {
      const by = load.snapshot().byRouter;
      return newIds.every((id) => (by[id] ?? 0) > 0);
    },
    30_000,
    100,
  );
  await Promise.all([platform.stopRouter(4, 'SIGTERM'), platform.stopRouter(5, 'SIGTERM')]);
  await waitUntil('HAProxy back to 3 routers', async () => (await upCount()) === 3, 30_000, 200);
  await sleep(1_000);
  const result = await load.stop();
  report('scenario 5', { newRoutersServingAfterMs: firstCallMs, scaledAtMs: scaledAt, calls: result.records.length, failed: result.failed, byRouter: result.byRouter });
  expect(firstCallMs).toBeLessThanOrEqual(15_000);
  expect(result.failed).toBe(0);
});

test('scenario 7: a dead MCP backend fails fast with UNAVAILABLE, others keep working, and its tools come back', async () => {
  const client = createRouterClient(platform.endpoint);
  const echo = (name: string) => unary(client, 'CallTool', { name, arguments: { fields: { text: { stringValue: 'ping' } } } }, 5_000);
  try {
    await waitUntil('both backends\' tools are listed', async () => {
      const tools: string[] = (await unary(client, 'ListTools', {})).tools.map((t: any) => t.name);
      return tools.includes('demo__echo') && tools.includes('other__echo');
    }, 30_000, 250);
    await platform.stopBackend('other', 'SIGKILL');

    const started = Date.now();
    let err: grpc.ServiceError | undefined;
    try {
      await echo('other__echo');
    } catch (e) {
      err = e as grpc.ServiceError;
    }
    const failMs = Date.now() - started;
    // Either the backend is already gone from discovery (NOT_FOUND) or the call fails fast as UNAVAILABLE.
    expect(err).toBeDefined();
    expect([grpc.status.UNAVAILABLE, grpc.status.NOT_FOUND]).toContain(err!.code);
    expect(failMs).toBeLessThan(3_000);
    // Repeated calls never hang either.
    for (let k = 0; k < 5; k++) {
      const t0 = Date.now();
      await expect(echo('other__echo')).rejects.toMatchObject({ code: expect.any(Number) });
      expect(Date.now() - t0).toBeLessThan(3_000);
    }
    const ok = await echo('demo__echo');
    expect(ok.isError).toBe(false);

    await platform.startBackend('other');
    const backMs = await waitUntil('other__echo works again', async () => {
      try {
        return (await echo('other__echo')).isError === false;
      } catch {
        return false;
      }
    }, 30_000, 250);
    report('scenario 7', { firstFailureCode: grpc.status[err!.code], firstFailureMs: failMs, backAfterRestartMs: backMs });
  } finally {
    client.close();
  }
});
