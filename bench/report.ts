/**
 * The result table: one row per measured comparison with measured value,
 * baseline, ratio, target and whether the target was met. Rendered as
 * aligned text (console) and markdown (bench/results/latest.md).
 */
import type { ForeignLoad } from './machine-load';
import type { StopReason } from './rounds';
import type { LatencySummary, RoundSpread } from './stats';
import type { MachineInfo } from './machine';

export interface Row {
  /** e.g. "1a" */
  readonly id: string;
  readonly title: string;
  /** Which tool drove the load, how. */
  readonly driver: string;
  readonly measured: string;
  readonly baseline: string;
  /** Shown in the ratio column (empty when there is no ratio): the median over rounds. */
  readonly ratio: string;
  /** The judged figure's per-round min–max and how well its median settled (spreadText). */
  readonly spread?: string;
  readonly target: string;
  /** true met, false not met, undefined: no target (informational) or skipped. */
  readonly met?: boolean;
  /**
   * false when the median's confidence interval straddles the target: the verdict
   * could flip with the machine's noise ("marginal"). undefined: not judged on rounds.
   */
  readonly firm?: boolean;
  /** Set when the row could not be measured; the reason. */
  readonly skipped?: string;
  readonly notes?: readonly string[];
  /** Raw numbers for the JSON file. */
  readonly data?: unknown;
}

export function verdict(row: Row): string {
  if (row.skipped) return `skipped: ${row.skipped}`;
  if (row.met === undefined) return 'info';
  const word = row.met ? 'met' : 'NOT MET';
  return row.firm === false ? `${word} (marginal)` : word;
}

/**
 * The spread cell: min–max of the per-round figure, the rounds taken, and the
 * half-width of the median's interval against the tolerance, e.g.
 * "0.79–0.88 over 7 rounds; median ±3.1 % (settled)".
 */
export function spreadText(s: RoundSpread, stop: StopReason, value: (n: number) => string = fmt.ratio, width: (n: number) => string = value): string {
  const rel = 'relative' in s.tolerance;
  const hw = rel ? `±${(100 * s.halfWidth).toFixed(1)} %` : `±${width(s.halfWidth)}`;
  const tol = rel ? `±${(100 * (s.tolerance as { relative: number }).relative).toFixed(0)} %` : `±${width((s.tolerance as { absolute: number }).absolute)}`;
  const why = s.settled ? 'settled' : `NOT settled (> ${tol}${s.ciLevel < 0.9 ? `, interval only ${Math.round(100 * s.ciLevel)} % sure` : ''}; stopped: ${stop === 'time-budget' ? 'time budget' : stop === 'max-rounds' ? 'round cap' : stop})`;
  return `${value(s.min)}–${value(s.max)} over ${s.rounds} round${s.rounds === 1 ? '' : 's'}; median ${hw} (${why})`;
}

/** Timed-out runs of a comparison (bench/rounds.ts), for the row's notes; undefined when none. */
export function timeoutText(res: { rounds: number; failedRounds: number; timeouts: readonly string[] }): string | undefined {
  if (res.timeouts.length === 0) return undefined;
  const retried = res.timeouts.length - 2 * res.failedRounds;
  const parts = [
    ...(res.failedRounds ? [`${res.failedRounds} of ${res.rounds + res.failedRounds} rounds FAILED (a load run timed out, and again on the retry) and are left out: judged on the ${res.rounds} measured round${res.rounds === 1 ? '' : 's'}`] : []),
    ...(retried ? [`${retried} round${retried === 1 ? '' : 's'} timed out once and measured on the retry`] : []),
  ];
  return `${parts.join('; ')} (first timeout: ${res.timeouts[0]})`;
}

/** Other processes' load over a comparison's rounds, for the row's notes. */
export function loadText(load: readonly ForeignLoad[]): string | undefined {
  if (load.length === 0) return undefined;
  const f = load.map((l) => l.foreign);
  const st = load.map((l) => l.steal);
  const r = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
  return `other processes on the machine used ${r(f)} CPUs per round (steal ${r(st)})`;
}

export const fmt = {
  rps: (n: number) => (Number.isFinite(n) ? `${Math.round(n).toLocaleString('en-US')} req/s` : 'n/a'),
  ms: (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : 'n/a'),
  ratio: (n: number) => (Number.isFinite(n) ? n.toFixed(2) : n === Infinity ? '∞' : 'n/a'),
  mib: (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} MiB` : 'n/a'),
  sec: (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)} s` : 'n/a'),
  lat: (l: Pick<LatencySummary, 'p50' | 'p95' | 'p99'>) => `p50 ${fmt.ms(l.p50)} / p95 ${fmt.ms(l.p95)} / p99 ${fmt.ms(l.p99)} ms`,
  load: (rps: number, l: Pick<LatencySummary, 'p50' | 'p95' | 'p99'>) => `${fmt.rps(rps)}; ${fmt.lat(l)}`,
};

const COLUMNS = ['#', 'what', 'measured', 'baseline', 'ratio', 'spread over rounds', 'target', 'result'] as const;

function cells(row: Row): string[] {
  const dash = (v: string | undefined) => (row.skipped ? '—' : (v ?? ''));
  return [row.id, row.title, dash(row.measured), dash(row.baseline), dash(row.ratio), dash(row.spread), row.target, verdict(row)];
}

/** Plain-text table for the console (long cells wrap onto following lines). */
export function renderText(rows: readonly Row[]): string {
  const widthCap = [4, 32, 42, 42, 10, 34, 26, 30];
  const wrapped = rows.map((r) => cells(r).map((c, i) => wrap(c, widthCap[i])));
  const header = COLUMNS.map((c) => [c as string]);
  const all = [header, ...wrapped];
  const widths = COLUMNS.map((_, i) => Math.max(...all.map((r) => Math.max(...r[i].map((l) => l.length)))));
  const line = (r: string[][]) => {
    const height = Math.max(...r.map((c) => c.length));
    const out: string[] = [];
    for (let k = 0; k < height; k++) out.push(r.map((c, i) => (c[k] ?? '').padEnd(widths[i])).join(' | ').trimEnd());
    return out.join('\n');
  };
  const sep = widths.map((w) => '-'.repeat(w)).join('-+-');
  const body: string[] = [line(header), sep];
  rows.forEach((r, i) => {
    body.push(line(wrapped[i]));
    body.push(`${' '.repeat(widths[0])} |   driver: ${r.driver}`);
    for (const n of r.notes ?? []) body.push(`${' '.repeat(widths[0])} |   note: ${n}`);
  });
  return body.join('\n');
}

export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const word of text.split(' ')) {
    if (cur && cur.length + 1 + word.length > width) {
      out.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  out.push(cur);
  return out;
}

const mdEscape = (s: string) => s.replace(/\|/g, '\\|');

export interface RunMeta {
  readonly date: string;
  readonly quick: boolean;
  /** e.g. "5–15 interleaved rounds per comparison until the median is within ±5 % (90 % interval)" */
  readonly rounds: string;
  readonly command: string;
  readonly durationSec: number;
  /** Extra paragraphs after the machine line (e.g. the machine's other load). */
  readonly extra?: readonly string[];
}

export function renderMarkdown(rows: readonly Row[], machine: MachineInfo, meta: RunMeta): string {
  const out: string[] = [];
  out.push(`# Benchmark results (${meta.date})`);
  out.push('');
  out.push(`Command: \`${meta.command}\`${meta.quick ? ' (BENCH_QUICK=1: smoke run, short counts)' : ''}; ${meta.rounds}; medians shown, verdicts on the median; whole run ${Math.round(meta.durationSec)} s.`);
  out.push('');
  out.push(`Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, ${machine.kernel}; Node ${machine.node}, @grpc/grpc-js ${machine.grpcJs}; ${machine.haproxy}; ${machine.h2load}.`);
  out.push('');
  out.push(`CPU pinning: ${machine.pinning}`);
  out.push('');
  for (const p of meta.extra ?? []) out.push(p, '');
  out.push(`| ${COLUMNS.join(' | ')} |`);
  out.push(`|${COLUMNS.map(() => '---').join('|')}|`);
  for (const r of rows) out.push(`| ${cells(r).map(mdEscape).join(' | ')} |`);
  out.push('');
  out.push('How each row was driven:');
  out.push('');
  for (const r of rows) {
    out.push(`- **${r.id}** ${mdEscape(r.driver)}${(r.notes ?? []).map((n) => ` — ${n}`).join('')}`);
  }
  out.push('');
  return out.join('\n');
}
