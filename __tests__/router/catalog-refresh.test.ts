/**
 * When the cached catalogue is refreshed (a backend's
 * notifications/tools/list_changed, the TTL), and the default MCP timeout for
 * calls that carry no gRPC deadline. Real SDK servers, real gRPC client.
 */
import * as grpc from '@grpc/grpc-js';
import { unary } from '../../scripts/local-platform/router-client';
import { DemoServerHandle, routerFor, RouterUnderTest, startDemoServer, struct } from '../support/demo-backends';

jest.setTimeout(60_000);

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const toolNames = async (r: RouterUnderTest): Promise<string[]> => (await unary(r.client, 'ListTools', {})).tools.map((t: any) => t.name);

test('notifications/tools/list_changed from a backend refreshes the catalogue (long TTL, so only the notification can do it)', async () => {
  const [a, b] = await Promise.all([startDemoServer({ name: 'one' }), startDemoServer({ name: 'two' })]);
  const r = await routerFor([{ name: 'one', url: a.url }, { name: 'two', url: b.url }], { MCP_ROUTER_CATALOG_TTL_MS: '3600000' });
  try {
    expect(await toolNames(r)).not.toContain('two__late');
    const versionBefore = r.router.catalog.snapshot.version;
    b.addTool('late', 'added later');
    await waitFor(async () => (await toolNames(r)).includes('two__late'), 5000);
    expect(r.router.catalog.snapshot.version).toBeGreaterThan(versionBefore);
    const res = await unary(r.client, 'CallTool', { name: 'two__late', arguments: struct({}) });
    expect(res.content.values[0].structValue.fields.text.stringValue).toBe('added later');
    // The other backend's tools are still there.
    expect(await toolNames(r)).toEqual(expect.arrayContaining(['one__echo', 'two__echo']));
  } finally {
    await r.close();
    await Promise.all([a.close(), b.close()]);
  }
});

test('the TTL refresh picks up a backend that was down when the router started', async () => {
  const probe = await startDemoServer({ name: 'late' });
  const { port, url } = probe;
  await probe.close();
  const r = await routerFor([], { MCP_BACKENDS: JSON.stringify([{ name: 'late', url }]), MCP_ROUTER_CATALOG_TTL_MS: '1000' });
  let back: DemoServerHandle | undefined;
  try {
    expect(await toolNames(r)).toEqual([]);
    back = await startDemoServer({ name: 'late', port });
    const ms = await waitFor(async () => (await toolNames(r)).includes('late__echo'), 8000);
    expect(ms).toBeGreaterThan(0);
    const servers = await unary(r.client, 'ListServers', {});
    expect(servers.servers[0]).toMatchObject({ name: 'late', healthy: true });
  } finally {
    await r.close();
    await back?.close();
  }
});

test('a call without a gRPC deadline gets MCP_ROUTER_DEFAULT_TIMEOUT_MS: DEADLINE_EXCEEDED and the backend is told to cancel', async () => {
  const d = await startDemoServer({ name: 'd' });
  const r = await routerFor([{ name: 'd', url: d.url }], { MCP_ROUTER_DEFAULT_TIMEOUT_MS: '300' });
  try {
    const err: grpc.ServiceError = await new Promise((resolve, reject) => {
      // No deadline in the call options.
      r.client.CallTool({ name: 'd__slow', arguments: struct({ steps: 20, stepMs: 100 }) }, new grpc.Metadata(), {}, (e, res) => (e ? resolve(e) : reject(new Error(`unexpected success ${JSON.stringify(res)}`))));
    });
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await waitFor(async () => d.cancelled.length === 1, 3000);
    // A quick call on the same session still works.
    const ok = await unary(r.client, 'CallTool', { name: 'd__echo', arguments: struct({ text: 'after' }) });
    expect(ok.isError).toBe(false);
  } finally {
    await r.close();
    await d.close();
  }
});
