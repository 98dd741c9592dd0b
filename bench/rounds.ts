/**
 * Adaptive interleaved rounds. Each round runs every side once, so that a figure
 * taken per round (e.g. router req/s ÷ baseline req/s of the same round) pairs
 * measurements taken seconds apart and cancels slow drift in the machine's load.
 *
 * No side ever runs twice in a row: on this machine a side measured right after
 * itself ran 20–30 % faster than right after the other side (the server under
 * test keeps its caches warm on the shared core), so rounds alternating A B, B A
 * (which puts A A and B B back to back) swung 1a's per-round ratio between ~0.95
 * and ~0.7. Two sides therefore keep one order (A B A B ...); three or more
 * rotate (A B C, B C A, ...), which never repeats a side across a round boundary.
 *
 * Rounds go on until every figure has settled — the confidence interval of its
 * median lies within its tolerance (see roundSpread) — or the round cap or the
 * time budget is reached. The figures are then judged on their medians.
 *
 * Why not stop on min–max: the min–max of the rounds can only widen as rounds
 * are added, so "add rounds until min–max is within ±5 %" would never stop once
 * one round was disturbed. The order-statistic interval of the median is
 * min–max for 5–7 rounds and drops the outermost rounds as more are taken.
 */
import type { ForeignLoad } from './machine-load';
import { RoundSpread, roundSpread, Tolerance } from './stats';

export interface RoundPolicy {
  /** Rounds always taken (5 is the fewest for which min–max is a ≥ 90 % interval of the median). */
  readonly minRounds: number;
  /** Never more rounds than this. */
  readonly maxRounds: number;
  /** No new round starts when the time so far plus one average round would pass this (ms). */
  readonly budgetMs: number;
  /** Confidence of the median's interval. @default 0.9 */
  readonly confidence?: number;
}

/** A figure computed from one round's runs (one per side, in side order). */
export interface Figure<T> {
  readonly name: string;
  readonly of: (round: readonly T[]) => number;
  readonly tolerance: Tolerance;
}

export type StopReason = 'settled' | 'max-rounds' | 'time-budget';

export interface RoundsResult<T> {
  /** runs[side][round] */
  readonly runs: T[][];
  readonly spreads: Readonly<Record<string, RoundSpread>>;
  readonly rounds: number;
  readonly stop: StopReason;
  readonly elapsedMs: number;
  /** Per round, the load of processes outside the bench (when a sampler was given). */
  readonly load: ForeignLoad[];
}

export interface RoundHooks {
  /** Clock (tests). @default Date.now */
  readonly now?: () => number;
  /** Measures other processes' load over a round: calling it starts a window, calling its result ends it. */
  readonly sampler?: () => () => ForeignLoad;
  /** After each round, e.g. for logging. */
  readonly onRound?: (round: number, spreads: Readonly<Record<string, RoundSpread>>) => void;
}

/** The order of the sides in round r (0-based): fixed for two sides, else a rotation by r; never a side twice in a row. */
export function roundOrder(sides: number, r: number): number[] {
  const shift = sides === 2 ? 0 : r;
  return Array.from({ length: sides }, (_, k) => (k + shift) % sides);
}

export async function adaptiveRounds<T>(policy: RoundPolicy, sides: ReadonlyArray<() => Promise<T>>, figures: ReadonlyArray<Figure<T>>, hooks: RoundHooks = {}): Promise<RoundsResult<T>> {
  if (sides.length === 0) throw new Error('adaptiveRounds needs at least one side');
  if (!Number.isInteger(policy.minRounds) || policy.minRounds < 1) throw new Error(`minRounds must be an integer ≥ 1; received ${policy.minRounds}`);
  if (!Number.isInteger(policy.maxRounds) || policy.maxRounds < policy.minRounds) throw new Error(`maxRounds must be an integer ≥ minRounds (${policy.minRounds}); received ${policy.maxRounds}`);
  const now = hooks.now ?? Date.now;
  const confidence = policy.confidence ?? 0.9;
  const started = now();
  const runs: T[][] = sides.map(() => []);
  const values: number[][] = figures.map(() => []);
  const load: ForeignLoad[] = [];
  let spreads: Record<string, RoundSpread> = {};
  let stop: StopReason = 'max-rounds';
  for (let r = 0; r < policy.maxRounds; r++) {
    if (r >= policy.minRounds) {
      const elapsed = now() - started;
      if (elapsed + elapsed / r > policy.budgetMs) {
        stop = 'time-budget';
        break;
      }
    }
    const endSample = hooks.sampler?.();
    const round: T[] = new Array(sides.length);
    for (const i of roundOrder(sides.length, r)) round[i] = await sides[i]();
    if (endSample) load.push(endSample());
    for (let i = 0; i < sides.length; i++) runs[i].push(round[i]);
    figures.forEach((f, j) => values[j].push(f.of(round)));
    spreads = Object.fromEntries(figures.map((f, j) => [f.name, roundSpread(values[j], f.tolerance, confidence)]));
    hooks.onRound?.(r + 1, spreads);
    if (r + 1 >= policy.minRounds && Object.values(spreads).every((s) => s.settled)) {
      stop = 'settled';
      break;
    }
  }
  return { runs, spreads, rounds: runs[0].length, stop, elapsedMs: now() - started, load };
}
