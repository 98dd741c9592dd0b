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

/**
 * Distribution-free confidence interval of the median from order statistics:
 * [x(k), x(n-k+1)] of the sorted values covers the true median with probability
 * 1 - 2·P(Bin(n, 1/2) ≤ k-1). Picks the narrowest such interval whose coverage is
 * at least `confidence`; with too few values for that (n ≤ 4 at 90 %), it returns
 * min–max and the (lower) coverage that min–max actually has.
 */
export function medianConfidenceInterval(values: readonly number[], confidence = 0.9): { low: number; high: number; level: number } {
  if (!(confidence > 0 && confidence < 1)) throw new Error(`confidence must be in (0, 1); received ${confidence}`);
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = v.length;
  if (n === 0) return { low: NaN, high: NaN, level: 0 };
  const coverage = (k: number) => 1 - 2 * binomialCdfHalf(n, k - 1);
  let k = 1;
  while (k + 1 <= Math.floor((n + 1) / 2) && coverage(k + 1) >= confidence) k++;
  return { low: v[k - 1], high: v[n - k], level: coverage(k) };
}

/** P(X ≤ m) for X ~ Binomial(n, 1/2). */
export function binomialCdfHalf(n: number, m: number): number {
  if (m < 0) return 0;
  if (m >= n) return 1;
  let term = Math.pow(0.5, n); // C(n,0) / 2^n
  let sum = term;
  for (let i = 1; i <= m; i++) {
    term = (term * (n - i + 1)) / i;
    sum += term;
  }
  return Math.min(1, sum);
}

/** How a per-round figure must settle before the rounds stop. */
export type Tolerance =
  /** the median's interval within ±fraction of the median (ratios) */
  | { readonly relative: number }
  /** the median's interval within ±amount (differences, e.g. added milliseconds) */
  | { readonly absolute: number };

/** A per-round figure over all rounds: median, min–max, and the median's confidence interval. */
export interface RoundSpread {
  readonly rounds: number;
  readonly values: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Order-statistic confidence interval of the median (see medianConfidenceInterval). */
  readonly ciLow: number;
  readonly ciHigh: number;
  /** Coverage of [ciLow, ciHigh]; below the asked confidence when there are too few rounds. */
  readonly ciLevel: number;
  /** Half-width of the interval around the median: relative (fraction of the median) or absolute. */
  readonly halfWidth: number;
  readonly tolerance: Tolerance;
  /** The interval reached the asked confidence and lies within the tolerance. */
  readonly settled: boolean;
}

export function roundSpread(values: readonly number[], tolerance: Tolerance, confidence = 0.9): RoundSpread {
  const finite = values.filter((x) => Number.isFinite(x));
  const med = median(finite);
  const ci = medianConfidenceInterval(finite, confidence);
  const dev = Math.max(ci.high - med, med - ci.low);
  const halfWidth = 'relative' in tolerance ? (med === 0 ? Infinity : dev / Math.abs(med)) : dev;
  const limit = 'relative' in tolerance ? tolerance.relative : tolerance.absolute;
  return {
    rounds: values.length,
    values: [...values],
    median: med,
    min: finite.length ? Math.min(...finite) : NaN,
    max: finite.length ? Math.max(...finite) : NaN,
    ciLow: ci.low,
    ciHigh: ci.high,
    ciLevel: ci.level,
    halfWidth,
    tolerance,
    // Every round must have produced a number: a round that failed is not noise to average away.
    settled: finite.length === values.length && finite.length > 0 && ci.level >= confidence && halfWidth <= limit,
  };
}

/**
 * The verdict on a median against a target, and whether the rounds' confidence
 * interval lies wholly on the same side of the target ("firm") or straddles it
 * (the verdict could flip with the machine's noise).
 */
export function judge(spread: Pick<RoundSpread, 'median' | 'ciLow' | 'ciHigh'>, target: number, direction: 'atLeast' | 'atMost'): { met: boolean; firm: boolean } {
  if (!Number.isFinite(spread.median)) return { met: false, firm: false };
  if (direction === 'atLeast') {
    const met = spread.median >= target;
    return { met, firm: met ? spread.ciLow >= target : spread.ciHigh < target };
  }
  const met = spread.median <= target;
  return { met, firm: met ? spread.ciHigh <= target : spread.ciLow > target };
}
