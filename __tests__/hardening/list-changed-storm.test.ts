/**
 * A backend that says "my lists changed" without pause. Every list_changed started a rebuild that
 * lists every backend again, so one such backend kept the router, and every other backend,
 * relisting for as long as it liked. Now a backend's list_changed starts at most one rebuild per
 * LIST_CHANGED_MIN_INTERVAL_MS (catalog.ts); the ones in between become one rebuild at the end of
 * the window, so the last change is always read.
 *
 * The Catalog runs in-process against real MCP servers (the SDK's) that count the listings they
 * answer. The notifications themselves are raised on the backend object (the event the SDK
 * client's notification handler raises), 1,000 in 2 s: a server sending them over its stream
 * needs a stateful session, and what is under test is what the router does with them.
 */
import { Catalog, LIST_CHANGED_MIN_INTERVAL_MS } from '../../router-app/src/mcp/catalog';
import { createLogger } from '../../router-app/src/logger';
import { HostileServer, report, startHostileServer, waitUntil } from './harness';

jest.setTimeout(60_000);

test('1,000 list_changed from one backend in 2 s: a handful of rebuilds, the other backend listed as often, the last change read', async () => {
  let generation = 0;
  const noisy: HostileServer = await startHostileServer('noisy', { listTools: () => ({ tools: [{ name: `gen_${generation}`, inputSchema: { type: 'object' } }] }) });
  const quiet: HostileServer = await startHostileServer('quiet', {});
  const logger = createLogger('silent', 'storm-test');
  const catalog = new Catalog({ connectTimeoutMs: 2_000, breakerFailures: 5, breakerResetMs: 1_000, maxResponseBytes: 1 << 20, logger }, 3_600_000, logger);
  try {
    catalog.setBackends([
      { id: 'static:noisy', namespace: 'noisy', url: noisy.url },
      { id: 'static:quiet', namespace: 'quiet', url: quiet.url },
    ]);
    await catalog.settled();
    expect([...catalog.snapshot.tools.keys()].sort()).toEqual(['noisy__gen_0', 'quiet__ping']);
    const before = { noisy: noisy.listRequests(), quiet: quiet.listRequests() };
    const backend = catalog.allBackends().find((b) => b.id === 'static:noisy')!;
    const t0 = Date.now();
    for (let i = 0; i < 1_000; i++) {
      generation = i + 1;
      backend.emit('list_changed');
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 20));
    }
    const stormMs = Date.now() - t0;
    // The last change is read: after the window, one more rebuild lists generation 1000.
    await waitUntil('the last change listed', () => catalog.snapshot.tools.has('noisy__gen_1000'), 3 * LIST_CHANGED_MIN_INTERVAL_MS + 5_000);
    await catalog.settled();
    const rebuilds = { noisy: noisy.listRequests() - before.noisy, quiet: quiet.listRequests() - before.quiet };
    // At most one per window while it lasted, plus the one at the end (and one coalesced run each).
    const bound = 2 * (Math.ceil(stormMs / LIST_CHANGED_MIN_INTERVAL_MS) + 2);
    expect(rebuilds.noisy).toBeLessThanOrEqual(bound);
    expect(rebuilds.quiet).toBeLessThanOrEqual(bound);
    expect(rebuilds.noisy).toBeGreaterThanOrEqual(2);
    report('list_changed storm', { notifications: 1_000, stormMs, listings: rebuilds, bound });
  } finally {
    await catalog.close();
    await noisy.close();
    await quiet.close();
  }
});
