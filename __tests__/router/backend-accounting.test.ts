/**
 * What the router counts and how it picks instances: every backend request by
 * outcome (mcp_router_backend_calls_total), series of a backend that went
 * away removed, a failover order per call (concurrent calls with one dead
 * instance all succeed on their first live alternative), and a circuit
 * breaker whose half-open trial is settled by every outcome.
 */
import * as grpc from '@grpc/grpc-js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CircuitBreaker } from '../../router-app/src/mcp/circuit-breaker';
import { unary } from '../../scripts/local-platform/router-client';
import { catalogSettled, closedPort, DemoServerHandle, eventually, routerFor, RouterUnderTest, startDemoServer, struct } from '../support/demo-backends';

jest.setTimeout(60_000);

const metricsText = async (r: RouterUnderTest) => (await fetch(`http://127.0.0.1:${r.router.metricsPort}/metrics`)).text();
const series = (text: string, backend: string) =>
  Object.fromEntries([...text.matchAll(new RegExp(`mcp_router_backend_calls_total\\{backend="${backend}",outcome="([a-z_]+)"\\} (\\d+)`, 'g'))].map((m) => [m[1], Number(m[2])]));

describe('mcp_router_backend_calls_total', () => {
  let demo: DemoServerHandle;
  let r: RouterUnderTest;
  beforeAll(async () => {
    demo = await startDemoServer({ name: 'acct' });
    r = await routerFor([{ name: 'acct', url: demo.url }], { MCP_ROUTER_BREAKER_FAILURES: '1', MCP_ROUTER_BREAKER_RESET_MS: '60000' });
  });
  afterAll(async () => {
    await r?.close();
    await demo?.close();
  });

  test('counts each outcome, and the series go when the backend goes', async () => {
    const before = series(await metricsText(r), 'static:acct');
    await unary(r.client, 'CallTool', { name: 'acct__echo', arguments: struct({ text: 'x' }) });
    // An MCP error from the backend (JSON-RPC "method not found"), through the backend's own request path.
    const [backend] = r.router.catalog.allBackends();
    const mcpError = await backend.request((c) => c.request({ method: 'no/such/method' }, z.object({}))).catch((e: Error) => e);
    expect(mcpError).toBeInstanceOf(McpError);
    await unary(r.client, 'GetPrompt', { name: 'acct__greet', arguments: {} }).catch(() => undefined); // refused by the router: not a backend call
    const timeout = await unary(r.client, 'CallTool', { name: 'acct__slow', arguments: struct({ steps: 10, stepMs: 100 }) }, 300).catch((e: grpc.ServiceError) => e.code);
    expect(timeout).toBe(grpc.status.DEADLINE_EXCEEDED);
    // Cancelled once the call is surely running on the backend (its first progress event), so the
    // cancel is the backend call's outcome however busy the machine is.
    await new Promise<void>((resolve) => {
      const s = r.client.CallToolStream({ name: 'acct__slow', arguments: struct({ steps: 40, stepMs: 50 }) }, new grpc.Metadata(), {});
      s.once('data', () => s.cancel());
      s.on('error', () => resolve());
      s.on('end', () => resolve());
    });
    await catalogSettled(r.router);
    await demo.close();
    const down = await unary(r.client, 'CallTool', { name: 'acct__echo', arguments: struct({ text: 'x' }) }).catch((e: grpc.ServiceError) => e.code);
    expect(down).toBe(grpc.status.UNAVAILABLE);
    const open = await unary(r.client, 'CallTool', { name: 'acct__echo', arguments: struct({ text: 'x' }) }).catch((e: grpc.ServiceError) => e.code);
    expect(open).toBe(grpc.status.UNAVAILABLE);
    const delta = (k: string, after: Record<string, number>) => (after[k] ?? 0) - (before[k] ?? 0);
    expect(await eventually(async () => delta('cancelled', series(await metricsText(r), 'static:acct')) === 1, 3000)).toBe(true);
    const after = series(await metricsText(r), 'static:acct');
    expect({ ok: delta('ok', after) >= 1, timeout: delta('timeout', after), cancelled: delta('cancelled', after), unavailable: delta('unavailable', after), circuit_open: delta('circuit_open', after) }).toEqual({
      ok: true,
      timeout: 1,
      cancelled: 1,
      unavailable: 1,
      circuit_open: 1,
    });
    expect(delta('mcp_error', after)).toBe(1);
    expect(await metricsText(r)).toMatch(/mcp_router_backend_up\{backend="static:acct"\}/);

    r.router.catalog.setBackends([]);
    const gone = await metricsText(r);
    expect(gone).not.toMatch(/backend="static:acct"/);
  });
});

describe('failover: each call has its own order over the instances', () => {
  let live: DemoServerHandle[];
  let r: RouterUnderTest;
  beforeAll(async () => {
    live = await Promise.all([startDemoServer({ name: 'pool-a' }), startDemoServer({ name: 'pool-b' })]);
    const dead = await closedPort();
    // Breaker never opens here, so every call meets the dead instance in its own turn.
    r = await routerFor([], { MCP_ROUTER_BREAKER_FAILURES: '1000' }, 0);
    r.router.catalog.setBackends([
      { id: 'pool-1', namespace: 'pool', url: live[0].url },
      { id: 'pool-2', namespace: 'pool', url: `http://127.0.0.1:${dead}/mcp` },
      { id: 'pool-3', namespace: 'pool', url: live[1].url },
    ]);
    expect(await eventually(() => r.router.catalog.snapshot.tools.has('pool__whoami'), 10_000)).toBe(true);
    await catalogSettled(r.router);
  });
  afterAll(async () => {
    await r?.close();
    await Promise.all(live.map((d) => d.close()));
  });

  test('60 concurrent calls with one dead instance of three: all succeed, both live instances serve', async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, () => unary(r.client, 'CallTool', { name: 'pool__whoami', arguments: struct({}) }).then((res: any) => res.content.values[0].structValue.fields.text.stringValue as string)),
    );
    expect(results).toHaveLength(60);
    const counts = results.reduce<Record<string, number>>((m, n) => ((m[n] = (m[n] ?? 0) + 1), m), {});
    expect(Object.keys(counts).sort()).toEqual(['pool-a', 'pool-b']);
    expect(Math.min(...Object.values(counts))).toBeGreaterThanOrEqual(15);
  });

  test('the order rotates per call and puts open circuits last', () => {
    const orders = Array.from({ length: 3 }, () => r.router.catalog.order('pool').map((b) => b.id));
    expect(new Set(orders.map((o) => o[0])).size).toBe(3);
    for (const o of orders) expect([...o].sort()).toEqual(['pool-1', 'pool-2', 'pool-3']);
  });
});

describe('circuit breaker: every outcome of a half-open trial settles it', () => {
  const opened = () => {
    let now = 0;
    const b = new CircuitBreaker(1, 1000, () => now);
    b.settle(b.enter()!, 'failure');
    expect(b.state).toBe('open');
    now = 1000;
    return { b, advance: (ms: number) => (now += ms) };
  };

  test.each([
    ['success', 'closed', true],
    ['failure', 'open', false],
    ['timeout', 'open', false],
    ['release', 'half-open', true],
  ] as const)('a trial ending in %s leaves the circuit %s', (outcome, state, nextAllowed) => {
    const { b } = opened();
    expect(b.state).toBe('half-open');
    const trial = b.enter();
    expect(trial).toEqual({ trial: true });
    expect(b.enter()).toBeUndefined(); // one trial at a time
    b.settle(trial!, outcome);
    expect(b.state).toBe(state);
    expect(b.enter() !== undefined).toBe(nextAllowed);
  });

  test('after a failed or timed-out trial the next trial comes after the reset time, not never', () => {
    for (const outcome of ['failure', 'timeout'] as const) {
      const { b, advance } = opened();
      b.settle(b.enter()!, outcome);
      expect(b.enter()).toBeUndefined();
      advance(1000);
      expect(b.enter()).toEqual({ trial: true });
    }
  });

  test('a timeout outside a trial does not count as a failure', () => {
    const b = new CircuitBreaker(1, 1000, () => 0);
    b.settle(b.enter()!, 'timeout');
    expect(b.state).toBe('closed');
  });
});
