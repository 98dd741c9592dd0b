/**
 * A comparison as the bench runs it: adaptive interleaved rounds (bench/rounds.ts)
 * under the run's round policy, with the machine's other load sampled per round
 * and progress logged; and the verdict fields of a row judged on the median.
 */
import type { BenchConfig } from './config';
import type { BenchContext } from './context';
import { startLoadWindow } from './machine-load';
import { fmt, loadText, spreadText, timeoutText } from './report';
import { adaptiveRounds, Figure, NoRoundMeasured, RoundPolicy, RoundsResult, RunTimedOut } from './rounds';
import type { Row } from './report';
import { judge, RoundSpread, Tolerance } from './stats';

export function roundPolicy(cfg: Pick<BenchConfig, 'rounds' | 'maxRounds' | 'roundBudgetMs' | 'confidence'>): RoundPolicy {
  return { minRounds: cfg.rounds, maxRounds: cfg.maxRounds, budgetMs: cfg.roundBudgetMs, confidence: cfg.confidence };
}

/** Figure tolerance from the run's settings: ratios settle to ± cfg.tolerance of their median. */
export const relative = (cfg: Pick<BenchConfig, 'tolerance'>) => ({ relative: cfg.tolerance });

export async function compareRounds<T>(ctx: BenchContext, label: string, sides: ReadonlyArray<() => Promise<T>>, figures: ReadonlyArray<Figure<T>>): Promise<RoundsResult<T>> {
  const res = await adaptiveRounds(roundPolicy(ctx.cfg), sides, figures, {
    sampler: () => startLoadWindow(),
    onRound: (r, spreads) =>
      ctx.log(`    ${label} round ${r}: ${Object.entries(spreads).map(([k, s]) => `${k} ${s.values[s.values.length - 1].toFixed(3)} (median ${s.median.toFixed(3)}, ±${'relative' in s.tolerance ? `${(100 * s.halfWidth).toFixed(1)} %` : s.halfWidth.toFixed(3)}${s.settled ? ' settled' : ''})`).join('; ')}`),
    onTimeout: (slot, retrying, err) => ctx.log(`    ${label} round slot ${slot}: a run timed out (${err.message}); ${retrying ? 'running the round again' : 'round failed twice, left out'}`),
  });
  ctx.log(`    ${label}: ${res.rounds} rounds${res.failedRounds ? ` (+${res.failedRounds} failed)` : ''}, ${res.stop}, ${Math.round(res.elapsedMs / 1000)} s`);
  return res;
}

/** A warm-up run: its figures are not used, so a timeout is logged and the item goes on (it still warmed up). */
export async function warmUp(ctx: BenchContext, label: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!(err instanceof RunTimedOut)) throw err;
    ctx.log(`    ${label} warm-up: ${err.message}; going on`);
  }
}

/**
 * Runs one block of rows; when no round of its comparison was measured (NoRoundMeasured), or a single run
 * outside rounds timed out again on its retry (RunTimedOut), pushes the rows `skip` names (those not pushed
 * already) as skipped with the reason, and the item goes on. Any other error still ends the item.
 */
export async function rowsOrSkipped(rows: Row[], skip: (why: string) => Row[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (!(err instanceof NoRoundMeasured || err instanceof RunTimedOut)) throw err;
    rows.push(...skip(`${err.message}${err instanceof RunTimedOut ? ' (and again on the retry)' : ''}`).filter((r) => !rows.some((x) => x.id === r.id)));
  }
}

/**
 * The verdict fields of a row (met, firm, spread cell) for a judged figure, plus its rounds note:
 * timed-out rounds (when any) and the other load on the machine.
 */
export function verdictFields(res: Pick<RoundsResult<unknown>, 'stop' | 'load' | 'rounds' | 'failedRounds' | 'timeouts'>, s: RoundSpread, target: number, direction: 'atLeast' | 'atMost', problems: readonly string[], value?: (n: number) => string, width?: (n: number) => string): { met: boolean; firm: boolean; spread: string; roundsNote?: string } {
  const j = judge(s, target, direction);
  return {
    met: problems.length ? false : j.met,
    firm: problems.length ? true : j.firm,
    spread: spreadText(s, res.stop, value, width),
    roundsNote: [timeoutText(res), loadText(res.load)].filter(Boolean).join('; ') || undefined,
  };
}

/**
 * A figure judged against its floor (rows 8c and 3a): per round, the ratio ÷ min(1, the floor's ratio in the
 * same round), where the floor is the same measurement on bare grpc-js servers (no router code) in the same
 * rounds. It is the plain ratio whenever the floor loses nothing, and never credits the router with a floor
 * that gains (min(1, …)); it is lower only by what the setup costs any grpc-js server right then.
 */
export function floorRelative<T>(name: string, ratio: (round: readonly T[]) => number, floor: (round: readonly T[]) => number, tolerance: Tolerance): Figure<T> {
  return { name, of: (round) => ratio(round) / Math.min(1, floor(round)), tolerance };
}

/**
 * The verdict cells of a row judged against its floor (floorRelative), with the issue's plain target
 * judged on the plain ratio beside it: ratio "plain; Nx the floor's F (row)", spread of both, target text
 * (plainLabel names what the plain ratio is taken against, e.g. "vs 1 router").
 */
export function floorVerdict(
  res: Pick<RoundsResult<unknown>, 'stop' | 'load' | 'rounds' | 'failedRounds' | 'timeouts'>,
  s: { plain: RoundSpread; vsFloor: RoundSpread; floor: RoundSpread },
  target: { vsFloor: number; plain: number; floorRow: string; plainLabel: string },
  problems: readonly string[],
): { ratio: string; spread: string; target: string; met: boolean; firm: boolean; plain: { met: boolean; firm: boolean }; roundsNote?: string } {
  const v = verdictFields(res, s.plain, target.plain, 'atLeast', problems);
  const fv = verdictFields(res, s.vsFloor, target.vsFloor, 'atLeast', problems);
  return {
    ratio: `${fmt.ratio(s.plain.median)}; ${fmt.ratio(s.vsFloor.median)}x the floor's ${fmt.ratio(s.floor.median)} (${target.floorRow})`,
    spread: `vs floor: ${fv.spread}; ${target.plainLabel}: ${v.spread}`,
    target: `≥ ${target.vsFloor}x the floor (issue: ≥ ${target.plain} ${target.plainLabel}, ${v.met ? 'met' : 'NOT MET'}${v.firm ? '' : ' (marginal)'})`,
    met: fv.met,
    firm: fv.firm,
    plain: { met: v.met, firm: v.firm },
    roundsNote: fv.roundsNote,
  };
}
