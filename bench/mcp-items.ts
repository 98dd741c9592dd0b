/**
 * Item 9: the MCP (Streamable HTTP) front door, measured beside the gRPC door
 * in the same run (issue 15, "Measured").
 *
 * The local platform (Consul dev agent, demo backend, routers on
 * 127.a.b.(i+1)) plus an HAProxy of the bench's own (bench-haproxy.ts) with
 * the shipped config's MCP listener enabled, started pinned like items 3/4.
 *
 * - 9a  MCP tools/list straight to router 1's MCP port vs gRPC ListTools of
 *       the same router (h2load on both sides, the same number of requests in
 *       flight: gRPC over 4 HTTP/2 connections × 16 streams, MCP over 64
 *       HTTP/1.1 keep-alive connections — the MCP door speaks HTTP/1.1, as MCP
 *       clients do). Every response counted by the router itself
 *       (mcp_router_mcp_requests_total{method="tools/list",status="200"}).
 * - 9b  MCP tools/call demo__echo through HAProxy's MCP listener and router 1
 *       vs the MCP SDK client straight to the demo backend (`echo`): the same
 *       Node load driver (bench/load-driver.ts) and SDK client on both sides,
 *       8 in flight; 9c the same at 1 in flight, judged on the p50 added.
 * - 9d  routers 2 and 3 join; tools/call over ONE HTTP/2 connection to
 *       HAProxy's MCP listener (h2load -c 1 -m 8, one MCP session): calls per
 *       router from each router's own counter, calls/s per router, max/min.
 */
import * as path from 'node:path';
import { scrapeCalls } from './checks';
import { compareRounds, relative, verdictFields, warmUp } from './compare';
import { BenchContext, DEMO_ENTRY, missing, REPO, ROUTER_ENTRY, skippedRow } from './context';
import { BenchHaproxy, startBenchHaproxy } from './bench-haproxy';
import type { HaproxyMode } from '../haproxy-templates';
import { statsServers, upAddresses } from '../scripts/local-platform/haproxy-stats';
import { runH2load } from './h2load';
import { retryOnTimeout } from './rounds';
import { cpuSecondsOf } from './machine-load';
import { pinPid, sleep } from './procs';
import { fmt, Row } from './report';
import { median, spread } from './stats';
import { H2Run, H2Side, h2Measured, problemsOf, runDriver } from './single-router';
import { checkListTools, h2loadProblems, medianSample } from './checks';
import type { DriverOptions } from './load-driver';

export const MCP_TARGETS = { listVsGrpc: 0.5, callVsDirect: 0.6, addedP50Ms: 1.5, shareSpread: 1.15 };
const TOOL = 'demo__echo';

/** Value of mcp_router_mcp_requests_total for a JSON-RPC method and HTTP status in a Prometheus text page. */
export function mcpRequestsTotal(metricsText: string, method: string, status = '200'): number {
  let total = 0;
  for (const line of metricsText.split('\n')) {
    const m = /^mcp_router_mcp_requests_total\{([^}]*)\}\s+([0-9.eE+-]+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (labels.method === method && labels.status === status) total += Number(m[2]);
  }
  return total;
}

async function scrapeMcp(metricsUrl: string, method: string): Promise<number> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${metricsUrl}: HTTP ${res.status}`);
  return mcpRequestsTotal(await res.text(), method);
}

/** The headers and body of one MCP request as h2load sends it (over a session an SDK client opened). */
export function mcpRequest(session: { id: string; protocolVersion: string }, method: 'tools/list' | 'tools/call', params: Record<string, unknown>): { headers: string[]; body: Buffer } {
  return {
    headers: ['content-type: application/json', 'accept: application/json, text/event-stream', `mcp-session-id: ${session.id}`, `mcp-protocol-version: ${session.protocolVersion}`],
    body: Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })),
  };
}

interface McpSession {
  readonly id: string;
  readonly protocolVersion: string;
  /** tools/list must name demo__echo; tools/call must echo. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** Opens an MCP session with the official SDK client (initialize + initialized) and keeps it for checks. */
async function openSession(url: string): Promise<McpSession> {
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const client = new Client({ name: 'bench-mcp', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  const id = transport.sessionId;
  const protocolVersion = transport.protocolVersion;
  if (!id || !protocolVersion) throw new Error(`MCP session via ${url}: no session ID (${id}) or protocol version (${protocolVersion}) after initialize`);
  return {
    id,
    protocolVersion,
    async check() {
      const list = await client.listTools(undefined, { timeout: 10_000 });
      if (!list.tools.some((t) => t.name === TOOL)) throw new Error(`tools/list via ${url} lacks ${TOOL}: ${JSON.stringify(list).slice(0, 300)}`);
      const text = `check-${Date.now()}`;
      const res = (await client.callTool({ name: TOOL, arguments: { text } }, undefined, { timeout: 10_000 })) as { content?: Array<{ text?: string }> };
      if (res.content?.[0]?.text !== text) throw new Error(`tools/call ${TOOL} via ${url} returned ${JSON.stringify(res).slice(0, 300)}`);
    },
    close: () => client.close(),
  };
}

async function waitUp(statsUrl: string, proxy: string, expected: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string[] = [];
  while (Date.now() < deadline) {
    try {
      last = upAddresses((await statsServers(statsUrl)).filter((s) => s.proxy === proxy));
      if (last.length === expected.length && expected.every((a) => last.includes(a))) return;
    } catch {
      /* not up yet */
    }
    await sleep(250);
  }
  throw new Error(`HAProxy at ${statsUrl} has ${JSON.stringify(last)} UP in ${proxy} after ${timeoutMs} ms; expected ${JSON.stringify(expected)}`);
}

export async function runMcpItems(ctx: BenchContext): Promise<Row[]> {
  if (!ctx.cfg.only.has(9)) return [];
  const platformFile = path.join(REPO, 'scripts', 'local-platform', 'platform.ts');
  const gone =
    missing(['router-app', ROUTER_ENTRY], ['demo MCP server', DEMO_ENTRY], ['local platform harness', platformFile]) ??
    (['h2load', 'haproxy', 'consul'] as const).filter((t) => !ctx.tools[t]).join(', ');
  if (gone) {
    const why = `${gone} not available`;
    return [
      skippedRow('9a', 'MCP tools/list vs gRPC ListTools, same router', `≥ ${MCP_TARGETS.listVsGrpc}`, why),
      skippedRow('9b', 'MCP tools/call through HAProxy + router vs direct', `≥ ${MCP_TARGETS.callVsDirect}`, why),
      skippedRow('9c', 'MCP tools/call p50 added', `≤ +${MCP_TARGETS.addedP50Ms} ms`, why),
      skippedRow('9d', 'MCP calls per router over one connection', `max/min ≤ ${MCP_TARGETS.shareSpread}`, why),
    ];
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { LocalPlatform } = require('../scripts/local-platform/platform') as typeof import('../scripts/local-platform/platform');
  const { cfg } = ctx;
  const rows: Row[] = [];
  ctx.log('  starting local platform (Consul, demo backend, router 1) ...');
  const platform = await LocalPlatform.start({
    instances: 1,
    mode: 'http',
    balance: 'roundrobin',
    block: 'random',
    backends: ['demo'],
    routerEnv: { MCP_ROUTER_DRAIN_DELAY_MS: '0', MCP_ROUTER_SHUTDOWN_GRACE_MS: '2000' },
  });
  let lb: BenchHaproxy | undefined;
  const sessions: McpSession[] = [];
  try {
    const ports = platform.ports;
    // Its own address in the platform's block: its gRPC, stats and MCP listeners on the usual ports.
    const address = `${platform.block.prefix}.253`;
    lb = await startBenchHaproxy(ctx, platform, {
      name: 'mcp',
      address,
      frontendPort: ports.haproxyFrontend,
      statsPort: ports.haproxyStats,
      options: { mode: 'http' as HaproxyMode, enableMcp: true, mcpFrontend: { address, port: ports.haproxyMcp } },
    });
    const mcpUrl = lb.mcpUrl!;
    const routerAddr = (i: number) => platform.block.routerAddress(i);
    const metricsUrl = (i: number) => `http://${routerAddr(i)}:${ports.routerAdmin}/metrics`;
    const routerMcpUrl = (i: number) => `http://${routerAddr(i)}:${ports.routerMcp}/mcp`;
    const backendUrl = `http://${platform.block.backendAddress(1)}:${ports.backend}/mcp`;
    const pid = (i: number) => platform.routers.get(i)!.child.pid!;
    const backendPid = platform.backends.get('demo')!.child.pid!;
    const pinRouters = (cpu: number | undefined) => {
      if (cpu === undefined || ctx.cpu.client === undefined) return;
      for (const i of platform.runningRouters()) pinPid(pid(i), cpu);
    };
    pinRouters(ctx.cpu.server);
    if (ctx.cpu.server !== undefined) pinPid(backendPid, ctx.cpu.server);
    ctx.log('  waiting for HAProxy to report router 1 UP on its MCP backend ...');
    await waitUp(lb.statsUrl, 'mcp_http_backend', [routerAddr(1)], 60_000);
    const r1 = { tool: TOOL, instanceId: 'mcp-router-mcp-router-1' };
    await checkListTools(platform.routerTarget(1), r1);
    const direct1 = await openSession(routerMcpUrl(1));
    sessions.push(direct1);
    await direct1.check();
    const rel = relative(cfg);
    const m = cfg.mcp;

    // ---- 9a: tools/list (MCP) vs ListTools (gRPC), the same router ----------------------
    {
      const grpcSide: H2Side = { name: 'router 1 gRPC ListTools', target: platform.routerTarget(1), expect: r1, metricsUrl: metricsUrl(1), cpuPids: { router: pid(1) } };
      const grpcLoad = { requests: m.listRequests, clients: cfg.h2.clients, streams: cfg.h2.streams };
      const inFlight = cfg.h2.clients * cfg.h2.streams;
      const req = mcpRequest(direct1, 'tools/list', {});
      const mcpRun = async (): Promise<H2Run> => {
        await direct1.check();
        const before = await scrapeMcp(metricsUrl(1), 'tools/list');
        const cpu0 = cpuSecondsOf(pid(1));
        const result = await runH2load({
          h2load: ctx.tools.h2load!,
          target: `${routerAddr(1)}:${ports.routerMcp}`,
          method: 'tools/list',
          body: req.body,
          requests: m.listRequests,
          clients: inFlight,
          streams: 1,
          timeoutMs: cfg.runTimeoutMs,
          cpu: ctx.cpu.client,
          http: { path: '/mcp', headers: req.headers, h1: true },
        });
        const cpuMsPer1k = { router: ((cpuSecondsOf(pid(1)) - cpu0) * 1e6) / m.listRequests };
        const problems = h2loadProblems(result, m.listRequests);
        const counted = (await scrapeMcp(metricsUrl(1), 'tools/list')) - before;
        if (counted !== m.listRequests) problems.push(`router counted ${counted} tools/list answered 200 for ${m.listRequests} requests`);
        await direct1.check();
        ctx.log(`    router 1 MCP tools/list: ${fmt.load(result.reqPerSec, result.latency)}; CPU ms/1k calls router ${cpuMsPer1k.router.toFixed(0)}${problems.length ? ` PROBLEMS: ${problems.join('; ')}` : ''}`);
        return { rps: result.reqPerSec, latency: result.latency, result, problems, cpuMsPer1k };
      };
      ctx.log('  item 9a warm-up');
      await warmUp(ctx, '9a gRPC', () => h2Measured(ctx, grpcSide, { ...grpcLoad, requests: Math.ceil(grpcLoad.requests / 3) }));
      await warmUp(ctx, '9a MCP', mcpRun);
      ctx.log(`  item 9a: MCP tools/list (--h1 -c ${inFlight}) vs gRPC ListTools (-c ${grpcLoad.clients} -m ${grpcLoad.streams}), router 1`);
      const res = await compareRounds(ctx, '9a', [mcpRun, () => h2Measured(ctx, grpcSide, grpcLoad)], [{ name: 'ratio', of: ([a, b]) => a.rps / b.rps, tolerance: rel }]);
      const [ma, gb] = res.runs.map(medianSample);
      const probs = problemsOf(res.runs.flat());
      const v = verdictFields(res, res.spreads.ratio, MCP_TARGETS.listVsGrpc, 'atLeast', probs);
      const cpu = (k: number) => median(res.runs[k].map((r) => r.cpuMsPer1k.router));
      rows.push({
        id: '9a',
        title: 'MCP tools/list through the router vs gRPC ListTools of the same router',
        driver: `h2load, ${m.listRequests} requests per run, ${inFlight} in flight on both sides: MCP POST /mcp tools/list over ${inFlight} HTTP/1.1 keep-alive connections (--h1 -c ${inFlight} -m 1; one MCP session an SDK client opened) vs gRPC ListTools over ${grpcLoad.clients} HTTP/2 connections × ${grpcLoad.streams} streams; router 1 of the local platform (pinned cpu ${ctx.cpu.server ?? '-'}), h2load on cpu ${ctx.cpu.client ?? '-'}; every answer counted by the router (mcp_router_mcp_requests_total / mcp_router_grpc_calls_total), SDK client tools/list + tools/call checked before and after each run; ${res.rounds} alternating rounds, per-round ratio MCP ÷ gRPC, verdict on the median`,
        measured: `MCP ${fmt.load(ma.rps, ma.latency)}`,
        baseline: `gRPC ${fmt.load(gb.rps, gb.latency)}`,
        ratio: fmt.ratio(res.spreads.ratio.median),
        spread: v.spread,
        target: `≥ ${MCP_TARGETS.listVsGrpc}`,
        met: v.met,
        firm: v.firm,
        notes: [...probs, `CPU ms per 1,000 calls (median): router MCP ${cpu(0).toFixed(0)}, gRPC ${cpu(1).toFixed(0)}`, ...(v.roundsNote ? [v.roundsNote] : [])],
        data: { ...res, medians: [ma, gb] },
      });
    }

    // ---- 9b / 9c: tools/call through HAProxy + router vs the SDK client straight to the backend ----
    {
      // As item 2: the backend alone on the server CPU; the driver, HAProxy and the router on the other.
      pinRouters(ctx.cpu.client);
      const c = cfg.call;
      const base = { text: 'hello-bench', warmup: Math.ceil(c.requests / 5), timeLimitMs: cfg.runTimeoutMs };
      const viaLb = (concurrency: number, requests: number) => async () => {
        const before = await scrapeMcp(metricsUrl(1), 'tools/call');
        const o: DriverOptions = { ...base, kind: 'mcp', target: mcpUrl, tool: TOOL, concurrency, requests };
        const r = await runDriver(ctx, o, 'HAProxy MCP + router (MCP SDK client)');
        const counted = (await scrapeMcp(metricsUrl(1), 'tools/call')) - before;
        const expected = requests + o.warmup;
        if (counted !== expected) r.problems.push(`router counted ${counted} tools/call answered 200 for ${expected} calls (incl. warm-up)`);
        return r;
      };
      const direct = (concurrency: number, requests: number) => () => runDriver(ctx, { ...base, kind: 'mcp', target: backendUrl, tool: 'echo', concurrency, requests }, 'direct (MCP SDK client)');
      const pinNote = ctx.cpu.client === undefined ? 'unpinned' : `backend on cpu ${ctx.cpu.server}; driver, HAProxy and router on cpu ${ctx.cpu.client}`;
      ctx.log(`  item 9b: tools/call echo, ${c.concurrency} in flight`);
      const tp = await compareRounds(ctx, '9b', [viaLb(c.concurrency, c.requests), direct(c.concurrency, c.requests)], [{ name: 'ratio', of: ([a, b]) => a.rps / b.rps, tolerance: rel }]);
      const [ta, tb] = tp.runs.map(medianSample);
      const probs = problemsOf(tp.runs.flat());
      const v = verdictFields(tp, tp.spreads.ratio, MCP_TARGETS.callVsDirect, 'atLeast', probs);
      const drv = (n: number, conc: number, rounds: number) =>
        `Node load driver (bench/load-driver.ts), the MCP SDK Client over Streamable HTTP on both sides (one session each), closed loop, ${conc} in flight, ${n} calls (+${Math.ceil(c.requests / 5)} warm-up), every response checked; via side: HAProxy's MCP listener (shipped config, started pinned) → router 1 → backend, the router's own counter checked = calls; direct side: the demo backend's echo; ${pinNote}; ${rounds} alternating rounds, per-round figures, verdict on the median`;
      rows.push({
        id: '9b',
        title: 'MCP tools/call (demo echo) throughput: through HAProxy and the router vs the SDK client straight to the backend',
        driver: drv(c.requests, c.concurrency, tp.rounds),
        measured: fmt.load(ta.rps, ta.latency),
        baseline: `direct ${fmt.load(tb.rps, tb.latency)}`,
        ratio: fmt.ratio(tp.spreads.ratio.median),
        spread: v.spread,
        target: `≥ ${MCP_TARGETS.callVsDirect}`,
        met: v.met,
        firm: v.firm,
        notes: [...probs, ...(v.roundsNote ? [v.roundsNote] : [])],
        data: { ...tp, medians: [ta, tb] },
      });
      const n1 = Math.ceil(c.requests / 2);
      ctx.log('  item 9c: tools/call echo, 1 in flight');
      const lat = await compareRounds(ctx, '9c', [viaLb(1, n1), direct(1, n1)], [{ name: 'added', of: ([a, b]) => a.latency.p50 - b.latency.p50, tolerance: { absolute: 0.1 } }]);
      const [aa, ab] = lat.runs.map(medianSample);
      const lprobs = problemsOf(lat.runs.flat());
      const signed = (x: number) => `${x >= 0 ? '+' : '−'}${fmt.ms(Math.abs(x))} ms`;
      const lv = verdictFields(lat, lat.spreads.added, MCP_TARGETS.addedP50Ms, 'atMost', lprobs, signed, (x) => `${fmt.ms(x)} ms`);
      rows.push({
        id: '9c',
        title: 'MCP tools/call latency that HAProxy and the router add at p50 (1 call in flight)',
        driver: drv(n1, 1, lat.rounds),
        measured: `via HAProxy + router ${fmt.lat(aa.latency)}; ${fmt.rps(aa.rps)}`,
        baseline: `direct ${fmt.lat(ab.latency)}; ${fmt.rps(ab.rps)}`,
        ratio: `${signed(lat.spreads.added.median)} at p50 (${fmt.ratio(aa.latency.p50 / ab.latency.p50)}x)`,
        spread: lv.spread,
        target: `≤ +${MCP_TARGETS.addedP50Ms} ms at p50`,
        met: lv.met,
        firm: lv.firm,
        notes: [...lprobs, ...(lv.roundsNote ? [lv.roundsNote] : [])],
        data: { ...lat, medians: [aa, ab] },
      });
      pinRouters(ctx.cpu.server);
    }

    // ---- 9d: calls per router over one HTTP connection through HAProxy -------------------
    {
      ctx.log('  item 9d: starting routers 2 and 3 ...');
      await Promise.all([platform.startRouter(2), platform.startRouter(3)]);
      pinRouters(ctx.cpu.server);
      const all = [1, 2, 3];
      await waitUp(lb.statsUrl, 'mcp_http_backend', all.map(routerAddr), 60_000);
      const viaLb = await openSession(mcpUrl);
      sessions.push(viaLb);
      await viaLb.check();
      const n = m.shareRequests;
      const req = mcpRequest(viaLb, 'tools/call', { name: TOOL, arguments: { text: 'hello-share' } });
      // A run that times out is measured once more from fresh counters (bench/rounds.ts retryOnTimeout).
      const measureShare = async () => {
        const before = await Promise.all(all.map((i) => scrapeMcp(metricsUrl(i), 'tools/call')));
        const grpcBefore = await Promise.all(all.map((i) => scrapeCalls(metricsUrl(i), 'ListTools')));
        const r = await runH2load({
          h2load: ctx.tools.h2load!,
          target: mcpUrl.replace(/^http:\/\//, '').replace(/\/mcp$/, ''),
          method: 'tools/call',
          body: req.body,
          requests: n,
          clients: 1,
          streams: m.shareStreams,
          timeoutMs: cfg.runTimeoutMs,
          cpu: ctx.cpu.client,
          http: { path: '/mcp', headers: req.headers },
        });
        const counts = (await Promise.all(all.map((i) => scrapeMcp(metricsUrl(i), 'tools/call')))).map((a, i) => a - before[i]);
        const grpcAfter = await Promise.all(all.map((i) => scrapeCalls(metricsUrl(i), 'ListTools')));
        return { grpcBefore, r, counts, grpcAfter };
      };
      const { grpcBefore, r, counts, grpcAfter } = await retryOnTimeout(measureShare, (err) => ctx.log(`    9d: ${err.message}; measuring once more`));
      await viaLb.check();
      const problems = h2loadProblems(r, n);
      const sum = counts.reduce((a, b) => a + b, 0);
      if (sum !== n) problems.push(`routers counted ${sum} tools/call answered 200 for ${n} requests`);
      if (grpcAfter.some((g, i) => g !== grpcBefore[i])) problems.push('gRPC calls reached the routers during the MCP run');
      const perSec = counts.map((x) => x / r.elapsedSec);
      const sp = spread(counts);
      const total = sum || 1;
      ctx.log(`    MCP tools/call over 1 connection: per-router calls ${counts.join(' / ')}, ${fmt.rps(r.reqPerSec)}${problems.length ? ` PROBLEMS: ${problems.join('; ')}` : ''}`);
      rows.push({
        id: '9d',
        title: 'MCP calls per router, 3 routers, through HAProxy over ONE client HTTP connection',
        driver: `h2load -c 1 -m ${m.shareStreams} -n ${n} -t 1 (one HTTP/2 connection to HAProxy's MCP listener; HAProxy speaks HTTP/1.1 to the routers), MCP tools/call ${TOOL} in one session an SDK client opened through HAProxy, roundrobin; per-router counts from each router's mcp_router_mcp_requests_total{method="tools/call",status="200"} delta; routers on cpu ${ctx.cpu.server ?? '-'}, HAProxy + h2load on cpu ${ctx.cpu.client ?? '-'}`,
        measured: `max/min ${fmt.ratio(sp)}: ${counts.map((x) => `${((100 * x) / total).toFixed(1)}%`).join(' / ')} (${counts.join(' / ')} calls); ${perSec.map((x) => Math.round(x).toLocaleString('en-US')).join(' / ')} calls/s per router; ${fmt.load(r.reqPerSec, r.latency)} in all`,
        baseline: 'ideal 33.3% each',
        ratio: fmt.ratio(sp),
        target: `max/min ≤ ${MCP_TARGETS.shareSpread}`,
        met: problems.length ? false : sp <= MCP_TARGETS.shareSpread,
        notes: problems,
        data: { counts, perSec, rps: r.reqPerSec, latency: r.latency, problems },
      });
    }
    return rows;
  } finally {
    await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
    await lb?.proc.stop();
    await platform.close();
  }
}
