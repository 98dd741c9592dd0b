/**
 * Item 6: synth time of main.ts's McpRouterStack for fixed instanceCount 1,
 * 10 and 100 (maxInstances raised to the count) and for the variable count,
 * each in a fresh node process (ts-node, transpile only), timed inside the
 * process (construct + app.synth()) and as whole-process wall time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BenchContext, missing, REPO, skippedRow } from './context';
import { runBounded } from './h2load';
import { fmt, Row } from './report';

export const TARGET_100_SEC = 10;

interface SynthResult {
  which: string;
  loadMs: number;
  synthMs: number;
  bytes: number;
  containers: number;
  routerCount: unknown;
  variable: boolean;
  wallMs: number;
}

async function synthOnce(which: string, timeoutMs: number): Promise<SynthResult> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  try {
    const t0 = Date.now();
    const out = await runBounded(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', path.join(REPO, 'bench', 'synth-child.ts'), which, outdir],
      timeoutMs,
    ).then((r) => r, (err: Error) => ({ code: -1, stdout: '', stderr: err.message, timedOut: false }));
    const wallMs = Date.now() - t0;
    if (out.timedOut) throw new Error(`synth of ${which} did not finish within ${timeoutMs} ms`);
    if (out.code !== 0) throw new Error(`synth of ${which} failed: ${out.stderr.slice(-1500)}`);
    return { ...(JSON.parse(out.stdout.trim().split('\n').pop()!) as Omit<SynthResult, 'wallMs'>), wallMs };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

export async function runSynthItems(ctx: BenchContext): Promise<Row[]> {
  if (!ctx.cfg.only.has(6)) return [];
  const gone = missing(['main.ts', path.join(REPO, 'main.ts')], ['constructs', path.join(REPO, 'constructs', 'index.ts')]);
  const cases = [...ctx.cfg.synthCounts.map(String), 'variable'];
  if (gone) return cases.map((c) => skippedRow(`6 (${c})`, `synth time, ${c}`, c === '100' ? `≤ ${TARGET_100_SEC} s` : 'info', `${gone} not available`));
  process.env.BENCH_REPO_ROOT = REPO;
  const rows: Row[] = [];
  let first: SynthResult | undefined;
  for (const which of cases) {
    const r = await synthOnce(which, 120_000);
    first ??= r;
    ctx.log(`  synth ${which}: construct+synth ${fmt.sec(r.synthMs / 1000)}, module load ${fmt.sec(r.loadMs / 1000)}, process ${fmt.sec(r.wallMs / 1000)}; router count ${JSON.stringify(r.routerCount)}, ${Math.round(r.bytes / 1024)} KiB`);
    const label = which === 'variable' ? 'variable count (main.ts default, TerraformVariable)' : `instanceCount ${which}`;
    const withinTarget = r.wallMs / 1000 <= TARGET_100_SEC;
    rows.push({
      id: `6${'abcd'[rows.length] ?? ''}`,
      title: `Synth time, ${label}`,
      driver: `fresh node process (ts-node transpile-only) building McpRouterStack from main.ts and app.synth() to a temp dir; router container count in cdk.tf.json = ${JSON.stringify(r.routerCount)}, cdk.tf.json ${Math.round(r.bytes / 1024)} KiB`,
      measured: `${fmt.sec(r.synthMs / 1000)} construct+synth; ${fmt.sec(r.wallMs / 1000)} whole process`,
      baseline: which === cases[0] ? 'itself' : `instanceCount ${cases[0]}: ${fmt.sec(first.synthMs / 1000)} / ${fmt.sec(first.wallMs / 1000)}`,
      ratio: fmt.ratio(r.synthMs / first.synthMs),
      target: which === '100' ? `≤ ${TARGET_100_SEC} s (whole process)` : 'info',
      met: which === '100' ? withinTarget : undefined,
      data: r,
    });
  }
  return rows;
}
