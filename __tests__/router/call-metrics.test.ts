/**
 * RouterMetrics.startCall: each call recorded once in the latency histogram
 * (its elapsed time, under its method) and once in the calls counter (under
 * its method and status), with the series' children looked up once per
 * method and code rather than per call.
 */
import { RouterMetrics } from '../../router-app/src/metrics';

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

test('every call is counted under its method and code, and timed under its method', async () => {
  const m = new RouterMetrics();
  const slow = m.startCall('ListTools');
  await new Promise((r) => setTimeout(r, 30));
  slow('OK');
  m.startCall('ListTools')('NOT_FOUND');
  for (let i = 0; i < 3; i++) m.startCall('CallTool')('OK');
  const text = await m.registry.metrics();
  expect(value(text, 'mcp_router_grpc_calls_total{method="ListTools",code="OK"}')).toBe(1);
  expect(value(text, 'mcp_router_grpc_calls_total{method="ListTools",code="NOT_FOUND"}')).toBe(1);
  expect(value(text, 'mcp_router_grpc_calls_total{method="CallTool",code="OK"}')).toBe(3);
  expect(value(text, 'mcp_router_grpc_call_duration_seconds_count{method="ListTools"}')).toBe(2);
  expect(value(text, 'mcp_router_grpc_call_duration_seconds_count{method="CallTool"}')).toBe(3);
  // The slow call took ≥ 30 ms: in the sum, and above the 25 ms bucket; the quick one below 5 ms.
  expect(value(text, 'mcp_router_grpc_call_duration_seconds_sum{method="ListTools"}')).toBeGreaterThanOrEqual(0.029);
  expect(value(text, 'mcp_router_grpc_call_duration_seconds_bucket{le="0.025",method="ListTools"}')).toBe(1);
  expect(value(text, 'mcp_router_grpc_call_duration_seconds_bucket{le="0.05",method="ListTools"}')).toBe(2);
  // A reset registry (as between scrapes in some setups) keeps counting through the cached children.
  m.registry.resetMetrics();
  m.startCall('ListTools')('OK');
  expect(value(await m.registry.metrics(), 'mcp_router_grpc_calls_total{method="ListTools",code="OK"}')).toBe(1);
});
