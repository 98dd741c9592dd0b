/**
 * `npm run bench`: the issue-5 benchmark. Prints the table, writes
 * bench/results/<timestamp>.json and bench/results/latest.md.
 * Settings: see bench/config.ts (BENCH_QUICK=1 for a short smoke run).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BENCH_ITEMS, loadBenchConfig } from './config';
import { startLoadWindow } from './machine-load';
import { runScalingItem } from './scaling';
import { compileBench } from './compile';
import { BenchContext } from './context';
import { machineInfo } from './machine';
import { pinPid, taskset } from './procs';
import { renderMarkdown, renderText, Row } from './report';
import { runSingleRouter } from './single-router';
import { runHaproxyItems } from './haproxy-items';
import { runSynthItems } from './synth-items';
import { runMcpItems } from './mcp-items';
import { runAuthItems } from './auth-items';

function locate(name: 'h2load' | 'haproxy' | 'consul'): string | undefined {
  // Same resolution as the tests' requireTool: the provisioning script's `name=/path` lines.
  try {
    const out = execFileSync('bash', [path.join(__dirname, '..', 'scripts', 'provision-test-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
    const m = new RegExp(`^${name}=(.+)$`, 'm').exec(out);
    return m?.[1].trim();
  } catch {
    return undefined;
  }
}

/**
 * One temporary directory for the whole run (TMPDIR, which os.tmpdir() reads and every process the
 * bench starts inherits): the local platforms' logs and configs, h2load's files. Removed after a run
 * in which every section ran; kept, and named, after one that failed, for its logs.
 */
function runTmpDir(): { dir: string; done: (failed: boolean) => void } {
  const base = os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'mcp-router-bench-'));
  process.env.TMPDIR = dir;
  return {
    dir,
    done: (failed) => {
      process.env.TMPDIR = base;
      if (failed) process.stdout.write(`The run's temporary files (logs of the routers, HAProxy and Consul it started) are kept in ${dir}\n`);
      else fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const tmp = runTmpDir();
  const wholeRun = startLoadWindow();
  const cfg = loadBenchConfig();
  compileBench();
  const tools = { h2load: locate('h2load'), haproxy: locate('haproxy'), consul: locate('consul') };
  const pinned = taskset() !== null;
  const cpu = pinned ? { server: 0, client: 1 } : {};
  const pinning = pinned
    ? 'taskset: the server under test (router or bare grpc-js) on cpu 0; h2load / the Node load driver on cpu 1 (item 2: MCP backend on cpu 0, driver + router on cpu 1; items 3/4/8: routers on cpu 0, HAProxy (started pinned, so nbthread auto = 1) + h2load on cpu 1; item 9: as 1 for 9a, as 2 for 9b/9c (backend on cpu 0; driver, HAProxy and router on cpu 1), as 4 for 9d; item 10: as 1, both routers on cpu 0); the bench process itself (it reads every log line) on cpu 1'
    : 'none (one CPU or no taskset)';
  const ctx: BenchContext = { cfg, tools, cpu, log: (m) => process.stderr.write(`[bench] ${m}\n`) };
  // This process reads the output of everything it starts (HAProxy logs a line per call): keep
  // that work on the load-generator CPU, off the CPU of the server under test.
  // (machine info first: pinning this process changes what os.availableParallelism() says)
  const machine = machineInfo(tools, pinning);
  if (pinned) pinPid(process.pid, 1);
  const roundsText = `${cfg.rounds}–${cfg.maxRounds} interleaved rounds per comparison, until the median's ${Math.round(cfg.confidence * 100)} % interval is within ±${Math.round(cfg.tolerance * 100)} % (at most ${Math.round(cfg.roundBudgetMs / 1000)} s of rounds each)`;
  ctx.log(`${cfg.quick ? 'QUICK run' : 'full run'}; ${roundsText}; items ${[...cfg.only].join(',')}; ${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}`);

  const rows: Row[] = [];
  let sectionFailed = false;
  const sections: Array<[string, () => Promise<Row[]>]> = [
    ['items 1, 2, 5, 7 (single router)', async () => (await runSingleRouter(ctx)).rows],
    ['items 3, 4 (HAProxy)', () => runHaproxyItems(ctx)],
    ['item 6 (synth)', () => runSynthItems(ctx)],
    ['item 8 (scaling: 1, 3, 5 routers behind HAProxy http)', () => runScalingItem(ctx)],
    ['item 9 (the MCP front door: tools/list, tools/call through HAProxy, shares)', () => runMcpItems(ctx)],
    ['item 10 (authentication: ListTools with and without)', () => runAuthItems(ctx)],
  ];
  for (const [name, fn] of sections) {
    ctx.log(`== ${name}`);
    try {
      rows.push(...(await fn()));
    } catch (err) {
      sectionFailed = true;
      // undici's "fetch failed" says why only in its cause (ECONNRESET, ECONNREFUSED, other side closed, ...).
      const cause = (err as Error).cause;
      ctx.log(`${name} FAILED: ${(err as Error).stack ?? err}${cause ? `\n    cause: ${(cause as Error).stack ?? String(cause)}` : ''}`);
      const why = `${(err as Error).message.split('\n')[0]}${cause ? ` (${(cause as Error).message ?? String(cause)})` : ''}`;
      rows.push({ id: name.replace(/\D+/g, ' ').trim().split(' ')[0] || '?', title: name, driver: '—', measured: '', baseline: '', ratio: '', target: '', skipped: `failed: ${why}` });
    }
  }
  const order = (id: string) => parseFloat(id) * 10 + (id.charCodeAt(id.length - 1) >= 97 ? id.charCodeAt(id.length - 1) - 96 : 0);
  rows.sort((a, b) => order(a.id) - order(b.id));

  const durationSec = (Date.now() - started) / 1000;
  const load = wholeRun();
  const loadLine = `Other load on the machine during the run (the machine's user + system CPU time minus the bench's own processes, from /proc): ${load.foreign.toFixed(2)} CPUs on average; hypervisor steal ${load.steal.toFixed(2)} CPUs. Per-round figures are in each row's notes.`;
  const date = new Date().toISOString();
  process.stdout.write(`\nMCP router benchmark — ${date}\n`);
  process.stdout.write(`Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB; Node ${machine.node}; grpc-js ${machine.grpcJs}; ${machine.haproxy}; ${machine.h2load}\n`);
  process.stdout.write(`Pinning: ${machine.pinning}\n`);
  process.stdout.write(`Rounds: ${roundsText}\n${loadLine}\n\n`);
  process.stdout.write(renderText(rows) + '\n\n');
  const met = rows.filter((r) => r.met === true).length;
  const notMet = rows.filter((r) => r.met === false).length;
  const skipped = rows.filter((r) => r.skipped).length;
  const marginal = rows.filter((r) => r.met !== undefined && r.firm === false).length;
  process.stdout.write(`Targets: ${met} met, ${notMet} not met, ${skipped} skipped; ${marginal} of the verdicts marginal (the median's interval spans the target). None of these is asserted by npm test. ${Math.round(durationSec)} s.\n`);

  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const stamp = date.replace(/[:.]/g, '-');
  const jsonFile = path.join(dir, `${stamp}.json`);
  fs.writeFileSync(jsonFile, JSON.stringify({ date, durationSec, config: { ...cfg, only: [...cfg.only] }, machine, rows }, null, 2));
  const partial = cfg.only.size < BENCH_ITEMS.length;
  const command = `${cfg.quick ? 'BENCH_QUICK=1 ' : ''}${partial ? `BENCH_ONLY=${[...cfg.only].sort().join(',')} ` : ''}npm run bench`;
  // Only a full run replaces latest.md (the README quotes it).
  const mdFile = path.join(dir, cfg.quick ? 'latest-quick.md' : partial ? 'latest-partial.md' : 'latest.md');
  fs.writeFileSync(mdFile, renderMarkdown(rows, machine, { date, quick: cfg.quick, rounds: roundsText, command, durationSec, extra: [loadLine] }));
  process.stdout.write(`Wrote ${path.relative(process.cwd(), jsonFile)} and ${path.relative(process.cwd(), mdFile)}\n`);
  tmp.done(sectionFailed || rows.some((r) => r.skipped?.startsWith('failed')));
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
