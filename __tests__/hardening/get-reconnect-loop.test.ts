/**
 * A backend that answers the router's GET notification stream with `retry: 0` and closes it at
 * once. The SDK's transport reconnects a closed GET stream after the delay the backend's `retry:`
 * asks for, counting attempts from zero again each time, so the router reconnected without pause
 * for as long as the backend liked. Now one session's GETs come in a burst of GET_BURST, then one
 * per MIN_GET_INTERVAL_MS (backend-fetch.ts); the burst keeps a well-behaved backend's own
 * `retry:` timing (__tests__/interop/conformance.test.ts, sse-retry). Real processes: the router and a real MCP server (the
 * SDK's) whose GET answer is the hostile one.
 */
import { unary } from '../../scripts/local-platform/router-client';
import { GET_BURST, MIN_GET_INTERVAL_MS } from '../../router-app/src/mcp/backend-fetch';
import { killLeftovers, report, RouterProcess, sleep, startHostileServer, startRouterProcess } from './harness';

jest.setTimeout(60_000);

afterAll(killLeftovers);

test('a GET stream answered with retry: 0 and closed: the router reconnects once a second, not without pause, and calls go on', async () => {
  const gets: number[] = [];
  const backend = await startHostileServer('flappy', {
    intercept: (_msg, req, res) => {
      if (req.method !== 'GET') return false;
      gets.push(Date.now());
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.end('retry: 0\n\n');
      return true;
    },
  });
  let router: RouterProcess | undefined;
  try {
    router = await startRouterProcess({ MCP_BACKENDS: JSON.stringify([{ name: 'flappy', url: backend.url }]) });
    await router.ready();
    const listed = await unary<{ tools: Array<{ name: string }> }>(router.client, 'ListTools', {});
    expect(listed.tools.map((t) => t.name)).toContain('flappy__ping');
    const from = gets.length;
    const windowMs = 4_000;
    await sleep(windowMs);
    const inWindow = gets.length - from;
    expect(gets.length).toBeGreaterThan(0);
    // One per interval once the burst is spent (at most a burst's worth more).
    expect(inWindow).toBeLessThanOrEqual(Math.ceil(windowMs / MIN_GET_INTERVAL_MS) + GET_BURST);
    await expect(unary(router.client, 'CallTool', { name: 'flappy__ping' })).resolves.toBeDefined();
    report('GET reconnect loop', { getsInWindow: inWindow, windowMs, total: gets.length });
  } finally {
    await router?.stop();
    await backend.close();
  }
});
