/**
 * Defect 1: a half-open trial that ends in a timeout must settle the circuit
 * breaker, or a healthy backend is refused for good. Real processes: the
 * router and the demo MCP server; the backend is killed and started again on
 * the same port, and the trial is a slow call cut by a 500 ms deadline.
 * (Every trial outcome is also driven against the breaker itself in
 * __tests__/router/backend-accounting.test.ts.)
 */
import * as grpc from '@grpc/grpc-js';
import { unary } from '../../scripts/local-platform/router-client';
import { freePort, killLeftovers, report, RouterProcess, sleep, startDemoProcess, startRouterProcess } from './harness';

jest.setTimeout(90_000);

const RESET_MS = 1_000;

afterAll(killLeftovers);

const text = (s: string) => ({ fields: { text: { stringValue: s } } });

type Trial = 'client deadline 500 ms' | 'router max call time 1 s' | 'client cancel at 300 ms';

const SLOW = { name: 'demo__slow', arguments: { fields: { steps: { numberValue: 10 }, stepMs: { numberValue: 200 } } } };

/** Runs the slow call as the trial, ended the given way; resolves to the status the client saw. */
function trialCall(router: RouterProcess, how: Trial): Promise<string> {
  if (how === 'client cancel at 300 ms') {
    return new Promise((resolve) => {
      const call = router.client.CallTool(SLOW, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err) => resolve(err ? grpc.status[err.code] : 'OK'));
      setTimeout(() => call.cancel(), 300);
    });
  }
  const deadline = how === 'client deadline 500 ms' ? 500 : 10_000;
  return unary(router.client, 'CallTool', SLOW, deadline).then(
    () => 'OK',
    (e: grpc.ServiceError) => grpc.status[e.code],
  );
}

const outcomes = (metrics: string) =>
  Object.fromEntries([...metrics.matchAll(/mcp_router_backend_calls_total\{backend="static:demo",outcome="([a-z_]+)"\} (\d+)/g)].map((m) => [m[1], Number(m[2])]));

test.each<[Trial, Record<string, string>, string]>([
  // The reproduction: the router's timeout (deadline - 5 ms) and the client's deadline race; either way the trial settles.
  ['client deadline 500 ms', {}, 'DEADLINE_EXCEEDED'],
  // The router's own bound ends the call: a timeout, deterministically (the trial counts as failed and the circuit opens again).
  ['router max call time 1 s', { MCP_ROUTER_MAX_CALL_MS: '1000', MCP_ROUTER_DEFAULT_TIMEOUT_MS: '1000' }, 'DEADLINE_EXCEEDED'],
  // A cancel gives no verdict: the trial is handed back.
  ['client cancel at 300 ms', {}, 'CANCELLED'],
])('breaker 1 failure / 1 s reset, backend restarted, trial ended by %s: echo succeeds within the reset window', async (how, env, status) => {
  const port = await freePort();
  let demo = await startDemoProcess({ name: 'demo', port });
  const router: RouterProcess = await startRouterProcess({
    MCP_BACKENDS: JSON.stringify([{ name: 'demo', url: `http://127.0.0.1:${port}/mcp` }]),
    MCP_ROUTER_BREAKER_FAILURES: '1',
    MCP_ROUTER_BREAKER_RESET_MS: String(RESET_MS),
    ...env,
  });
  await router.ready();
  const echo = () => unary(router.client, 'CallTool', { name: 'demo__echo', arguments: text('ping') }, 3_000);
  const circuit = async () => (await unary(router.client, 'ListServers', {})).servers[0].circuitState as string;
  expect((await echo()).isError).toBe(false);

  // The backend goes away: one failure opens the circuit.
  await demo.stop('SIGKILL');
  await expect(echo()).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  expect(await circuit()).toBe('open');

  // It comes back on the same port; after the reset time the circuit is half-open.
  demo = await startDemoProcess({ name: 'demo', port });
  await sleep(RESET_MS + 100);
  expect(await circuit()).toBe('half-open');

  // The trial: a slow call that does not finish.
  const before = outcomes(await router.metrics());
  expect(await trialCall(router, how)).toBe(status);
  const trialEnded = Date.now();

  // From here echo must succeed within the reset window (plus scheduling), not never.
  const refused: string[] = [];
  let recoveredMs = -1;
  while (Date.now() - trialEnded < 10_000) {
    try {
      if ((await echo()).isError === false) {
        recoveredMs = Date.now() - trialEnded;
        break;
      }
    } catch (err) {
      refused.push(grpc.status[(err as grpc.ServiceError).code]);
    }
    await sleep(100);
  }
  const state = await circuit();
  const after = outcomes(await router.metrics());
  const trialOutcome = ['timeout', 'cancelled'].filter((k) => (after[k] ?? 0) > (before[k] ?? 0)).join('+') || 'none';
  report(`1 half-open breaker (${how})`, { resetMs: RESET_MS, clientSaw: status, trialCountedAs: trialOutcome, recoveredAfterTrialMs: recoveredMs, refusedMeanwhile: refused.length, circuitAfter: state });
  expect(recoveredMs).toBeGreaterThanOrEqual(0);
  expect(recoveredMs).toBeLessThan(RESET_MS + 1_500);
  expect(state).toBe('closed');
  if (how === 'router max call time 1 s') {
    // A timed-out trial opens the circuit again for one reset period, then the next call is the trial.
    expect(trialOutcome).toBe('timeout');
    expect(refused.length).toBeGreaterThan(0);
  }
  if (how === 'client cancel at 300 ms') expect(trialOutcome).toBe('cancelled');
  // And it stays usable.
  for (let i = 0; i < 5; i++) expect((await echo()).isError).toBe(false);

  expect(await router.stop()).toEqual({ code: 0, signal: null });
  await demo.stop('SIGTERM');
});
