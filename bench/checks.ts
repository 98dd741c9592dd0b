/**
 * Correctness around load runs (h2load counts HTTP 200 as success even when
 * grpc-status != 0): a real @grpc/grpc-js call before and a few after every
 * run, and the router's own Prometheus call counter.
 */
import { firstText, routerClient, structOf, unary } from './grpc-client';
import { H2loadResult } from './h2load';
import { LatencySummary, median } from './stats';

/** ListTools through `target` must answer with the demo tools (or the baseline's id); returns router_instance_id. */
export async function checkListTools(target: string, expect: { tool?: string; instanceId?: string; token?: string }, samples = 1): Promise<string[]> {
  const client = routerClient(target, { 'grpc.use_local_subchannel_pool': 1 });
  const ids: string[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const res = await unary(client, 'ListTools', {}, 5_000, expect.token);
      if (expect.tool && !res.tools?.some((t: { name: string }) => t.name === expect.tool)) {
        throw new Error(`ListTools via ${target} lacks ${expect.tool}: ${JSON.stringify(res).slice(0, 300)}`);
      }
      if (expect.instanceId && res.routerInstanceId !== expect.instanceId) {
        throw new Error(`ListTools via ${target} answered by ${JSON.stringify(res.routerInstanceId)}, expected ${expect.instanceId}`);
      }
      ids.push(res.routerInstanceId);
    }
  } finally {
    client.close();
  }
  return ids;
}

/** CallTool demo__echo through `target` must echo the text. */
export async function checkCallTool(target: string, tool: string): Promise<void> {
  const client = routerClient(target, { 'grpc.use_local_subchannel_pool': 1 });
  try {
    const text = `check-${Date.now()}`;
    const res = await unary(client, 'CallTool', { name: tool, arguments: structOf({ text }) }, 10_000);
    if (res.isError || firstText(res) !== text) throw new Error(`CallTool ${tool} via ${target} returned ${JSON.stringify(res).slice(0, 300)}`);
  } finally {
    client.close();
  }
}

/** Value of mcp_router_grpc_calls_total for a method and code in a Prometheus text page. */
export function callsTotal(metricsText: string, method: string, code = 'OK'): number {
  let total = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('mcp_router_grpc_calls_total{')) continue;
    const m = /^mcp_router_grpc_calls_total\{([^}]*)\}\s+([0-9.eE+-]+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (labels.method === method && labels.code === code) total += Number(m[2]);
  }
  return total;
}

export async function scrapeCalls(metricsUrl: string, method: string, code = 'OK'): Promise<number> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${metricsUrl}: HTTP ${res.status}`);
  return callsTotal(await res.text(), method, code);
}

/** Problems with an h2load run (empty when clean). */
export function h2loadProblems(r: H2loadResult, expected: number): string[] {
  const p: string[] = [];
  const c = r.counts;
  if (c.succeeded !== expected) p.push(`h2load: ${c.succeeded}/${expected} succeeded`);
  if (c.failed || c.errored || c.timeout) p.push(`h2load: ${c.failed} failed, ${c.errored} errored, ${c.timeout} timeout`);
  if (r.status2xx !== c.succeeded) p.push(`h2load: ${r.status2xx} 2xx of ${c.succeeded} succeeded`);
  return p;
}

export interface Sample {
  readonly rps: number;
  readonly latency: Pick<LatencySummary, 'p50' | 'p95' | 'p99'>;
}

/** Median of each figure over rounds. */
export function medianSample(samples: readonly Sample[]): Sample {
  return {
    rps: median(samples.map((s) => s.rps)),
    latency: {
      p50: median(samples.map((s) => s.latency.p50)),
      p95: median(samples.map((s) => s.latency.p95)),
      p99: median(samples.map((s) => s.latency.p99)),
    },
  };
}

/** V8/Node memory gauges from prom-client's default metrics (MiB). */
export function heapFromMetrics(metricsText: string): { heapUsedMiB: number; heapTotalMiB: number; externalMiB: number } {
  const get = (name: string) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+([0-9.eE+-]+)`, 'm').exec(metricsText);
    return m ? Number(m[1]) / 2 ** 20 : NaN;
  };
  return { heapUsedMiB: get('nodejs_heap_size_used_bytes'), heapTotalMiB: get('nodejs_heap_size_total_bytes'), externalMiB: get('nodejs_external_memory_bytes') };
}

export async function scrapeHeap(metricsUrl: string) {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
  return heapFromMetrics(await res.text());
}
