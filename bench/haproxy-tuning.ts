/**
 * `npm run bench:haproxy-tuning`: HAProxy http-mode settings measured ONE change
 * at a time, in the same run, against the shipped config (renderHaproxyConfig
 * defaults) and against the router straight.
 *
 * The local platform (Consul, demo backend, one router pinned to the server CPU)
 * runs once; beside it, one HAProxy per variant, each started pinned to the
 * client CPU (so nbthread auto-detects the one CPU it has, as in a container with
 * a cpuset), each from the shipped config with exactly one change, all resolving
 * the router through Consul DNS like the shipped config. The shipped config is
 * first compared with the router straight; then each variant is its own paired comparison with the shipped config (rounds of
 * [shipped, variant] in alternating order, adaptive like the bench's), so each
 * per-round ratio pairs two runs seconds apart. CPU milliseconds per
 * 1,000 calls of HAProxy and of the router (from /proc) are reported too: they
 * move far less with the machine's noise than throughput does.
 *
 * Settings: TUNE_ONLY=name,name (variants; default all), TUNE_ROUNDS (default 5),
 * TUNE_MAX_ROUNDS (default 9), TUNE_BUDGET_S per comparison (default 120),
 * TUNE_HAPROXY=3.0 (trixie's HAProxy instead of 2.6) and the bench's BENCH_H2_*
 * counts. Writes bench/results/haproxy-tuning-<stamp>.{json,md}.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { checkListTools, medianSample } from './checks';
import { compileBench } from './compile';
import { loadBenchConfig } from './config';
import { BenchContext, REPO } from './context';
import { statsServers, upAddresses } from '../scripts/local-platform/haproxy-stats';
import { IsolationResult, isolationCheck } from './isolation-check';
import { startLoadWindow } from './machine-load';
import { startBenchHaproxy } from './bench-haproxy';
import { BenchProcess, pinPid, sleep, taskset } from './procs';
import { fmt } from './report';
import { adaptiveRounds } from './rounds';
import { H2Run, H2Side, h2Measured } from './single-router';
import { median, roundSpread } from './stats';
import type { HaproxyConfigOptions, HaproxyMode } from '../haproxy-templates';

const TOOL = 'demo__echo';

/** One change to the shipped config: renderer options and/or a text edit of its output. */
export interface Variant {
  readonly name: string;
  readonly change: string;
  readonly options?: HaproxyConfigOptions;
  readonly edit?: (cfg: string) => string;
}

/** Inserts `line` after the first line equal to `after` (throws when there is none, so a variant never silently measures nothing). */
export function insertAfter(cfg: string, after: string, line: string): string {
  const lines = cfg.split('\n');
  const i = lines.indexOf(after);
  if (i < 0) throw new Error(`config has no line ${JSON.stringify(after)}`);
  lines.splice(i + 1, 0, line);
  return lines.join('\n');
}

/** Replaces text that must be present. */
export function replaceIn(cfg: string, from: string | RegExp, to: string): string {
  const out = cfg.replace(from, to);
  if (out === cfg) throw new Error(`config has no ${String(from)}`);
  return out;
}

const global = (line: string) => (cfg: string) => insertAfter(cfg, 'global', `    ${line}`);
const defaults = (line: string) => (cfg: string) => insertAfter(cfg, 'defaults', `    ${line}`);
const backend = (line: string) => (cfg: string) => insertAfter(cfg, 'backend mcp_router_backend', `    ${line}`);
const serverArgs = (args: string) => (cfg: string) => replaceIn(cfg, /^(    server-template .*)$/m, `$1 ${args}`);

export const VARIANTS: readonly Variant[] = [
  { name: 'nbthread-2', change: 'nbthread 2 on the one CPU HAProxy is given (what the old bench did: started unpinned, pinned afterwards)', options: { nbthread: 2 } },
  { name: 'no-log', change: 'no log line at all (`no log` in defaults; the shipped config logs failed calls only, option httplog + dontlog-normal: accessLog ERRORS)', edit: (c) => replaceIn(c, '    log global\n', '    no log\n') },
  { name: 'dontlog-normal', change: 'option dontlog-normal (log only failed or abnormal calls; normal ones are not formatted or written)', edit: defaults('option dontlog-normal') },
  { name: 'no-retry-on', change: 'no L7 retries (retry-on keeps a copy of every request for a possible retry)', options: { retryOn: [] } },
  { name: 'no-check', change: 'no health checks (check traffic: GET /readyz every 2 s)', edit: (c) => replaceIn(c, / check inter \d+ rise \d+ fall \d+/, '') },
  { name: 'h2-window-1m', change: 'tune.h2.initial-window-size 1048576 (default 65535)', edit: global('tune.h2.initial-window-size 1048576') },
  { name: 'h2-streams-1000', change: 'tune.h2.max-concurrent-streams 1000 (default 100)', edit: global('tune.h2.max-concurrent-streams 1000') },
  { name: 'h2-frame-64k', change: 'tune.h2.max-frame-size 65536 (default 16384)', edit: global('tune.h2.max-frame-size 65536') },
  { name: 'bufsize-64k', change: 'tune.bufsize 65536 (default 16384)', edit: global('tune.bufsize 65536') },
  { name: 'http-reuse-always', change: 'http-reuse always (default safe)', edit: backend('http-reuse always') },
  { name: 'http-reuse-aggressive', change: 'http-reuse aggressive (default safe)', edit: backend('http-reuse aggressive') },
  { name: 'http-reuse-never', change: 'http-reuse never (default safe)', edit: backend('http-reuse never') },
  { name: 'pool-low-conn-4', change: 'server pool-low-conn 4 pool-max-conn 64 (keep idle backend connections per thread)', edit: serverArgs('pool-low-conn 4 pool-max-conn 64') },
  { name: 'max-reuse-1000', change: 'server max-reuse 1000 (default unlimited)', edit: serverArgs('max-reuse 1000') },
  { name: 'low-latency', change: 'tune.sched.low-latency on', edit: global('tune.sched.low-latency on') },
  { name: 'http-no-delay', change: 'option http-no-delay', edit: defaults('option http-no-delay') },
];

interface TuningRow {
  readonly name: string;
  readonly change: string;
  readonly against: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly ratio: number;
  readonly min: number;
  readonly max: number;
  readonly halfWidth: number;
  readonly settled: boolean;
  /** (router + HAProxy CPU per call) ÷ the same of the compared side, per round: median, min–max. */
  readonly cpuRatio: number;
  readonly cpuMin: number;
  readonly cpuMax: number;
  readonly cpuSettled: boolean;
  readonly rounds: number;
  readonly haproxyCpu: number;
  readonly haproxyCpuAgainst: number;
  readonly routerCpu: number;
  readonly routerCpuAgainst: number;
  readonly foreign: number;
  readonly problems: string[];
}

function isoText(r: IsolationResult | undefined): string {
  if (!r) return '—';
  return r.ok === 0 || r.failed > 0 ? `**STALLED**: ${r.ok} ok, ${r.failed} failed${r.firstError ? ` (${r.firstError})` : ''}` : `${r.ok} ok, p99 ${fmt.ms(r.p99)} ms`;
}

function locate(name: string): string | undefined {
  const out = execFileSync('bash', [path.join(REPO, 'scripts', 'provision-test-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  return new RegExp(`^${name}=(.+)$`, 'm').exec(out)?.[1].trim();
}

/** Waits until the server at `address` takes traffic: UP, or "no check" for a variant without health checks. */
async function waitUp(statsUrl: string, address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const servers = await statsServers(statsUrl);
      if (upAddresses(servers).includes(address) || servers.some((s) => s.status === 'no check' && s.address.startsWith(`${address}:`))) return;
    } catch {
      /* not up yet */
    }
    await sleep(250);
  }
  throw new Error(`HAProxy at ${statsUrl} never had ${address} UP within ${timeoutMs} ms`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const whole = startLoadWindow();
  const cfg = loadBenchConfig();
  compileBench();
  const only = process.env.TUNE_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((n) => !VARIANTS.some((v) => v.name === n)) ?? [];
  if (unknown.length) throw new Error(`TUNE_ONLY names unknown variants ${JSON.stringify(unknown)}; known: ${VARIANTS.map((v) => v.name).join(', ')}`);
  const variants = only ? VARIANTS.filter((v) => only.includes(v.name)) : VARIANTS;
  const haproxyBin = process.env.TUNE_HAPROXY === '3.0' ? locate('haproxy30') : locate('haproxy');
  const tools = { h2load: locate('h2load'), haproxy: haproxyBin, consul: locate('consul') };
  if (!tools.h2load || !tools.haproxy || !tools.consul) throw new Error(`tools missing: ${JSON.stringify(tools)}`);
  const pinned = taskset() !== null;
  const ctx: BenchContext = { cfg, tools, cpu: pinned ? { server: 0, client: 1 } : {}, log: (m) => process.stderr.write(`[tune] ${m}\n`) };
  // This process reads every HAProxy log line: keep that work on the load-generator side, off the router's CPU.
  if (ctx.cpu.client !== undefined) pinPid(process.pid, ctx.cpu.client);
  const int = (name: string, d: number) => (process.env[name] ? Number(process.env[name]) : d);
  const policy = { minRounds: int('TUNE_ROUNDS', 5), maxRounds: int('TUNE_MAX_ROUNDS', 9), budgetMs: int('TUNE_BUDGET_S', 120) * 1000, confidence: cfg.confidence };

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { LocalPlatform } = require('../scripts/local-platform/platform') as typeof import('../scripts/local-platform/platform');
  const platform = await LocalPlatform.start({ instances: 1, mode: 'http', block: 'random', backends: ['demo'], routerEnv: { MCP_ROUTER_DRAIN_DELAY_MS: '0' } });
  const procs: BenchProcess[] = [];
  try {
    const ports = platform.ports;
    const infra = platform.block.infraAddress;
    const routerAddr = platform.block.routerAddress(1);
    const routerPid = platform.routers.get(1)!.child.pid!;
    if (ctx.cpu.server !== undefined) pinPid(routerPid, ctx.cpu.server);
    if (ctx.cpu.client !== undefined && platform.haproxy?.child.pid) pinPid(platform.haproxy.child.pid, ctx.cpu.client);
    const all: Array<Variant | undefined> = [undefined, ...variants];
    const sides: H2Side[] = [];
    const r1 = { tool: TOOL, instanceId: 'mcp-router-mcp-router-1' };
    const metricsUrl = `http://${routerAddr}:${ports.routerAdmin}/metrics`;
    // Start every HAProxy, then wait for each to route to the router (DNS + two good checks).
    const launched: Array<{ name: string; front: number; statsUrl: string; proc: BenchProcess }> = [];
    for (const [i, v] of all.entries()) {
      const name = v?.name ?? 'shipped';
      const front = 21000 + 2 * i;
      const stats = front + 1;
      const lb = await startBenchHaproxy(ctx, platform, { name, address: infra, frontendPort: front, statsPort: stats, options: { mode: 'http' as HaproxyMode, ...v?.options }, edit: v?.edit });
      const { proc, statsUrl } = lb;
      procs.push(proc);
      launched.push({ name, front, statsUrl, proc });
    }
    for (const { name, front, statsUrl, proc } of launched) {
      await waitUp(statsUrl, routerAddr, 60_000);
      await checkListTools(`${infra}:${front}`, r1);
      sides.push({ name, target: `${infra}:${front}`, expect: r1, metricsUrl, cpuPids: { router: routerPid, haproxy: proc.pid } });
      ctx.log(`${name}: pid ${proc.pid}, ${infra}:${front}`);
    }
    const direct: H2Side = { name: 'direct', target: platform.routerTarget(1), expect: r1, metricsUrl, cpuPids: { router: routerPid } };
    const h2 = cfg.h2;
    ctx.log('warm-up');
    await h2Measured(ctx, direct, { ...h2, requests: Math.ceil(h2.requests / 3) });
    for (const s of sides) await h2Measured(ctx, s, { ...h2, requests: Math.ceil(h2.requests / 4) });

    // One paired comparison per variant: [shipped, variant] rounds (order alternating), so each
    // per-round ratio pairs two runs seconds apart. The first comparison is shipped vs direct.
    const comparisons: Array<{ name: string; change: string; a: H2Side; b: H2Side }> = [
      { name: 'shipped', change: 'renderHaproxyConfig defaults, vs the router straight', a: sides[0], b: direct },
      ...variants.map((v, k) => ({ name: v.name, change: v.change, a: sides[k + 1], b: sides[0] })),
    ];
    const rows: TuningRow[] = [];
    for (const c of comparisons) {
      ctx.log(`${c.name} vs ${c.b.name}`);
      // Rounds settle on the CPU cost per call (router + HAProxy, variant ÷ shipped): it moves far
      // less with other processes' load than req/s does. The req/s ratio is reported with its spread.
      const cpuPerCall = (r: H2Run) => (r.cpuMsPer1k.router ?? 0) + (r.cpuMsPer1k.haproxy ?? 0);
      const res = await adaptiveRounds(policy, [() => h2Measured(ctx, c.a, h2), () => h2Measured(ctx, c.b, h2)], [{ name: 'cpu', of: ([x, y]: readonly H2Run[]) => cpuPerCall(x) / cpuPerCall(y), tolerance: { relative: cfg.tolerance } }], {
        sampler: () => startLoadWindow(),
      });
      const rpsSpread = roundSpread(res.runs[0].map((x, i) => x.rps / res.runs[1][i].rps), { relative: cfg.tolerance }, policy.confidence);
      const cpu = (runs: H2Run[], k: string) => median(runs.map((r) => r.cpuMsPer1k[k] ?? NaN));
      const [ra, rb] = res.runs;
      const sp = rpsSpread;
      const cs = res.spreads.cpu;
      rows.push({
        name: c.name,
        change: c.change,
        against: c.b.name,
        rps: medianSample(ra).rps,
        p50: medianSample(ra).latency.p50,
        p99: medianSample(ra).latency.p99,
        ratio: sp.median,
        min: sp.min,
        max: sp.max,
        halfWidth: sp.halfWidth,
        settled: sp.settled,
        cpuRatio: cs.median,
        cpuMin: cs.min,
        cpuMax: cs.max,
        cpuSettled: cs.settled,
        rounds: res.rounds,
        haproxyCpu: cpu(ra, 'haproxy'),
        haproxyCpuAgainst: cpu(rb, 'haproxy'),
        routerCpu: cpu(ra, 'router'),
        routerCpuAgainst: cpu(rb, 'router'),
        foreign: Math.max(...res.load.map((l) => l.foreign)),
        problems: [...new Set(res.runs.flat().flatMap((r) => r.problems))],
      });
      const r = rows[rows.length - 1];
      ctx.log(`  => ${c.name}/${c.b.name} req/s ${fmt.ratio(r.ratio)} (${fmt.ratio(r.min)}–${fmt.ratio(r.max)}, ±${(100 * r.halfWidth).toFixed(1)} %), CPU per call ${fmt.ratio(r.cpuRatio)} (${fmt.ratio(r.cpuMin)}–${fmt.ratio(r.cpuMax)}), ${r.rounds} rounds; router CPU ${r.routerCpu.toFixed(0)} vs ${r.routerCpuAgainst.toFixed(0)}, HAProxy ${r.haproxyCpu.toFixed(0)} vs ${Number.isFinite(r.haproxyCpuAgainst) ? r.haproxyCpuAgainst.toFixed(0) : '—'} ms/1k`);
    }
    // Isolation: every config, one after the other (a stalled client must not stall the others).
    const isolation = new Map<string, IsolationResult>();
    if (process.env.TUNE_ISOLATION !== '0') {
      for (const side of sides) {
        const r = await isolationCheck(side.target);
        isolation.set(side.name, r);
        ctx.log(`isolation ${side.name}: ${r.ok} calls ok, ${r.failed} failed${r.firstError ? ` (${r.firstError})` : ''}, p99 ${fmt.ms(r.p99)} ms`);
        await sleep(500);
      }
    }
    const load = whole();
    const lines: string[] = [];
    lines.push(`# HAProxy http mode: one change at a time (${new Date().toISOString()})`);
    lines.push('');
    lines.push(`Command: \`${only ? `TUNE_ONLY=${only.join(',')} ` : ''}${process.env.TUNE_HAPROXY ? `TUNE_HAPROXY=${process.env.TUNE_HAPROXY} ` : ''}npm run bench:haproxy-tuning\`; ${execFileSync(tools.haproxy, ['-v'], { encoding: 'utf8' }).split('\n')[0]}; h2load -c ${h2.clients} -m ${h2.streams} -n ${h2.requests} ListTools; router pinned to cpu ${ctx.cpu.server ?? '-'}, each HAProxy started pinned to cpu ${ctx.cpu.client ?? '-'} (shared with h2load and this script, which reads HAProxy's log lines); each row its own ${policy.minRounds}–${policy.maxRounds} paired rounds; ${Math.round((Date.now() - started) / 1000)} s.\n\nOther load: ${load.foreign.toFixed(2)} CPUs on average over the run (steal ${load.steal.toFixed(2)}).\n`);
    lines.push('| config | change | vs | CPU per call (router + HAProxy) ratio: median (min–max), rounds | req/s ratio: median (min–max), ±half-width | router CPU ms / 1k calls (vs) | HAProxy CPU ms / 1k calls (vs) | req/s | p50 / p99 ms | max other load | isolation: other clients\' calls while 4 clients stall 1 MB answers |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
    const n0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '—');
    for (const r of rows) {
      lines.push(`| ${r.name} | ${r.change.replace(/\|/g, '\\|')} | ${r.against} | ${fmt.ratio(r.cpuRatio)} (${fmt.ratio(r.cpuMin)}–${fmt.ratio(r.cpuMax)})${r.cpuSettled ? '' : ' not settled'}, ${r.rounds} | ${fmt.ratio(r.ratio)} (${fmt.ratio(r.min)}–${fmt.ratio(r.max)}), ±${(100 * r.halfWidth).toFixed(1)} %${r.settled ? '' : ' not settled'} | ${n0(r.routerCpu)} (${n0(r.routerCpuAgainst)}) | ${n0(r.haproxyCpu)} (${n0(r.haproxyCpuAgainst)}) | ${fmt.rps(r.rps)} | ${fmt.ms(r.p50)} / ${fmt.ms(r.p99)} | ${r.foreign.toFixed(2)} CPUs | ${isoText(isolation.get(r.name))} |${r.problems.length ? ` PROBLEMS: ${r.problems.join('; ')}` : ''}`);
    }
    lines.push('');
    const md = lines.join('\n');
    process.stdout.write(`\n${md}\n`);
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    fs.writeFileSync(path.join(dir, `haproxy-tuning-${stamp}.md`), md);
    fs.writeFileSync(path.join(dir, `haproxy-tuning-${stamp}.json`), JSON.stringify({ h2, policy, rows, load, isolation: Object.fromEntries(isolation) }, null, 2));
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await platform.close();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`haproxy tuning failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
