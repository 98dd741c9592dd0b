/**
 * Items 1, 2, 5 and 7: one router process (static backend, no Consul) next to
 * the bare grpc-js baseline server and the demo MCP backend, each its own
 * process. h2load drives ListTools (items 1, 7); the Node load driver drives
 * CallTool (item 2) on both sides; /proc gives the router's memory (item 5).
 */
import { checkCallTool, checkListTools, h2loadProblems, medianSample, Sample, scrapeCalls, scrapeHeap } from './checks';
import { compareRounds, relative, rowsOrSkipped, verdictFields, warmUp } from './compare';
import { cpuSecondsOf } from './machine-load';
import { Figure, RunTimedOut } from './rounds';
import { median } from './stats';
import { BenchContext, DEMO_ENTRY, missing, ROUTER_ENTRY, skippedRow } from './context';
import { requestFrame } from './grpc-frame';
import { H2loadResult, runH2load } from './h2load';
import { BenchProcess, freePort, pinPid, procMemory, ProcMemory, sleep } from './procs';
import { benchScript, DIST_DIR } from './compile';
import { settleIdle, SettledIdle } from './idle-memory';
import { routerNodeFlags } from '../scripts/local-platform/platform';
import { fmt, Row, spreadText } from './report';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BASELINE_INSTANCE_ID, withHttp2GcWorkaround } from './baseline-server';
import { routerClient, unary } from './grpc-client';
import { checkDemoBackend } from './demo-check';
import type { DriverOptions, DriverResult } from './load-driver';
import { runBounded } from './h2load';

const HOST = '127.0.0.1';
const ROUTER_ID = 'mcp-router-bench';
const TOOL = 'demo__echo';

export const TARGETS = {
  listToolsRatio: 0.8,
  lowConcurrencyP99Ms: 5,
  callToolRatio: 0.7,
  addedP50Ms: 1,
  /** Issue 16's idle figure; judged only when the floor (row 5a's notes) is below it. */
  idleRssMiB: 64,
  /**
   * Row 5a's judged target when the floor (the bare grpc-js server holding one MCP SDK client session,
   * same run) alone is above idleRssMiB, as on Node 20 here: the router's idle RSS at most this
   * multiple of the floor's — its own code adds ≤ 10 %.
   */
  idleVsFloor: 1.1,
  loadRssMiB: 160,
  /** Item 7: one router at the seed's load shape, as a fraction of the bare grpc-js server in the same run. */
  seedVsBare: 0.9,
};

/** Row 5a: idle RSS is the median over this many routers and as many floor processes, all in the same run. */
export const IDLE_PROCESSES = 5;

/** The seed's published single-instance figures (information only: they depend on its machine). */
export const SEED = { rps: 1_000, p95Ms: '10–20 ms' };

/** "router CPU 61 ms per 1k calls (bare 48)" from the runs' medians. */
function cpuNote(runs: H2Run[][]): string {
  const parts: string[] = [];
  for (const side of runs) {
    for (const name of Object.keys(side[0]?.cpuMsPer1k ?? {})) parts.push(`${name} ${median(side.map((r) => r.cpuMsPer1k[name])).toFixed(0)}`);
  }
  return `CPU ms per 1,000 calls (median): ${parts.join(', ')}`;
}

interface Setup {
  backend: BenchProcess;
  backendUrl: string;
  router: BenchProcess;
  routerTarget: string;
  metricsUrl: string;
  /** The bare grpc-js server sending the router's own ListTools answer (rows 1a, 1b, 7). */
  baseline: BenchProcess;
  baselineTarget: string;
  /** The bare grpc-js server answering an empty list (row 1c, information: what the answer's bytes cost). */
  emptyBaseline: BenchProcess;
  emptyBaselineTarget: string;
  /** Row 5a's floor: the bare server plus an MCP SDK client session to the backend (memory only). */
  floor: BenchProcess;
  floorTarget: string;
  /** Row 7b (only when item 7 runs): a second router, taking no load, with the bare server (same answer) running inside its process. */
  inRouter?: { hostRouter: BenchProcess; target: string };
  /** Row 7c (only when item 7 runs): the bare server (same answer) with the router's HTTP/2 GC workaround (router-app/src/grpc/http2-stream-index.ts). */
  workaroundBaseline?: { proc: BenchProcess; target: string };
}

async function startAll(ctx: BenchContext, withInRouterBaseline: boolean): Promise<Setup> {
  const backendPort = await freePort(HOST);
  const { proc: backend } = await BenchProcess.start({
    name: 'demo-backend',
    command: process.execPath,
    args: [DEMO_ENTRY],
    env: { ...process.env, HOST, PORT: String(backendPort), SERVER_NAME: 'demo', CONSUL_HOST: '' },
    cpu: ctx.cpu.server,
    ready: /demo MCP server started/,
  });
  const backendUrl = `http://${HOST}:${backendPort}/mcp`;
  const r = await startRouter(ctx, backendUrl, ROUTER_ID);
  // The baseline sends the router's own answer (the same bytes), so the ratio is the router's own cost.
  await waitForCatalogue(r.target);
  const answerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-answer-'));
  const answerFile = path.join(answerDir, 'list-tools.json');
  const client = routerClient(r.target);
  try {
    fs.writeFileSync(answerFile, JSON.stringify(await unary(client, 'ListTools', {})));
  } finally {
    client.close();
  }
  const [cmd, args] = benchScript('baseline-server', [HOST, '0'], routerNodeFlags());
  // The baselines read their answer before they listen: the file can go once they do.
  const inRouterPort = await freePort(HOST);
  const [{ proc: baseline, match }, host, workaround] = await Promise.all([
    BenchProcess.start({ name: 'baseline', command: cmd, args, env: { ...process.env, BASELINE_LIST_TOOLS_FILE: answerFile }, cpu: ctx.cpu.server, ready: /^listening (\d+)/ }),
    withInRouterBaseline
      ? startRouter(ctx, backendUrl, `${ROUTER_ID}-host`, 'router-hosting-baseline', { port: inRouterPort, answerFile }).then(async (h) => {
          await waitForCatalogue(`${HOST}:${inRouterPort}`);
          return h;
        })
      : undefined,
    withInRouterBaseline
      ? BenchProcess.start({ name: 'baseline-h2-workaround', command: cmd, args, env: withHttp2GcWorkaround({ ...process.env, BASELINE_LIST_TOOLS_FILE: answerFile }), cpu: ctx.cpu.server, ready: /^listening (\d+)/ })
      : undefined,
  ]).finally(() => fs.rmSync(answerDir, { recursive: true, force: true }));
  const { proc: emptyBaseline, match: emptyMatch } = await BenchProcess.start({ name: 'baseline-empty', command: cmd, args, cpu: ctx.cpu.server, ready: /^listening (\d+)/ });
  const floor = await startFloor(ctx, backendUrl);
  return {
    backend,
    backendUrl,
    router: r.proc,
    routerTarget: r.target,
    metricsUrl: r.metricsUrl,
    baseline,
    baselineTarget: `${HOST}:${match[1]}`,
    emptyBaseline,
    emptyBaselineTarget: `${HOST}:${emptyMatch[1]}`,
    floor: floor.proc,
    floorTarget: floor.target,
    inRouter: host && { hostRouter: host.proc, target: `${HOST}:${inRouterPort}` },
    workaroundBaseline: workaround && { proc: workaround.proc, target: `${HOST}:${workaround.match[1]}` },
  };
}

/** A router process on a static backend (no Consul), with the node flags of its image's CMD. */
async function startRouter(
  ctx: BenchContext,
  backendUrl: string,
  instanceId: string,
  name = 'router',
  /** Row 7b: also run the bare server inside this process (bench/in-router-baseline.ts), on `port`, sending `answerFile`. */
  hostBaseline?: { port: number; answerFile: string },
): Promise<{ proc: BenchProcess; target: string; metricsUrl: string }> {
  const routerPort = await freePort(HOST);
  const metricsPort = await freePort(HOST);
  const preload = hostBaseline ? ['-r', path.join(DIST_DIR, 'in-router-baseline.js')] : [];
  const { proc } = await BenchProcess.start({
    name,
    command: process.execPath,
    // The router runs with the node flags of its image's CMD, as deployed.
    args: [...routerNodeFlags(), ...preload, ROUTER_ENTRY],
    env: {
      ...process.env,
      ...(hostBaseline
        ? { BENCH_IN_ROUTER_BASELINE_HOST: HOST, BENCH_IN_ROUTER_BASELINE_PORT: String(hostBaseline.port), BASELINE_LIST_TOOLS_FILE: hostBaseline.answerFile }
        : {}),
      CONSUL_REGISTER: 'false',
      MCP_BACKEND_DISCOVERY: 'false',
      MCP_BACKENDS: JSON.stringify([{ name: 'demo', url: backendUrl }]),
      MCP_ROUTER_BIND_ADDRESS: HOST,
      MCP_ROUTER_PORT: String(routerPort),
      MCP_ROUTER_METRICS_PORT: String(metricsPort),
      MCP_ROUTER_MCP_PORT: '0',
      MCP_ROUTER_INSTANCE_ID: instanceId,
      MCP_ROUTER_DRAIN_DELAY_MS: '0',
      LOG_LEVEL: 'info',
    },
    cpu: ctx.cpu.server,
    ready: /router started/,
  });
  return { proc, target: `${HOST}:${routerPort}`, metricsUrl: `http://${HOST}:${metricsPort}/metrics` };
}

/** Row 5a's floor: the bare grpc-js server holding one MCP SDK client session to the backend (memory only). */
async function startFloor(ctx: BenchContext, backendUrl: string, name = 'floor'): Promise<{ proc: BenchProcess; target: string }> {
  const [cmd, args] = benchScript('baseline-server', [HOST, '0'], routerNodeFlags());
  const { proc, match } = await BenchProcess.start({ name, command: cmd, args, env: { ...process.env, BASELINE_MCP_BACKEND: backendUrl }, cpu: ctx.cpu.server, ready: /^listening (\d+)/ });
  return { proc, target: `${HOST}:${match[1]}` };
}

/** Polls ListTools until the router's catalogue has the demo tools. */
async function waitForCatalogue(target: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await checkListTools(target, { tool: TOOL });
      return;
    } catch (err) {
      last = err;
      await sleep(200);
    }
  }
  throw new Error(`router catalogue never listed ${TOOL} within ${timeoutMs} ms: ${(last as Error)?.message}`);
}

export interface H2Side {
  readonly name: string;
  readonly target: string;
  /** What ListTools must answer (checked with a grpc-js client before and after each run; `token` sent as a bearer token). */
  readonly expect: { tool?: string; instanceId?: string; token?: string };
  readonly metricsUrl?: string;
  /** Processes whose CPU time is measured over the run, by label (e.g. { router: pid }). */
  readonly cpuPids?: Readonly<Record<string, number>>;
}

export interface H2Run extends Sample {
  readonly result: H2loadResult;
  readonly problems: string[];
  /** CPU milliseconds per 1,000 requests of each process in side.cpuPids. */
  readonly cpuMsPer1k: Readonly<Record<string, number>>;
}

/** One h2load ListTools run with correctness checks before and after, and the router's own count. */
export async function h2Measured(ctx: BenchContext, side: H2Side, load: { requests: number; clients: number; streams: number; method?: string; body?: Buffer }): Promise<H2Run> {
  const method = load.method ?? 'ListTools';
  await checkListTools(side.target, side.expect);
  const before = side.metricsUrl ? await scrapeCalls(side.metricsUrl, method) : 0;
  const cpuPids = Object.entries(side.cpuPids ?? {});
  const cpuBefore = cpuPids.map(([, pid]) => cpuSecondsOf(pid));
  const result = await runH2load({
    h2load: ctx.tools.h2load!,
    target: side.target,
    method,
    body: load.body ?? requestFrame(method, {}),
    requests: load.requests,
    clients: load.clients,
    streams: load.streams,
    timeoutMs: ctx.cfg.runTimeoutMs,
    cpu: ctx.cpu.client,
    ...(side.expect.token ? { grpcHeaders: [`authorization: Bearer ${side.expect.token}`] } : {}),
  });
  const cpuMsPer1k = Object.fromEntries(cpuPids.map(([name, pid], i) => [name, ((cpuSecondsOf(pid) - cpuBefore[i]) * 1e6) / load.requests]));
  const problems = h2loadProblems(result, load.requests);
  if (side.metricsUrl) {
    const counted = (await scrapeCalls(side.metricsUrl, method)) - before;
    if (counted !== load.requests) problems.push(`router counted ${counted} OK ${method} calls for ${load.requests} requests`);
  }
  await checkListTools(side.target, side.expect, 3);
  const cpuText = cpuPids.length ? `; CPU ms/1k calls ${Object.entries(cpuMsPer1k).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}` : '';
  ctx.log(`    ${side.name}: ${fmt.load(result.reqPerSec, result.latency)}${cpuText}${problems.length ? ` PROBLEMS: ${problems.join('; ')}` : ''}`);
  return { rps: result.reqPerSec, latency: result.latency, result, problems, cpuMsPer1k };
}

export const problemsOf = (runs: Array<{ problems: string[] }>) => [...new Set(runs.flatMap((r) => r.problems))];

export async function runDriver(ctx: BenchContext, o: DriverOptions, label?: string): Promise<DriverResult & { problems: string[]; rps: number }> {
  const [cmd, args] = benchScript('load-driver', [JSON.stringify(o)]);
  const full = ctx.cpu.client === undefined ? [cmd, args] as const : (['taskset', ['-c', String(ctx.cpu.client), cmd, ...args]] as const);
  const out = await runBounded(full[0], [...full[1]], o.timeLimitMs + 15_000);
  if (out.timedOut) throw new RunTimedOut(`load driver (${o.kind}) killed after ${o.timeLimitMs + 15_000} ms (${o.requests} calls to ${o.target})`);
  if (out.code !== 0) throw new Error(`load driver (${o.kind}) failed: ${out.timedOut ? 'timed out' : `exit ${out.code}`}: ${out.stderr.split('\n').filter((l) => !/MaxListeners|trace-warnings/.test(l)).join('\n').slice(-1500)}`);
  const r = JSON.parse(out.stdout.trim().split('\n').pop()!) as DriverResult;
  // The driver stops itself at its time limit: a run cut short is a timed-out run (its round fails), like h2load's.
  if (r.timedOut) throw new RunTimedOut(`load driver (${o.kind}) hit its ${o.timeLimitMs} ms time limit after ${r.completed}/${o.requests} calls to ${o.target}`);
  const problems: string[] = [];
  if (r.errors) problems.push(`${o.kind} driver: ${r.errors} errors (first: ${r.firstError})`);
  if (r.completed !== o.requests) problems.push(`${o.kind} driver: ${r.completed}/${o.requests} completed`);
  ctx.log(`    ${label ?? (o.kind === 'mcp' ? 'direct (MCP SDK client)' : 'router (grpc-js client)')} c=${o.concurrency}: ${fmt.load(r.reqPerSec, r.latency)}${problems.length ? ` PROBLEMS: ${problems.join('; ')}` : ''}`);
  return { ...r, rps: r.reqPerSec, problems };
}

export async function runSingleRouter(ctx: BenchContext): Promise<{ rows: Row[]; routerMemory?: { idle: ProcMemory; after: ProcMemory } }> {
  const { cfg } = ctx;
  const want = (n: number) => cfg.only.has(n);
  if (![1, 2, 5, 7].some(want)) return { rows: [] };
  const gone = missing(['router-app', ROUTER_ENTRY], ['demo MCP server', DEMO_ENTRY]) ?? (ctx.tools.h2load ? undefined : 'h2load');
  if (gone) {
    const why = `${gone} not available`;
    const rows: Row[] = [];
    if (want(1)) rows.push(skippedRow('1a', 'ListTools throughput vs bare grpc-js', `≥ ${TARGETS.listToolsRatio}`, why), skippedRow('1b', 'ListTools p99 at low concurrency', `p99 ≤ ${TARGETS.lowConcurrencyP99Ms} ms`, why));
    if (want(2)) rows.push(skippedRow('2a', 'CallTool throughput vs direct', `≥ ${TARGETS.callToolRatio}`, why), skippedRow('2b', 'CallTool added p50', `≤ ${TARGETS.addedP50Ms} ms`, why));
    if (want(5)) rows.push(skippedRow('5a', 'router RSS idle', `≤ ${TARGETS.idleRssMiB} MiB`, why), skippedRow('5b', 'router peak RSS under load', `≤ ${TARGETS.loadRssMiB} MiB`, why));
    if (want(7)) rows.push(skippedRow('7', 'one router vs the bare grpc-js server at the seed load shape', `≥ ${TARGETS.seedVsBare} of bare`, why));
    return { rows };
  }

  const rows: Row[] = [];
  const s = await startAll(ctx, want(7));
  let routerIdle: ProcMemory[] = [];
  let floorIdleAll: ProcMemory[] = [];
  let idleWait: SettledIdle | undefined;
  /** Row 5a's settle bounds: at least, still for, at most (see bench/idle-memory.ts). */
  const settle = cfg.quick ? { minWaitMs: 15_000, stableMs: 5_000, maxWaitMs: 40_000 } : { minWaitMs: 30_000, stableMs: 10_000, maxWaitMs: 75_000 };
  try {
    ctx.log(`  processes: demo backend pid ${s.backend.pid}, router pid ${s.router.pid} (${s.routerTarget}), baseline pid ${s.baseline.pid} (${s.baselineTarget})`);
    // Row 5a reads idle RSS from IDLE_PROCESSES routers and as many floor processes, started in this run,
    // and judges the medians: identical processes differ by up to ~20 MiB until all are still (FINDINGS §6, §10). The extra ones
    // get the same warm-up and settle, are read at the same moment, and stop right after.
    const extraRouters: Array<{ proc: BenchProcess; target: string; metricsUrl: string }> = [];
    const floors: Array<{ proc: BenchProcess; target: string }> = [{ proc: s.floor, target: s.floorTarget }];
    try {
      if (want(5)) {
        for (let k = 2; k <= IDLE_PROCESSES; k++) {
          extraRouters.push(await startRouter(ctx, s.backendUrl, `${ROUTER_ID}-idle-${k}`, `router-idle-${k}`));
          floors.push(await startFloor(ctx, s.backendUrl, `floor-${k}`));
        }
      }
      const routers = [{ target: s.routerTarget, instanceId: ROUTER_ID }, ...extraRouters.map((r, k) => ({ target: r.target, instanceId: `${ROUTER_ID}-idle-${k + 2}` }))];
      for (const r of routers) await waitForCatalogue(r.target);
      await checkDemoBackend(s.backendUrl);
      // Warm-up by real clients, then let the heap settle before the idle reading.
      for (let i = 0; i < 20; i++) {
        for (const r of routers) {
          await checkListTools(r.target, { tool: TOOL, instanceId: r.instanceId });
          await checkCallTool(r.target, TOOL);
        }
        await checkListTools(s.baselineTarget, { tool: TOOL, instanceId: BASELINE_INSTANCE_ID });
        await checkListTools(s.emptyBaselineTarget, { instanceId: BASELINE_INSTANCE_ID });
        for (const f of floors) await checkListTools(f.target, { instanceId: BASELINE_INSTANCE_ID });
      }
      const routerPids = [s.router, ...extraRouters.map((r) => r.proc)].map((p) => p.pid);
      if (want(5)) {
        // Idle until every process is still: right after warm-up V8's memory reducer has released
        // some processes' young generation and not yet others' (bench/idle-memory.ts).
        ctx.log(`  item 5a: idle until every RSS is still (≥ ${settle.minWaitMs / 1000} s, still for ${settle.stableMs / 1000} s, ≤ ${settle.maxWaitMs / 1000} s)`);
        idleWait = await settleIdle([...routerPids, ...floors.map((f) => f.proc.pid)], settle);
        routerIdle = idleWait.memory.slice(0, routerPids.length);
        floorIdleAll = idleWait.memory.slice(routerPids.length);
      } else {
        await sleep(cfg.quick ? 2_000 : 5_000);
        routerIdle = routerPids.map((pid) => procMemory(pid));
        floorIdleAll = floors.map((f) => procMemory(f.proc.pid));
      }
    } finally {
      await Promise.all([...extraRouters.map((r) => r.proc.stop()), ...floors.map((f) => f.proc.stop())]);
    }
    const idle = routerIdle[0];
    const idleHeap = await scrapeHeap(s.metricsUrl);
    const baselineIdle = procMemory(s.baseline.pid);
    const rssText = (xs: ProcMemory[]) => xs.map((x) => fmt.mib(x.rssMiB)).join(', ');
    const idleRouterMiB = median(routerIdle.map((x) => x.rssMiB));
    const idleFloorMiB = median(floorIdleAll.map((x) => x.rssMiB));
    ctx.log(`  idle RSS: routers ${rssText(routerIdle)} (median ${fmt.mib(idleRouterMiB)}), floors ${rssText(floorIdleAll)} (median ${fmt.mib(idleFloorMiB)}), baseline ${fmt.mib(baselineIdle.rssMiB)}`);

    const routerSide: H2Side = { name: 'router', target: s.routerTarget, expect: { tool: TOOL, instanceId: ROUTER_ID }, metricsUrl: s.metricsUrl, cpuPids: { router: s.router.pid } };
    const baseSide: H2Side = { name: 'bare grpc-js', target: s.baselineTarget, expect: { tool: TOOL, instanceId: BASELINE_INSTANCE_ID }, cpuPids: { baseline: s.baseline.pid } };
    const workaroundSide: H2Side | undefined = s.workaroundBaseline && { name: 'bare grpc-js with the HTTP/2 GC workaround', target: s.workaroundBaseline.target, expect: { tool: TOOL, instanceId: BASELINE_INSTANCE_ID }, cpuPids: { 'baseline with the workaround': s.workaroundBaseline.proc.pid } };
    const inRouterSide: H2Side | undefined = s.inRouter && { name: 'bare grpc-js inside a router process', target: s.inRouter.target, expect: { tool: TOOL, instanceId: BASELINE_INSTANCE_ID }, cpuPids: { 'router process hosting the bare server': s.inRouter.hostRouter.pid } };
    const emptySide: H2Side = { name: 'bare grpc-js, empty answer', target: s.emptyBaselineTarget, expect: { instanceId: BASELINE_INSTANCE_ID }, cpuPids: { 'empty baseline': s.emptyBaseline.pid } };
    const h2 = cfg.h2;
    const pinText = ctx.cpu.client === undefined ? '' : `, h2load on cpu ${ctx.cpu.client}, servers on cpu ${ctx.cpu.server}`;
    const roundsText = (n: number) => `; ${n} alternating rounds (A B A B ..., never a side twice in a row), per-round ratios, verdict on the median`;
    const h2Driver = (c: number, m: number, n: number, rounds: number) => `h2load -c ${c} -m ${m} -n ${n} -t 1, ListTools (5-byte frame)${pinText}${roundsText(rounds)}`;
    const rel = relative(cfg);
    const rpsRatio: Figure<H2Run>['of'] = ([a, b]) => a.rps / b.rps;
    const notesOf = (probs: string[], roundsNote?: string, ...more: string[]) => [...probs, ...more, ...(roundsNote ? [roundsNote] : [])];

    if (want(1) || want(7) || want(5)) {
      ctx.log('  h2load warm-up (router, baseline)');
      for (const side of [routerSide, baseSide, emptySide, ...(inRouterSide ? [inRouterSide] : []), ...(workaroundSide ? [workaroundSide] : [])]) await warmUp(ctx, side.name, () => h2Measured(ctx, side, { requests: Math.ceil(h2.requests / 3), clients: h2.clients, streams: h2.streams }));
    }

    if (want(1))
      await rowsOrSkipped(rows, (why) => [skippedRow('1a', 'ListTools throughput vs bare grpc-js', `≥ ${TARGETS.listToolsRatio}`, why), skippedRow('1b', 'ListTools p99 at low concurrency', `p99 ≤ ${TARGETS.lowConcurrencyP99Ms} ms`, why)], async () => {
      ctx.log(`  item 1a: ListTools saturation, -c ${h2.clients} -m ${h2.streams}`);
      // Three sides in rotation: the judged ratio (router ÷ bare, same answer) and, as information, ÷ bare answering an empty list.
      const sat = await compareRounds(ctx, '1a', [() => h2Measured(ctx, routerSide, h2), () => h2Measured(ctx, baseSide, h2), () => h2Measured(ctx, emptySide, h2)], [
        { name: 'ratio', of: rpsRatio, tolerance: rel },
        { name: 'vs empty answer', of: ([a, , c]) => a.rps / c.rps, tolerance: rel, info: true },
      ]);
      const [ra, rb, rc] = sat.runs.map(medianSample);
      const sp = sat.spreads.ratio;
      const probs = problemsOf(sat.runs.flat());
      const v = verdictFields(sat, sp, TARGETS.listToolsRatio, 'atLeast', probs);
      rows.push({
        id: '1a',
        title: 'ListTools (cache) throughput: router vs bare grpc-js server sending the same answer',
        driver: `${h2Driver(h2.clients, h2.streams, h2.requests, sat.rounds)}; the bare server sends the router's ListTools answer (its tools, serialized once, as the router does), rotated with row 1c's server (A B C, B C A, ...)`,
        measured: fmt.load(ra.rps, ra.latency),
        baseline: fmt.load(rb.rps, rb.latency),
        ratio: fmt.ratio(sp.median),
        spread: v.spread,
        target: `≥ ${TARGETS.listToolsRatio}`,
        met: v.met,
        firm: v.firm,
        notes: notesOf(probs, v.roundsNote, cpuNote(sat.runs)),
        data: { ...sat, medians: [ra, rb, rc] },
      });
      const ec = sat.spreads['vs empty answer'];
      rows.push({
        id: '1c',
        title: 'ListTools throughput: router vs a bare grpc-js server answering an EMPTY list (what the answer\'s bytes cost; the baseline of 1a until 2026-11-29)',
        driver: `as 1a, in the same rounds: bench/baseline-server.ts without BASELINE_LIST_TOOLS_FILE`,
        measured: fmt.load(ra.rps, ra.latency),
        baseline: fmt.load(rc.rps, rc.latency),
        ratio: fmt.ratio(ec.median),
        spread: spreadText(ec, sat.stop),
        target: `info (the issue's ≥ ${TARGETS.listToolsRatio} on it: ${ec.median >= TARGETS.listToolsRatio ? 'met' : 'NOT MET'})`,
        notes: [`bare with the router's answer vs bare with an empty one: ${fmt.ratio(rb.rps / rc.rps)} (the answer's bytes alone)`],
      });
      ctx.log('  item 1b: ListTools low concurrency, -c 1 -m 1');
      const low = { requests: cfg.lowc.requests, clients: 1, streams: 1 };
      // The judged figure is the router's own p99 (an absolute target), settled to ±0.5 ms.
      const lc = await compareRounds(ctx, '1b', [() => h2Measured(ctx, routerSide, low), () => h2Measured(ctx, baseSide, low)], [{ name: 'p99', of: ([a]) => a.latency.p99, tolerance: { absolute: 0.5 } }]);
      const [la, lb] = lc.runs.map(medianSample);
      const lsp = lc.spreads.p99;
      const lprobs = problemsOf(lc.runs.flat());
      const lv = verdictFields(lc, lsp, TARGETS.lowConcurrencyP99Ms, 'atMost', lprobs, (n) => `${fmt.ms(n)} ms`);
      rows.push({
        id: '1b',
        title: 'ListTools latency at low concurrency (1 connection, 1 stream)',
        driver: h2Driver(1, 1, cfg.lowc.requests, lc.rounds),
        measured: fmt.load(la.rps, la.latency),
        baseline: fmt.load(lb.rps, lb.latency),
        ratio: `p99 ${fmt.ms(lsp.median)} ms (${fmt.ratio(la.latency.p99 / lb.latency.p99)}x bare)`,
        spread: lv.spread,
        target: `p99 ≤ ${TARGETS.lowConcurrencyP99Ms} ms`,
        met: lv.met,
        firm: lv.firm,
        notes: notesOf(lprobs, lv.roundsNote),
        data: { ...lc, medians: [la, lb] },
      });
    });

    if (want(7))
      await rowsOrSkipped(rows, (why) => [skippedRow('7', 'one router vs the bare grpc-js server at the seed load shape', `≥ ${TARGETS.seedVsBare} of bare`, why)], async () => {
      const seed = cfg.seed;
      ctx.log(`  item 7: one router at -c ${seed.clients} -m ${seed.streams}`);
      // Four sides in rotation: the judged ratio (router ÷ bare) and, as information, (7b) the same bare
      // server inside an idle router process ÷ alone: what the process costs a gRPC server; (7c) the router
      // ÷ the bare server with the router's HTTP/2 GC workaround: the router's own cost, like for like.
      const inRouter = inRouterSide!; // started by startAll whenever item 7 runs
      const withWorkaround = workaroundSide!;
      const sd = await compareRounds(ctx, '7', [() => h2Measured(ctx, routerSide, seed), () => h2Measured(ctx, baseSide, seed), () => h2Measured(ctx, inRouter, seed), () => h2Measured(ctx, withWorkaround, seed)], [
        { name: 'ratio', of: rpsRatio, tolerance: rel },
        { name: 'bare in a router process', of: ([, b, c]) => c.rps / b.rps, tolerance: rel, info: true },
        { name: 'vs bare with the workaround', of: ([a, , , d]) => a.rps / d.rps, tolerance: rel, info: true },
      ]);
      const [sa, sb, sc, sw] = sd.runs.map(medianSample);
      const sp = sd.spreads.ratio;
      const probs = problemsOf(sd.runs.flat());
      const v = verdictFields(sd, sp, TARGETS.seedVsBare, 'atLeast', probs);
      const seedMultiple = sa.rps / SEED.rps;
      rows.push({
        id: '7',
        title: "One router at the seed's load shape vs the bare grpc-js server sending the same answer (the seed's ~1,000 req/s, p95 10–20 ms as information)",
        driver: `${h2Driver(seed.clients, seed.streams, seed.requests, sd.rounds)}; the bare server as in 1a`,
        measured: `${fmt.load(sa.rps, sa.latency)} — ${fmt.ratio(seedMultiple)}x the seed's ${SEED.rps.toLocaleString('en-US')} req/s, p95 ${fmt.ms(sa.latency.p95)} ms vs its ${SEED.p95Ms}`,
        baseline: `bare grpc-js ${fmt.load(sb.rps, sb.latency)}`,
        ratio: fmt.ratio(sp.median),
        spread: v.spread,
        target: `≥ ${TARGETS.seedVsBare} of bare (info: seed multiple, p95)`,
        met: v.met,
        firm: v.firm,
        notes: notesOf(probs, v.roundsNote, `seed multiple per round ${sd.runs[0].map((r) => fmt.ratio(r.rps / SEED.rps)).join(', ')} (information: depends on the machine)`),
        data: { ...sd, medians: [sa, sb, sc, sw], seedMultiple },
      });
      const ceiling = sd.spreads['bare in a router process'];
      rows.push({
        id: '7b',
        title: "Row 7's ceiling: the same bare grpc-js server (same answer) inside an idle router process vs alone — no router code on its call path",
        driver: 'as 7, in the same rounds (A B C, B C A, ...): bench/in-router-baseline.ts preloaded into a second router process (its catalogue, backend session, front door and admin server running, no load on its own port)',
        measured: `bare inside a router process ${fmt.load(sc.rps, sc.latency)}`,
        baseline: `bare alone ${fmt.load(sb.rps, sb.latency)}`,
        ratio: fmt.ratio(ceiling.median),
        spread: spreadText(ceiling, sd.stop),
        target: 'info (what the process costs a gRPC server)',
        notes: ['both bare servers run as stock grpc-js servers (no HTTP/2 GC workaround)'],
      });
      const like = sd.spreads['vs bare with the workaround'];
      rows.push({
        id: '7c',
        title: "Row 7 like for like: the router vs the bare grpc-js server running the router's HTTP/2 GC workaround too — the router's own cost (its code and its process)",
        driver: 'as 7, in the same rounds: bench/baseline-server.ts with BASELINE_HTTP2_GC_WORKAROUND=1 (router-app/src/grpc/http2-stream-index.ts)',
        measured: `router ${fmt.load(sa.rps, sa.latency)}`,
        baseline: `bare with the workaround ${fmt.load(sw.rps, sw.latency)}`,
        ratio: fmt.ratio(like.median),
        spread: spreadText(like, sd.stop),
        target: 'info (what the router costs beyond a grpc-js server with the same fix)',
        notes: [`the workaround alone, bare with it ÷ stock bare: ${fmt.ratio(sw.rps / sb.rps)}`],
      });
    });

    if (want(2))
      await rowsOrSkipped(rows, (why) => [skippedRow('2a', 'CallTool throughput vs direct', `≥ ${TARGETS.callToolRatio}`, why), skippedRow('2b', 'CallTool added p50', `≤ ${TARGETS.addedP50Ms} ms`, why)], async () => {
      // CPU plan: the backend alone on the server CPU in both cases; everything on the
      // client side of the backend (driver, and the router when present) on the other.
      if (ctx.cpu.client !== undefined) pinPid(s.router.pid, ctx.cpu.client);
      const c = cfg.call;
      const base = { tool: '', text: 'hello-bench', warmup: Math.ceil(c.requests / 5), timeLimitMs: ctx.cfg.runTimeoutMs };
      const direct = (concurrency: number, requests: number) => () =>
        runDriver(ctx, { ...base, kind: 'mcp', target: s.backendUrl, tool: 'echo', concurrency, requests });
      const viaRouter = (concurrency: number, requests: number) => () =>
        runDriver(ctx, { ...base, kind: 'grpc', target: s.routerTarget, tool: TOOL, concurrency, requests });
      ctx.log(`  item 2a: CallTool echo, ${c.concurrency} in flight`);
      const tp = await compareRounds(ctx, '2a', [viaRouter(c.concurrency, c.requests), direct(c.concurrency, c.requests)], [{ name: 'ratio', of: ([a, b]) => a.rps / b.rps, tolerance: rel }]);
      const [ta, tb] = tp.runs.map(medianSample);
      const sp = tp.spreads.ratio;
      const pinNote = ctx.cpu.client === undefined ? 'unpinned' : `backend on cpu ${ctx.cpu.server}; driver and router on cpu ${ctx.cpu.client}`;
      const probs = problemsOf(tp.runs.flat());
      const v = verdictFields(tp, sp, TARGETS.callToolRatio, 'atLeast', probs);
      rows.push({
        id: '2a',
        title: 'CallTool (demo echo) throughput: through the router vs direct to the MCP backend',
        driver: `Node load driver (bench/load-driver.ts), closed loop, ${c.concurrency} in flight, ${c.requests} calls (+${base.warmup} warm-up), every response checked; router side: @grpc/grpc-js client, one channel; direct side: MCP SDK Client over Streamable HTTP, one session; ${pinNote}${roundsText(tp.rounds)}`,
        measured: fmt.load(ta.rps, ta.latency),
        baseline: fmt.load(tb.rps, tb.latency),
        ratio: fmt.ratio(sp.median),
        spread: v.spread,
        target: `≥ ${TARGETS.callToolRatio}`,
        met: v.met,
        firm: v.firm,
        notes: notesOf(probs, v.roundsNote),
        data: { ...tp, medians: [ta, tb] },
      });
      const n1 = Math.ceil(c.requests / 2);
      ctx.log('  item 2b: CallTool echo, 1 in flight');
      // Judged per round: router p50 − direct p50 of the same round, settled to ±0.1 ms.
      const lat = await compareRounds(ctx, '2b', [viaRouter(1, n1), direct(1, n1)], [{ name: 'added', of: ([a, b]) => a.latency.p50 - b.latency.p50, tolerance: { absolute: 0.1 } }]);
      const [aa, ab] = lat.runs.map(medianSample);
      const asp = lat.spreads.added;
      const lprobs = problemsOf(lat.runs.flat());
      const signed = (n: number) => `${n >= 0 ? '+' : '−'}${fmt.ms(Math.abs(n))} ms`;
      const lv = verdictFields(lat, asp, TARGETS.addedP50Ms, 'atMost', lprobs, signed, (n) => `${fmt.ms(n)} ms`);
      rows.push({
        id: '2b',
        title: 'CallTool latency the router adds at p50 (1 call in flight)',
        driver: `same driver, 1 in flight, ${n1} calls; ${pinNote}${roundsText(lat.rounds)}`,
        measured: `router ${fmt.lat(aa.latency)}`,
        baseline: `direct ${fmt.lat(ab.latency)}`,
        ratio: `${signed(asp.median)} at p50 (${fmt.ratio(aa.latency.p50 / ab.latency.p50)}x)`,
        spread: lv.spread,
        target: `≤ +${TARGETS.addedP50Ms} ms at p50`,
        met: lv.met,
        firm: lv.firm,
        notes: notesOf(lprobs, lv.roundsNote),
        data: { ...lat, medians: [aa, ab] },
      });
      if (ctx.cpu.server !== undefined) pinPid(s.router.pid, ctx.cpu.server);
    });

    const after = procMemory(s.router.pid);
    const afterHeap = await scrapeHeap(s.metricsUrl);
    const heapText = (h: typeof idleHeap) => `V8 heap used ${fmt.mib(h.heapUsedMiB)} of ${fmt.mib(h.heapTotalMiB)}, external ${fmt.mib(h.externalMiB)} (router /metrics)`;
    const baselineAfter = procMemory(s.baseline.pid);
    ctx.log(`  after load: router RSS ${fmt.mib(after.rssMiB)} (peak ${fmt.mib(after.hwmMiB)}), baseline peak ${fmt.mib(baselineAfter.hwmMiB)}`);
    if (want(5)) {
      const loaded = [want(1) && '1', want(7) && '7', want(2) && '2'].filter(Boolean).join(', ');
      const judgedOnFloor = idleFloorMiB > TARGETS.idleRssMiB;
      const range = (xs: ProcMemory[]) => `${fmt.mib(Math.min(...xs.map((x) => x.rssMiB)))}–${fmt.mib(Math.max(...xs.map((x) => x.rssMiB)))}`;
      rows.push({
        id: '5a',
        title: 'Router memory (RSS) idle',
        driver: `VmRSS from /proc/<pid>/status of ${routerIdle.length} routers and ${floorIdleAll.length} floor processes started in this run, each after start, catalogue load and the same warm-up (20 ListTools + 20 CallTool; floors 20 ListTools), then idle until no RSS moved more than 0.5 MiB for ${settle.stableMs / 1000} s, at least ${settle.minWaitMs / 1000} s (waited ${((idleWait?.waitedMs ?? 0) / 1000).toFixed(0)} s${idleWait?.settled === false ? ', NOT still at the bound' : ''}), read together; judged on the medians`,
        measured: `median ${fmt.mib(idleRouterMiB)} (${rssText(routerIdle)}; range ${range(routerIdle)})`,
        baseline: `floor median ${fmt.mib(idleFloorMiB)} (${rssText(floorIdleAll)}; range ${range(floorIdleAll)}) (bare grpc-js + MCP SDK client); bare grpc-js alone ${fmt.mib(baselineIdle.rssMiB)}`,
        ratio: `${fmt.ratio(idleRouterMiB / idleFloorMiB)}x floor (${fmt.ratio(idleRouterMiB / baselineIdle.rssMiB)}x bare)`,
        target: judgedOnFloor ? `≤ ${TARGETS.idleVsFloor}x floor (issue: ≤ ${TARGETS.idleRssMiB} MiB, below the floor)` : `≤ ${TARGETS.idleRssMiB} MiB`,
        met: idleWait?.settled === false ? undefined : idleRouterMiB <= (judgedOnFloor ? TARGETS.idleVsFloor * idleFloorMiB : TARGETS.idleRssMiB),
        notes: [
          `router 1 (the one items 1, 2, 7 then load): ${heapText(idleHeap)}`,
          `floor = the bare grpc-js server holding one MCP SDK client session to the backend (the two libraries any router on grpc-js and the MCP SDK must load; BASELINE_MCP_BACKEND), the router's node flags, same warm-up and settle; router − floor (medians) ${fmt.mib(idleRouterMiB - idleFloorMiB)}`,
          `seed/issue 16 target ≤ ${TARGETS.idleRssMiB} MiB: ${judgedOnFloor ? `unreachable on Node 20 — the floor alone is ${fmt.mib(idleFloorMiB)}` : `the floor is ${fmt.mib(idleFloorMiB)} this run`}; the router itself ${idleRouterMiB <= TARGETS.idleRssMiB ? 'meets' : 'misses'} it (${fmt.mib(idleRouterMiB)}). ${judgedOnFloor ? `Judged instead: the router's own code adds at most ${Math.round((TARGETS.idleVsFloor - 1) * 100)} % over the floor` : 'Judged on the issue target'} (medians of ${routerIdle.length} processes per side; read once still because, right after warm-up, V8's memory reducer has released some processes and not yet others, up to ~20 MiB apart: FINDINGS §10)`,
        ],
        data: { idle, routerIdle, floorIdle: floorIdleAll, idleRouterMiB, idleFloorMiB, baselineIdle, idleHeap, idleWaitMs: idleWait?.waitedMs, idleSettled: idleWait?.settled },
      });
      rows.push({
        id: '5b',
        title: 'Router peak memory (VmHWM) under load',
        driver: `VmHWM from /proc/<pid>/status after the load of item(s) ${loaded || 'none (nothing loaded it!)'}; RSS right after: ${fmt.mib(after.rssMiB)}`,
        measured: fmt.mib(after.hwmMiB),
        baseline: `bare grpc-js ${fmt.mib(baselineAfter.hwmMiB)}`,
        ratio: fmt.ratio(after.hwmMiB / baselineAfter.hwmMiB),
        target: `≤ ${TARGETS.loadRssMiB} MiB`,
        met: loaded ? after.hwmMiB <= TARGETS.loadRssMiB : undefined,
        notes: [`after load: ${heapText(afterHeap)}`],
        data: { after, baselineAfter, afterHeap },
      });
    }
    return { rows, routerMemory: { idle, after } };
  } finally {
    await Promise.all([s.router.stop(), s.inRouter?.hostRouter.stop(), s.workaroundBaseline?.proc.stop(), s.baseline.stop(), s.emptyBaseline.stop(), s.floor.stop(), s.backend.stop()]);
  }
}
