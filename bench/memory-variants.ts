/**
 * `npm run bench:memory`: the router's idle and peak memory, one change at a
 * time, all variants in the same run (issue 16's memory targets, rows 5a/5b).
 *
 * One demo MCP backend; one router process per variant (static backend, no
 * Consul), all pinned to the server CPU. Every variant gets the same warm-up
 * (20 ListTools + 20 CallTool), a settle, the idle reading (VmRSS), then the
 * same load in rotating order (h2load ListTools saturation + CallTool at 8 in
 * flight, MEM_ROUNDS times), and the peak (VmHWM) and RSS after.
 *
 * Variants (each differs from "image before" in one thing):
 * - flags: the image's CMD before this work, + --max-old-space-size=96,
 *   --max-semi-space-size=1, and the image's CMD now;
 * - builds: an esbuild bundle of dist/main.js (pinned esbuild; minified; the
 *   gRPC packages that read .proto files next to their own code kept
 *   external), and dist/ without @grpc/reflection loaded at all — an upper
 *   bound of what lazy-loading it could save;
 * - channelz: the image now with `'grpc.enable_channelz': 0` added to the
 *   router's grpc.Server options (dist/router.js patched) — or, once the
 *   router sets it, removed again;
 * - floor: the bare grpc-js baseline server plus an MCP SDK client session to
 *   the backend — the modules any router built on grpc-js and the SDK must
 *   load; idle only (it serves no CallTool);
 * - container limits: the image's flags scaled to 96, 128 and 192 MiB, as the
 *   constructs run a router given that limit (constructs/router-heap.ts).
 * MEM_VARIANTS=<i,j,...> (0-based indices into VARIANTS) runs only those;
 * MEM_COPIES=<n> starts n processes of each (idle RSS differs 4–6 MiB between
 * identical processes, so a small change needs several of each to be seen).
 * Writes bench/results/memory-<stamp>.{md,json}.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkCallTool, checkListTools } from './checks';
import { benchScript, compileBench } from './compile';
import { loadBenchConfig } from './config';
import { BenchContext, DEMO_ENTRY, REPO, ROUTER_ENTRY } from './context';
import { h2Measured, runDriver } from './single-router';
import { startLoadWindow } from './machine-load';
import { BenchProcess, freePort, pinPid, procMemory, ProcMemory, sleep, taskset } from './procs';
import { fmt } from './report';
import { routerNodeFlags } from '../scripts/local-platform/platform';
import { scaleHeapFlags } from '../constructs/router-heap';
import { ROUTER_SECURITY_DEFAULTS } from '../constructs/router-fleet';

const HOST = '127.0.0.1';
const TOOL = 'demo__echo';
const BEFORE_FLAGS = ['--max-semi-space-size=2'];

interface Variant {
  readonly name: string;
  readonly flags: string[];
  /** Entry script; the built dist/main.js unless a build step makes another. */
  readonly entry: (work: string) => string;
  /** Not a router: measured idle only. */
  readonly floor?: boolean;
}

/** A copy of router-app (dist, proto, package.json) in `work/<name>`, so dist/'s relative paths hold. */
function copyRouter(work: string, name: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const p of ['dist', 'proto', 'package.json']) fs.cpSync(path.join(REPO, 'router-app', p), path.join(dir, p), { recursive: true });
  return dir;
}

/** dist/router.js with one line replaced; fails loudly when the line is not there (the code moved on). */
function patch(file: string, from: string, to: string): void {
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`${file}: ${JSON.stringify(from)} not found; update bench/memory-variants.ts`);
  fs.writeFileSync(file, text.replace(from, to));
}

export const VARIANTS: readonly Variant[] = [
  { name: 'image before (--max-semi-space-size=2)', flags: BEFORE_FLAGS, entry: () => ROUTER_ENTRY },
  { name: '+ --max-old-space-size=96', flags: [...BEFORE_FLAGS, '--max-old-space-size=96'], entry: () => ROUTER_ENTRY },
  { name: '--max-semi-space-size=1 instead of 2', flags: ['--max-semi-space-size=1'], entry: () => ROUTER_ENTRY },
  { name: 'image now (routerNodeFlags)', flags: routerNodeFlags(), entry: () => ROUTER_ENTRY },
  {
    name: 'esbuild bundle, minified (image before flags)',
    flags: BEFORE_FLAGS,
    entry: (work) => {
      // <work>/bundle/app/dist/main.js: dist's ../package.json and ../../proto resolve as in the image.
      const app = path.join(work, 'bundle', 'app');
      fs.mkdirSync(path.join(app, 'dist'), { recursive: true });
      fs.cpSync(path.join(REPO, 'router-app', 'package.json'), path.join(app, 'package.json'));
      fs.cpSync(path.join(REPO, 'router-app', 'proto'), path.join(work, 'bundle', 'proto'), { recursive: true });
      const out = path.join(app, 'dist', 'main.js');
      const external = ['@grpc/grpc-js', '@grpc/proto-loader', '@grpc/reflection', 'grpc-health-check'].flatMap((e) => [`--external:${e}`]);
      execFileSync(path.join(REPO, 'node_modules', '.bin', 'esbuild'), [ROUTER_ENTRY, '--bundle', '--minify', '--platform=node', '--target=node20', ...external, `--outfile=${out}`, '--log-level=error'], { stdio: 'inherit' });
      // The externals resolve from the repository's node_modules.
      fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(work, 'bundle', 'node_modules'));
      return out;
    },
  },
  {
    name: 'without @grpc/reflection (upper bound of lazy-loading it)',
    flags: BEFORE_FLAGS,
    entry: (work) => {
      const dir = copyRouter(work, 'no-reflection');
      patch(path.join(dir, 'dist', 'router.js'), 'new reflection_1.ReflectionService(pkg).addToServer(server);', '/* reflection left out (bench) */');
      fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
      return path.join(dir, 'dist', 'main.js');
    },
  },
  {
    // One change against "image now": grpc-js's channelz bookkeeping (FINDINGS §6) switched the other way.
    name: 'image now, channelz switched (grpc.enable_channelz)',
    flags: routerNodeFlags(),
    entry: (work) => {
      const dir = copyRouter(work, 'channelz');
      const file = path.join(dir, 'dist', 'router.js');
      const text = fs.readFileSync(file, 'utf8');
      if (text.includes("'grpc.enable_channelz': 0")) patch(file, "'grpc.enable_channelz': 0,", '');
      else patch(file, 'const server = new grpc.Server({', "const server = new grpc.Server({ 'grpc.enable_channelz': 0,");
      fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
      return path.join(dir, 'dist', 'main.js');
    },
  },
  { name: 'floor: bare grpc-js server + an MCP SDK client session', flags: BEFORE_FLAGS, entry: () => '', floor: true },
  // What the constructs run for a router given another memory limit (routerCommandFor: the image's flags scaled).
  ...[96, 128, 192].map((mb) => ({ name: `image flags scaled to a ${mb} MiB limit`, flags: scaleHeapFlags(routerNodeFlags(), mb, ROUTER_SECURITY_DEFAULTS.memoryMb)!, entry: () => ROUTER_ENTRY })),
];

interface Running {
  readonly v: Variant;
  readonly proc: BenchProcess;
  readonly target: string;
  readonly metricsUrl?: string;
}

async function main(): Promise<void> {
  const started = Date.now();
  const whole = startLoadWindow();
  const cfg = loadBenchConfig();
  compileBench();
  const out = execFileSync('bash', [path.join(REPO, 'scripts', 'provision-test-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  const h2loadBin = /^h2load=(.+)$/m.exec(out)?.[1].trim();
  if (!h2loadBin) throw new Error('h2load is not provisioned');
  const pinned = taskset() !== null;
  const ctx: BenchContext = { cfg, tools: { h2load: h2loadBin }, cpu: pinned ? { server: 0, client: 1 } : {}, log: (m) => process.stderr.write(`[mem] ${m}\n`) };
  if (ctx.cpu.client !== undefined) pinPid(process.pid, ctx.cpu.client);
  const rounds = Number(process.env.MEM_ROUNDS ?? 3);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-memory-'));
  const backendPort = await freePort(HOST);
  const backendUrl = `http://${HOST}:${backendPort}/mcp`;
  const { proc: backend } = await BenchProcess.start({
    name: 'demo-backend',
    command: process.execPath,
    args: [DEMO_ENTRY],
    env: { ...process.env, HOST, PORT: String(backendPort), SERVER_NAME: 'demo', CONSUL_HOST: '' },
    cpu: ctx.cpu.client,
    ready: /demo MCP server started/,
  });
  const running: Running[] = [];
  const only = process.env.MEM_VARIANTS ? new Set(process.env.MEM_VARIANTS.split(',').map(Number)) : undefined;
  const copies = Number(process.env.MEM_COPIES ?? 1);
  if (!Number.isInteger(copies) || copies < 1 || copies > 4) throw new Error(`MEM_COPIES must be an integer from 1 to 4; received ${process.env.MEM_COPIES}`);
  const selected = VARIANTS.flatMap((v, i) => (only && !only.has(i) ? [] : Array.from({ length: copies }, (_, k) => ({ ...v, name: copies > 1 ? `${v.name} #${k + 1}` : v.name }))));
  if (selected.length === 0) throw new Error(`MEM_VARIANTS selects none of the ${VARIANTS.length} variants (0-based indices); received ${process.env.MEM_VARIANTS}`);
  const entries = new Map<Variant['entry'], string>();
  try {
    for (const [i, v] of selected.entries()) {
      if (v.floor) {
        const [cmd, args] = benchScript('baseline-server', [HOST, '0'], v.flags);
        const { proc, match } = await BenchProcess.start({ name: `floor`, command: cmd, args, env: { ...process.env, BASELINE_MCP_BACKEND: backendUrl }, cpu: ctx.cpu.server, ready: /^listening (\d+)/ });
        running.push({ v, proc, target: `${HOST}:${match[1]}` });
        continue;
      }
      // Copies of a variant share its build (made once).
      const entry = entries.get(v.entry) ?? v.entry(work);
      entries.set(v.entry, entry);
      const port = await freePort(HOST);
      const metricsPort = await freePort(HOST);
      const { proc } = await BenchProcess.start({
        name: `router-${i}`,
        command: process.execPath,
        args: [...v.flags, entry],
        env: {
          ...process.env,
          CONSUL_REGISTER: 'false',
          MCP_BACKEND_DISCOVERY: 'false',
          MCP_BACKENDS: JSON.stringify([{ name: 'demo', url: backendUrl }]),
          MCP_ROUTER_BIND_ADDRESS: HOST,
          MCP_ROUTER_PORT: String(port),
          MCP_ROUTER_METRICS_PORT: String(metricsPort),
          MCP_ROUTER_MCP_PORT: '0',
          MCP_ROUTER_INSTANCE_ID: `mem-${i}`,
          MCP_ROUTER_DRAIN_DELAY_MS: '0',
          LOG_LEVEL: 'info',
        },
        cpu: ctx.cpu.server,
        ready: /router started/,
      });
      running.push({ v, proc, target: `${HOST}:${port}`, metricsUrl: `http://${HOST}:${metricsPort}/metrics` });
    }
    for (const r of running) {
      if (r.v.floor) {
        for (let k = 0; k < 20; k++) await checkListTools(r.target, {});
        continue;
      }
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
    const idle = running.map((r) => procMemory(r.proc.pid));
    running.forEach((r, i) => ctx.log(`${r.v.name}: idle RSS ${fmt.mib(idle[i].rssMiB)}`));

    const routers = running.filter((r) => !r.v.floor);
    const h2 = { requests: Math.ceil(cfg.h2.requests / 3), clients: cfg.h2.clients, streams: cfg.h2.streams };
    const calls = Math.ceil(cfg.call.requests / 2);
    const rps = new Map<string, { list: number[]; call: number[]; cpu: number[] }>(routers.map((r) => [r.v.name, { list: [], call: [], cpu: [] }]));
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < routers.length; k++) {
        const r = routers[(k + round) % routers.length];
        const list = await h2Measured(ctx, { name: r.v.name, target: r.target, expect: { tool: TOOL }, metricsUrl: r.metricsUrl, cpuPids: { router: r.proc.pid } }, h2);
        const call = await runDriver(ctx, { kind: 'grpc', target: r.target, tool: TOOL, text: 'hello-mem', requests: calls, warmup: 100, concurrency: 8, timeLimitMs: cfg.runTimeoutMs }, `${r.v.name} CallTool`);
        if (list.problems.length || call.problems.length) throw new Error(`${r.v.name}: ${[...list.problems, ...call.problems].join('; ')}`);
        rps.get(r.v.name)!.list.push(list.rps);
        rps.get(r.v.name)!.call.push(call.rps);
        rps.get(r.v.name)!.cpu.push(list.cpuMsPer1k.router);
      }
      ctx.log(`round ${round + 1} of ${rounds} done (${Math.round((Date.now() - started) / 1000)} s)`);
    }
    const after: ProcMemory[] = running.map((r) => procMemory(r.proc.pid));
    const load = whole();
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const lines = [
      `# Router memory, one change at a time (${new Date().toISOString()})`,
      '',
      `Command: \`npm run bench:memory\`; Node ${process.version}; ${copies} process(es) per variant, all pinned to cpu ${ctx.cpu.server ?? '-'} (load on cpu ${ctx.cpu.client ?? '-'}); idle = VmRSS after 20 ListTools + 20 CallTool and 5 s; then ${rounds} rotated rounds of h2load -c ${h2.clients} -m ${h2.streams} -n ${h2.requests} ListTools + ${calls} CallTool at 8 in flight on every router; peak = VmHWM after all rounds; ${Math.round((Date.now() - started) / 1000)} s. Other load on the machine: ${load.foreign.toFixed(2)} CPUs on average. Req/s are medians over the rounds and information only (the rounds are few and the machine shared).`,
      '',
      '| variant | node flags | idle RSS | peak RSS (VmHWM) | RSS after load | ListTools req/s | router CPU ms per 1,000 ListTools | CallTool req/s |',
      '|---|---|---:|---:|---:|---:|---:|---:|',
      ...running.map((r, i) => {
        const x = rps.get(r.v.name);
        return `| ${r.v.name} | \`${r.v.flags.join(' ') || '(none)'}\` | ${fmt.mib(idle[i].rssMiB)} | ${r.v.floor ? '— (idle only)' : fmt.mib(after[i].hwmMiB)} | ${r.v.floor ? '—' : fmt.mib(after[i].rssMiB)} | ${x ? fmt.rps(med(x.list)) : '—'} | ${x ? med(x.cpu).toFixed(0) : '—'} | ${x ? fmt.rps(med(x.call)) : '—'} |`;
      }),
      '',
    ];
    const md = lines.join('\n');
    process.stdout.write(`\n${md}\n`);
    const dir = path.join(__dirname, 'results');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    fs.writeFileSync(path.join(dir, `memory-${stamp}.md`), md);
    fs.writeFileSync(path.join(dir, `memory-${stamp}.json`), JSON.stringify({ variants: running.map((r, i) => ({ name: r.v.name, flags: r.v.flags, idle: idle[i], after: after[i], rps: rps.get(r.v.name) })), load }, null, 2));
  } finally {
    await Promise.all(running.map((r) => r.proc.stop()));
    await backend.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`memory study failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
