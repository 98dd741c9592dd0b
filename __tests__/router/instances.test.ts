/**
 * Several instances of one MCP server (one namespace, as Consul discovery
 * gives them): calls are spread round-robin over the instances, and when one
 * dies, a call whose connection it refused goes to the next instance.
 */
import * as grpc from '@grpc/grpc-js';
import { unary } from '../../scripts/local-platform/router-client';
import { catalogSettled, DemoServerHandle, routerFor, RouterUnderTest, startDemoServer, struct } from '../support/demo-backends';

jest.setTimeout(30_000);

let a: DemoServerHandle;
let b: DemoServerHandle;
let r: RouterUnderTest;

beforeAll(async () => {
  [a, b] = await Promise.all([startDemoServer({ name: 'twin-a' }), startDemoServer({ name: 'twin-b' })]);
  r = await routerFor([], { MCP_ROUTER_BREAKER_FAILURES: '1', MCP_ROUTER_BREAKER_RESET_MS: '60000' }, 0);
  // What ConsulDiscovery hands the catalogue for two healthy instances of one service.
  r.router.catalog.setBackends([
    { id: 'twin-1', namespace: 'twin', url: a.url },
    { id: 'twin-2', namespace: 'twin', url: b.url },
  ]);
  const t0 = Date.now();
  while (!r.router.catalog.snapshot.tools.has('twin__whoami') && Date.now() - t0 < 10_000) await new Promise((res) => setTimeout(res, 25));
});

afterAll(async () => {
  await r?.close();
  await Promise.all([a?.close(), b?.close()]);
});

const whoami = async () => (await unary(r.client, 'CallTool', { name: 'twin__whoami', arguments: struct({}) })).content.values[0].structValue.fields.text.stringValue as string;

test('one namespace, one listing: the tools appear once', async () => {
  const names: string[] = (await unary(r.client, 'ListTools', {})).tools.map((t: any) => t.name);
  expect(names.filter((n) => n === 'twin__whoami')).toHaveLength(1);
  const servers = await unary(r.client, 'ListServers', {});
  expect(servers.servers.map((s: any) => `${s.name}/${s.instanceId}`).sort()).toEqual(['twin/twin-1', 'twin/twin-2']);
});

test('calls alternate between the instances', async () => {
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) seen.push(await whoami());
  expect(seen.filter((s) => s === 'twin-a')).toHaveLength(3);
  expect(seen.filter((s) => s === 'twin-b')).toHaveLength(3);
  for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
});

test('an instance that goes away is reported unhealthy by ListServers before any call reaches it (its notification stream broke)', async () => {
  const c = await startDemoServer({ name: 'twin-c' });
  r.router.catalog.setBackends([
    { id: 'twin-1', namespace: 'twin', url: a.url },
    { id: 'twin-2', namespace: 'twin', url: b.url },
    { id: 'twin-3', namespace: 'twin', url: c.url },
  ]);
  const state = async () => (await unary(r.client, 'ListServers', {})).servers.find((s: any) => s.instanceId === 'twin-3');
  const t0 = Date.now();
  while (!(await state())?.healthy && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 25));
  expect(await state()).toMatchObject({ healthy: true });
  // No listing still in flight to twin-3 when it goes (that would be a call reaching it).
  await catalogSettled(r.router);
  await c.close();
  const t1 = Date.now();
  while ((await state()).healthy && Date.now() - t1 < 5000) await new Promise((res) => setTimeout(res, 25));
  expect(await state()).toMatchObject({ healthy: false, circuitState: 'closed', lastError: expect.stringMatching(/ECONNREFUSED|ECONNRESET|response cut/) });
  r.router.catalog.setBackends([
    { id: 'twin-1', namespace: 'twin', url: a.url },
    { id: 'twin-2', namespace: 'twin', url: b.url },
  ]);
});

test('an instance dies: no call fails (a refused connection never reached it, so the next instance takes the call), and its circuit opens', async () => {
  await b.close();
  const answers: string[] = [];
  for (let i = 0; i < 6; i++) answers.push(await whoami());
  expect(answers).toEqual(Array(6).fill('twin-a'));
  const servers = await unary(r.client, 'ListServers', {});
  expect(servers.servers.find((s: any) => s.instanceId === 'twin-2')).toMatchObject({ healthy: false, circuitState: 'open' });
  expect(servers.servers.find((s: any) => s.instanceId === 'twin-1')).toMatchObject({ healthy: true, circuitState: 'closed' });
});

test('every instance down: UNAVAILABLE naming the server', async () => {
  await a.close();
  await expect(unary(r.client, 'CallTool', { name: 'twin__whoami', arguments: struct({}) })).rejects.toMatchObject({
    code: grpc.status.UNAVAILABLE,
    details: expect.stringContaining('twin'),
  });
});
