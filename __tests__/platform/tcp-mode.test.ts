/**
 * Scenario 2 in tcp mode (the seed's): HAProxy balances whole connections, so
 * one channel sticks to one router while many connections spread.
 */
import { LocalPlatform } from '../../scripts/local-platform/platform';
import { waitUntil } from '../../scripts/local-platform/managed-process';
import { createRouterClient, unary } from '../../scripts/local-platform/router-client';
import { report, spread } from './helpers';

jest.setTimeout(120_000);

const N = 5;
const ids = Array.from({ length: N }, (_, i) => `mcp-router-mcp-router-${i + 1}`);
let platform: LocalPlatform;

beforeAll(async () => {
  platform = await LocalPlatform.start({ instances: N, mode: 'tcp', block: 'random' });
  await waitUntil('HAProxy has 5 routers UP', async () => (await platform.haproxyUpAddresses()).length === N, 30_000, 250);
});

afterAll(async () => {
  await platform?.close();
});

test('one connection stays on one router (tcp balances per connection)', async () => {
  const client = createRouterClient(platform.endpoint, true);
  try {
    const seen = new Set<string>();
    for (let k = 0; k < 50; k++) seen.add((await unary(client, 'ListTools', {})).routerInstanceId);
    expect(seen.size).toBe(1);
  } finally {
    client.close();
  }
});

test('50 connections are spread across all 5 routers', async () => {
  const byRouter: Record<string, number> = {};
  const clients = Array.from({ length: 50 }, () => createRouterClient(platform.endpoint, true));
  try {
    for (const c of clients) {
      const id = (await unary(c, 'ListTools', {})).routerInstanceId as string;
      byRouter[id] = (byRouter[id] ?? 0) + 1;
    }
  } finally {
    for (const c of clients) c.close();
  }
  const { shares, maxOverMin } = spread(byRouter, ids);
  report('scenario 2 tcp, 50 connections', { connectionsPerRouter: byRouter, shares, maxOverMin });
  expect(Object.keys(byRouter).sort()).toEqual(ids);
  // round robin over connections: 10 each, allow a little slack for health-check timing
  expect(maxOverMin).toBeLessThanOrEqual(1.5);
});
