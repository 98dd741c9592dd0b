/**
 * A comparison as the bench runs it: adaptive interleaved rounds (bench/rounds.ts)
 * under the run's round policy, with the machine's other load sampled per round
 * and progress logged; and the verdict fields of a row judged on the median.
 */
import type { BenchConfig } from './config';
import type { BenchContext } from './context';
import { startLoadWindow } from './machine-load';
import { loadText, spreadText, timeoutText } from './report';
import { adaptiveRounds, Figure, RoundPolicy, RoundsResult } from './rounds';
import { judge, RoundSpread } from './stats';

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
