/**
 * `npm run bench:v8-flags`: the router's memory and throughput under different
 * Node/V8 command-line flags, in the same run (router-app itself unchanged).
 *
 * One demo MCP backend and one router process per flag set (static backend, no
 * Consul), all routers pinned to the server CPU, the load generators to the
 * client CPU. For each router: idle RSS after warm-up and a settle; then rounds
 * rotating over the routers, each run = h2load ListTools saturation + the Node
 * load driver's CallTool (8 in flight); figures per round are each flag set's
 * req/s ÷ the image's flags' req/s in the same round. At the end: each router's
 * peak RSS (VmHWM) and RSS. Writes bench/results/v8-flags-<stamp>.{md,json}.
 *
 * Settings: V8_ROUNDS (default 5), V8_MAX_ROUNDS (default 7), BENCH_H2_REQUESTS,
 * BENCH_CALL_REQUESTS.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { checkCallTool, checkListTools, medianSample } from './checks';
import { benchScript, compileBench } from './compile';
import { loadBenchConfig } from './config';
import { BenchContext, DEMO_ENTRY, REPO, ROUTER_ENTRY } from './context';
import { runBounded } from './h2load';
import type { DriverOptions, DriverResult } from './load-driver';
import { startLoadWindow } from './machine-load';
import { BenchProcess, freePort, pinPid, procMemory, sleep, taskset } from './procs';
import { fmt } from './report';
import { adaptiveRounds } from './rounds';
import { H2Run, H2Side, h2Measured } from './single-router';
import { median } from './stats';
import { routerNodeFlags } from '../scripts/local-platform/platform';

const HOST = '127.0.0.1';
const TOOL = 'demo__echo';

export const FLAG_SETS: ReadonlyArray<{ name: string; flags: (image: string[]) => string[] }> = [
  { name: 'image', flags: (image) => image },
  { name: 'node defaults', flags: () => [] },
  { name: 'semi-space 1', flags: () => ['--max-semi-space-size=1'] },
  { name: 'image + optimize-for-size', flags: (image) => [...image, '--optimize-for-size'] },
  { name: 'image + max-old-space 96', flags: (image) => [...image, '--max-old-space-size=96'] },
  { name: 'image + single-threaded-gc', flags: (image) => [...image, '--single-threaded-gc'] },
];

interface RouterUnderTest {
  readonly name: string;
  readonly flags: string[];
  readonly proc: BenchProcess;
  readonly target: string;
  readonly metricsUrl: string;
}

interface FlagRun {
  readonly list: H2Run;
  readonly call: DriverResult;
}

function locate(name: string): string | undefined {
  const out = execFileSync('bash', [path.join(REPO, 'scripts', 'provision-test-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  return new RegExp(`^${name}=(.+)$`, 'm').exec(out)?.[1].trim();
}

async function main(): Promise<void> {
  const started = Date.now();
  const whole = startLoadWindow();
  const cfg = loadBenchConfig();
  compileBench();
  const h2loadBin = locate('h2load');
  if (!h2loadBin) throw new Error('h2load is not provisioned');
  const pinned = taskset() !== null;
  const ctx: BenchContext = { cfg, tools: { h2load: h2loadBin }, cpu: pinned ? { server: 0, client: 1 } : {}, log: (m) => process.stderr.write(`[v8] ${m}\n`) };
  if (ctx.cpu.client !== undefined) pinPid(process.pid, ctx.cpu.client);
  const int = (name: string, d: number) => (process.env[name] ? Number(process.env[name]) : d);
  const policy = { minRounds: int('V8_ROUNDS', 5), maxRounds: int('V8_MAX_ROUNDS', 7), budgetMs: 900_000, confidence: cfg.confidence };
  const image = routerNodeFlags();

  const backendPort = await freePort(HOST);
  const { proc: backend } = await BenchProcess.start({
    name: 'demo-backend',
    command: process.execPath,
    args: [DEMO_ENTRY],
    env: { ...process.env, HOST, PORT: String(backendPort), SERVER_NAME: 'demo', CONSUL_HOST: '' },
    cpu: ctx.cpu.client,
    ready: /demo MCP server started/,
  });
  const routers: RouterUnderTest[] = [];
  try {
    for (const [i, set] of FLAG_SETS.entries()) {
      const port = await freePort(HOST);
      const metricsPort = await freePort(HOST);
      const flags = set.flags(image);
      const { proc } = await BenchProcess.start({
        name: `router-${i}`,
        command: process.execPath,
        args: [...flags, ROUTER_ENTRY],
        env: {
          ...process.env,
          CONSUL_REGISTER: 'false',
          MCP_BACKEND_DISCOVERY: 'false',
          MCP_BACKENDS: JSON.stringify([{ name: 'demo', url: `http://${HOST}:${backendPort}/mcp` }]),
          MCP_ROUTER_BIND_ADDRESS: HOST,
          MCP_ROUTER_PORT: String(port),
          MCP_ROUTER_METRICS_PORT: String(metricsPort),
          MCP_ROUTER_MCP_PORT: '0',
          MCP_ROUTER_INSTANCE_ID: `v8-${i}`,
          MCP_ROUTER_DRAIN_DELAY_MS: '0',
          LOG_LEVEL: 'info',
        },
        cpu: ctx.cpu.server,
        ready: /router started/,
      });
      routers.push({ name: set.name, flags, proc, target: `${HOST}:${port}`, metricsUrl: `http://${HOST}:${metricsPort}/metrics` });
    }
    // Catalogue loaded, 20 warm-up calls each, then settle: idle RSS.
    for (const r of routers) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          await checkListTools(r.target, { tool: TOOL });
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await sleep(200);
        }
      }
      for (let k = 0; k < 20; k++) {
        await checkListTools(r.target, { tool: TOOL });
        await checkCallTool(r.target, TOOL);
      }
    }
    await sleep(5_000);
    const idle = routers.map((r) => procMemory(r.proc.pid));
    routers.forEach((r, i) => ctx.log(`${r.name} (${r.flags.join(' ') || 'no flags'}): idle RSS ${fmt.mib(idle[i].rssMiB)}`));

    const h2 = { requests: cfg.h2.requests / 3, clients: cfg.h2.clients, streams: cfg.h2.streams };
    const calls = Math.ceil(cfg.call.requests / 2);
    const callRun = async (r: RouterUnderTest): Promise<DriverResult> => {
      const o: DriverOptions = { kind: 'grpc', target: r.target, tool: TOOL, text: 'hello-v8', requests: calls, warmup: 100, concurrency: 8, timeLimitMs: cfg.runTimeoutMs };
      const [cmd, args] = benchScript('load-driver', [JSON.stringify(o)]);
      const full = ctx.cpu.client === undefined ? [cmd, args] : ['taskset', ['-c', String(ctx.cpu.client), cmd, ...args]];
      const out = await runBounded(full[0] as string, full[1] as string[], o.timeLimitMs + 15_000);
      if (out.timedOut || out.code !== 0) throw new Error(`load driver failed for ${r.name}: ${out.stderr.slice(-800)}`);
      return JSON.parse(out.stdout.trim().split('\n').pop()!) as DriverResult;
    };
    const sides = routers.map((r) => async (): Promise<FlagRun> => {
      const side: H2Side = { name: r.name, target: r.target, expect: { tool: TOOL }, metricsUrl: r.metricsUrl, cpuPids: { router: r.proc.pid } };
      const list = await h2Measured(ctx, side, h2);
      const call = await callRun(r);
      ctx.log(`    ${r.name}: CallTool ${fmt.load(call.reqPerSec, call.latency)}`);
      return { list, call };
    });
    const tol = { relative: cfg.tolerance };
    const res = await adaptiveRounds(
      policy,
      sides,
      FLAG_SETS.slice(1).flatMap((s, k) => [
        { name: `${s.name} list`, of: (round: readonly FlagRun[]) => round[k + 1].list.rps / round[0].list.rps, tolerance: tol },
        { name: `${s.name} call`, of: (round: readonly FlagRun[]) => round[k + 1].call.reqPerSec / round[0].call.reqPerSec, tolerance: tol },
      ]),
      { sampler: () => startLoadWindow(), onRound: (n) => ctx.log(`round ${n} done (${Math.round((Date.now() - started) / 1000)} s)`) },
    );
    const after = routers.map((r) => procMemory(r.proc.pid));
    const load = whole();
    const rows = routers.map((r, i) => {
      const runs = res.runs[i];
      const list = medianSample(runs.map((x) => x.list));
      const callRps = median(runs.map((x) => x.call.reqPerSec));
      const ls = i ? res.spreads[`${r.name} list`] : undefined;
      const cs = i ? res.spreads[`${r.name} call`] : undefined;
      return {
        name: r.name,
        flags: r.flags.join(' ') || '(none)',
        idleRss: idle[i].rssMiB,
        peakRss: after[i].hwmMiB,
        rssAfter: after[i].rssMiB,
        listRps: list.rps,
        callRps,
        routerCpu: median(runs.map((x) => x.list.cpuMsPer1k.router)),
        list: ls && { median: ls.median, min: ls.min, max: ls.max, settled: ls.settled },
        call: cs && { median: cs.median, min: cs.min, max: cs.max, settled: cs.settled },
      };
    });
    const lines = [
      `# Router memory and throughput by Node/V8 flags (${new Date().toISOString()})`,
      '',
      `Command: \`npm run bench:v8-flags\`; Node ${process.version}; one router per flag set, all pinned to cpu ${ctx.cpu.server ?? '-'} (load on cpu ${ctx.cpu.client ?? '-'}); per run: h2load -c ${h2.clients} -m ${h2.streams} -n ${h2.requests} ListTools, then ${calls} CallTool demo echo at 8 in flight; ${res.rounds} rotated rounds (${res.stop}); ${Math.round((Date.now() - started) / 1000)} s. Other load: ${load.foreign.toFixed(2)} CPUs on average.`,
      '',
      '| flags | idle RSS | peak RSS (VmHWM) | RSS after load | ListTools req/s (median) | vs image flags: median (min–max) | CallTool req/s | vs image flags: median (min–max) | router CPU ms / 1k ListTools |',
      '|---|---:|---:|---:|---:|---|---:|---|---:|',
      ...rows.map(
        (r) =>
          `| ${r.name}: \`${r.flags}\` | ${fmt.mib(r.idleRss)} | ${fmt.mib(r.peakRss)} | ${fmt.mib(r.rssAfter)} | ${fmt.rps(r.listRps)} | ${r.list ? `${fmt.ratio(r.list.median)} (${fmt.ratio(r.list.min)}–${fmt.ratio(r.list.max)})${r.list.settled ? '' : ' not settled'}` : '—'} | ${fmt.rps(r.callRps)} | ${r.call ? `${fmt.ratio(r.call.median)} (${fmt.ratio(r.call.min)}–${fmt.ratio(r.call.max)})${r.call.settled ? '' : ' not settled'}` : '—'} | ${r.routerCpu.toFixed(0)} |`,
      ),
      '',
    ];
    const md = lines.join('\n');
    process.stdout.write(`\n${md}\n`);
    const dir = path.join(__dirname, 'results');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    fs.writeFileSync(path.join(dir, `v8-flags-${stamp}.md`), md);
    fs.writeFileSync(path.join(dir, `v8-flags-${stamp}.json`), JSON.stringify({ rows, rounds: res.rounds, stop: res.stop, load }, null, 2));
  } finally {
    await Promise.all(routers.map((r) => r.proc.stop()));
    await backend.stop();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`v8-flags failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
