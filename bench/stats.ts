/**
 * Latency statistics: exact percentiles (nearest-rank) over recorded samples,
 * and the median of repeated rounds.
 */

export interface LatencySummary {
  readonly count: number;
  /** milliseconds */
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentile of an ascending-sorted array (q in (0, 100]). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (!(q > 0 && q <= 100)) throw new Error(`percentile q must be in (0, 100]; received ${q}`);
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((q / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Summary of latencies given in microseconds, reported in milliseconds. */
export function summarizeMicros(samplesUs: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samplesUs as ArrayLike<number>).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i];
  const ms = (us: number) => us / 1000;
  return {
    count: sorted.length,
    p50: ms(percentile(sorted, 50)),
    p95: ms(percentile(sorted, 95)),
    p99: ms(percentile(sorted, 99)),
    max: sorted.length ? ms(sorted[sorted.length - 1]) : NaN,
    mean: sorted.length ? ms(sum / sorted.length) : NaN,
  };
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** max/min of shares (Infinity when some share is 0). */
export function spread(counts: readonly number[]): number {
  if (counts.length === 0) return NaN;
  const max = Math.max(...counts);
  const min = Math.min(...counts);
  return min === 0 ? (max === 0 ? NaN : Infinity) : max / min;
}
