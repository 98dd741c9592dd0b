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
 *
 * A load run killed at its time limit (RunTimedOut: h2load or the Node load
 * driver past BENCH_RUN_TIMEOUT_MS) fails its round, not the comparison: the
 * round is run again once (all its sides, so its figures stay paired), and if
 * it fails again it is counted as failed and the rounds go on. The figures
 * are judged on the rounds that were measured (the row says how many failed);
 * only when no round at all was measured does the comparison throw. Any other
 * error still ends the comparison at once.
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
  /** Information only: reported with its spread, but the rounds do not wait for it to settle. */
  readonly info?: boolean;
}

/** A load run killed at its time limit: fails the round it ran in (retried once), not the comparison. */
export class RunTimedOut extends Error {
  override readonly name = 'RunTimedOut';
}

/** Runs `run`; when it times out (RunTimedOut), once more — for single runs outside rounds (item 4's shares). */
export async function retryOnTimeout<T>(run: () => Promise<T>, onTimeout?: (err: RunTimedOut) => void): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof RunTimedOut)) throw err;
    onTimeout?.(err);
    return run();
  }
}

/** A comparison in which every round timed out twice: its rows are skipped, the item's other rows go on. */
export class NoRoundMeasured extends Error {
  override readonly name = 'NoRoundMeasured';
}

export type StopReason = 'settled' | 'max-rounds' | 'time-budget';

export interface RoundsResult<T> {
  /** runs[side][round], measured rounds only */
  readonly runs: T[][];
  readonly spreads: Readonly<Record<string, RoundSpread>>;
  /** Measured rounds. */
  readonly rounds: number;
  /** Rounds that timed out twice (first try and retry) and were left out. */
  readonly failedRounds: number;
  /** Every timed-out run's message, retries included, in order. */
  readonly timeouts: string[];
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
  /** After each measured round, e.g. for logging. */
  readonly onRound?: (round: number, spreads: Readonly<Record<string, RoundSpread>>) => void;
  /** After a run timed out: the round slot (1-based), whether the round will be retried, the error. */
  readonly onTimeout?: (slot: number, retrying: boolean, err: RunTimedOut) => void;
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
  const timeouts: string[] = [];
  let failedRounds = 0;
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
    let round: T[] | undefined;
    for (let tries = 0; tries < 2 && !round; tries++) {
      try {
        const attempt: T[] = new Array(sides.length);
        for (const i of roundOrder(sides.length, r)) attempt[i] = await sides[i]();
        round = attempt;
      } catch (err) {
        if (!(err instanceof RunTimedOut)) throw err;
        timeouts.push(err.message);
        hooks.onTimeout?.(r + 1, tries === 0, err);
      }
    }
    const window = endSample?.();
    if (!round) {
      failedRounds++;
      continue;
    }
    if (window) load.push(window);
    for (let i = 0; i < sides.length; i++) runs[i].push(round[i]);
    figures.forEach((f, j) => values[j].push(f.of(round)));
    spreads = Object.fromEntries(figures.map((f, j) => [f.name, roundSpread(values[j], f.tolerance, confidence)]));
    hooks.onRound?.(runs[0].length, spreads);
    if (runs[0].length >= policy.minRounds && figures.every((f) => f.info || spreads[f.name].settled)) {
      stop = 'settled';
      break;
    }
  }
  if (runs[0].length === 0) throw new NoRoundMeasured(`no round was measured: all ${failedRounds} round(s) timed out twice (last: ${timeouts[timeouts.length - 1]})`);
  return { runs, spreads, rounds: runs[0].length, failedRounds, timeouts, stop, elapsedMs: now() - started, load };
}
