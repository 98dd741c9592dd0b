/**
 * RouterMetrics.startCall: each call recorded once in the latency histogram
 * (its elapsed time, under its method) and once in the calls counter (under
 * its method and status), with the series' children looked up once per
 * method and code rather than per call.
 */
import * as fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { Counter, Histogram, Registry } from 'prom-client';
import { BatchedCounter, MethodHistogram } from '../../router-app/src/batched-metrics';
import { RouterMetrics } from '../../router-app/src/metrics';

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

test('every call is counted under its method and code, and timed under its method', async () => {
  // The clock is the test's: a loaded CI machine must not move a call into another bucket.
  let nowMs = 1_000;
  const clock = jest.spyOn(performance, 'now').mockImplementation(() => nowMs);
  try {
    const m = new RouterMetrics();
    const slow = m.startCall('ListTools');
    nowMs += 30;
    slow('OK');
    const quick = m.startCall('ListTools');
    nowMs += 2;
    quick('NOT_FOUND');
    for (let i = 0; i < 3; i++) m.startCall('CallTool')('OK');
    const text = await m.registry.metrics();
    expect(value(text, 'mcp_router_grpc_calls_total{method="ListTools",code="OK"}')).toBe(1);
    expect(value(text, 'mcp_router_grpc_calls_total{method="ListTools",code="NOT_FOUND"}')).toBe(1);
    expect(value(text, 'mcp_router_grpc_calls_total{method="CallTool",code="OK"}')).toBe(3);
    expect(value(text, 'mcp_router_grpc_call_duration_seconds_count{method="ListTools"}')).toBe(2);
    expect(value(text, 'mcp_router_grpc_call_duration_seconds_count{method="CallTool"}')).toBe(3);
    // 30 ms and 2 ms: the sum is 32 ms; the slow call is above the 25 ms bucket, both are within 50 ms.
    expect(value(text, 'mcp_router_grpc_call_duration_seconds_sum{method="ListTools"}')).toBeCloseTo(0.032, 9);
    expect(value(text, 'mcp_router_grpc_call_duration_seconds_bucket{le="0.001",method="ListTools"}')).toBe(0);
    expect(value(text, 'mcp_router_grpc_call_duration_seconds_bucket{le="0.0025",method="ListTools"}')).toBe(1);
    expect(value(text, 'mcp_router_grpc_call_duration_seconds_bucket{le="0.025",method="ListTools"}')).toBe(1);
    expect(value(text, 'mcp_router_grpc_call_duration_seconds_bucket{le="0.05",method="ListTools"}')).toBe(2);
    expect(value(text, 'mcp_router_grpc_call_duration_seconds_bucket{le="0.005",method="CallTool"}')).toBe(3);
    expect(value(text, 'mcp_router_grpc_call_duration_seconds_sum{method="CallTool"}')).toBe(0);
    // A reset registry (as between scrapes in some setups) keeps counting through the cached children.
    m.registry.resetMetrics();
    m.startCall('ListTools')('OK');
    expect(value(await m.registry.metrics(), 'mcp_router_grpc_calls_total{method="ListTools",code="OK"}')).toBe(1);
  } finally {
    clock.mockRestore();
  }
});

describe('the batched metrics read as prom-client metrics fed the same values', () => {
  const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  const methods = fc.constantFrom('ListTools', 'CallTool', 'GetPrompt');
  // Values on and around the bounds, and beyond the last one.
  const seconds = fc.oneof(fc.constantFrom(0, ...BUCKETS, 31), fc.double({ min: 0, max: 40, noNaN: true }));

  test('MethodHistogram: the same exposition text and JSON as a prom-client Histogram', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(methods, seconds), { maxLength: 60 }), fc.boolean(), async (observations, resetHalfway) => {
        const ours = new Registry();
        const theirs = new Registry();
        const config = { name: 'x_seconds', help: 'h', buckets: BUCKETS };
        const h = new MethodHistogram({ ...config, registers: [ours] });
        const p = new Histogram({ ...config, labelNames: ['method'], registers: [theirs] });
        observations.forEach(([method, v], i) => {
          if (resetHalfway && i === Math.floor(observations.length / 2)) {
            ours.resetMetrics();
            theirs.resetMetrics();
          }
          // Both the held series and prom-client's own signature.
          if (i % 2) h.series(method).observe(v);
          else h.observe({ method }, v);
          p.observe({ method }, v);
        });
        expect(await ours.metrics()).toBe(await theirs.metrics());
        expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
      }),
      { numRuns: 200 },
    );
  });

  test('BatchedCounter: the same exposition text as a prom-client Counter, counted between scrapes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(methods, fc.constantFrom('OK', 'NOT_FOUND')), { maxLength: 60 }), fc.integer({ min: 0, max: 60 }), async (calls, scrapeAt) => {
        const ours = new Registry();
        const theirs = new Registry();
        const config = { name: 'x_total', help: 'h', labelNames: ['method', 'code'] as const };
        const c = new BatchedCounter({ ...config, registers: [ours] });
        const p = new Counter({ ...config, labelNames: [...config.labelNames], registers: [theirs] });
        for (const [i, [method, code]] of calls.entries()) {
          if (i === scrapeAt) expect(await ours.metrics()).toBe(await theirs.metrics());
          c.child(method, code).inc();
          p.inc({ method, code });
        }
        expect(await ours.metrics()).toBe(await theirs.metrics());
      }),
      { numRuns: 200 },
    );
  });

  test('a wrong label set is refused with what was expected and received', () => {
    const c = new BatchedCounter({ name: 'y_total', help: 'h', labelNames: ['method', 'code'], registers: [] });
    expect(() => c.child('ListTools')).toThrow('y_total: 2 label values expected (method, code); received ["ListTools"]');
    const h = new MethodHistogram({ name: 'y_seconds', help: 'h', registers: [] });
    expect(() => h.observe(0.1)).toThrow('y_seconds: observe({ method }, seconds) expected; received [0.1,null]');
    // prom-client's child and timer API would count where nothing is exported: refused, not lost.
    const asHistogram: Histogram<'method'> = h;
    expect(() => asHistogram.labels('ListTools')).toThrow('y_seconds: labels() is not supported; use series(method).observe(seconds)');
    expect(() => asHistogram.startTimer({ method: 'ListTools' })).toThrow('startTimer() is not supported');
  });

  test('MCP requests are counted by method (unknown names as "other") and status; calls in flight are read from their source when scraped', async () => {
    const m = new RouterMetrics();
    m.countMcpRequest('tools/call', 200);
    m.countMcpRequest('tools/call', 200);
    m.countMcpRequest('no/such', 404);
    let inFlight = 3;
    m.readInFlightFrom(() => inFlight);
    let text = await m.registry.metrics();
    expect(value(text, 'mcp_router_mcp_requests_total{method="tools/call",status="200"}')).toBe(2);
    expect(value(text, 'mcp_router_mcp_requests_total{method="other",status="404"}')).toBe(1);
    expect(value(text, 'mcp_router_calls_in_flight')).toBe(3);
    inFlight = 0;
    m.countMcpRequest('tools/call', 200);
    text = await m.registry.metrics();
    expect(value(text, 'mcp_router_calls_in_flight')).toBe(0);
    expect(value(text, 'mcp_router_mcp_requests_total{method="tools/call",status="200"}')).toBe(3);
  });
});
