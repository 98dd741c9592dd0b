/**
 * Scenarios 8 and 6: HAProxy starts before any router exists and picks them up
 * as they register; then Consul restarts and routers re-register by
 * themselves while HAProxy keeps serving.
 */
import * as grpc from '@grpc/grpc-js';
import { LocalPlatform } from '../../scripts/local-platform/platform';
import { waitUntil, sleep } from '../../scripts/local-platform/managed-process';
import { SteadyLoad } from '../../scripts/local-platform/steady-load';
import { report } from './helpers';

jest.setTimeout(180_000);

let platform: LocalPlatform;

beforeAll(async () => {
  platform = await LocalPlatform.start({ instances: 0, mode: 'http', block: 'random', haproxyFirst: true });
});

afterAll(async () => {
  await platform?.close();
});

test('scenario 8: HAProxy starts with no routers, then picks them up as they register', async () => {
  expect(platform.haproxy?.running).toBe(true);
  expect(await platform.haproxyUpAddresses()).toEqual([]);
  const t0 = Date.now();
  await Promise.all([platform.startRouter(1), platform.startRouter(2)]);
  await waitUntil('HAProxy has both routers UP', async () => (await platform.haproxyUpAddresses()).length === 2, 30_000, 200);
  report('scenario 8', { routersUpInHaproxyAfterMs: Date.now() - t0 });
});

test('scenario 6: Consul restarts; routers re-register and pass again; HAProxy keeps serving throughout', async () => {
  const load = new SteadyLoad({ target: platform.endpoint, concurrency: 2, maxCalls: 200_000, maxDurationMs: 90_000 });
  await sleep(1_000);
  const ids = ['mcp-router-mcp-router-1', 'mcp-router-mcp-router-2'];
  expect(await platform.passingRouterIds()).toEqual(ids);

  // A dev-style restart that loses the catalogue: stop, wipe data, start.
  await platform.stopConsul('SIGTERM');
  await platform.wipeConsulData();
  await sleep(2_000);
  await platform.startConsul();
  const reregisteredMs = await waitUntil('routers re-registered and passing', async () => (await platform.passingRouterIds()).length === 2, 60_000, 250);
  await sleep(2_000);
  const result = await load.stop();
  report('scenario 6', { reregisteredAndPassingAfterMs: reregisteredMs, calls: result.records.length, failed: result.failed, codes: [...new Set(result.failures.map((f) => grpc.status[f.code]))] });
  expect(await platform.passingRouterIds()).toEqual(ids);
  expect(result.records.length).toBeGreaterThan(100);
  expect(result.failed).toBe(0);
});
