/**
 * Unit tests of the statistics behind the bench's verdicts (no load, no timing):
 * the median's order-statistic interval, per-round spreads and their settling,
 * verdicts against a target, the adaptive interleaved rounds (with a fake clock),
 * the spread/load cells of the report, and the /proc parsing of the machine-load
 * sampler.
 */
import { benchTicks, descendants, parseCpuLine, parseProcStat, ProcStat } from '../../bench/machine-load';
import { loadText, spreadText, timeoutText } from '../../bench/report';
import { adaptiveRounds, Figure, NoRoundMeasured, retryOnTimeout, roundOrder, RunTimedOut } from '../../bench/rounds';
import { rowsOrSkipped, verdictFields, warmUp } from '../../bench/compare';
import { skippedRow } from '../../bench/context';
import type { Row } from '../../bench/report';
import type { BenchContext } from '../../bench/context';
import { binomialCdfHalf, judge, medianConfidenceInterval, roundSpread } from '../../bench/stats';

describe('median confidence interval (order statistics)', () => {
  it('binomial CDF at p = 1/2', () => {
    expect(binomialCdfHalf(5, 0)).toBeCloseTo(1 / 32);
    expect(binomialCdfHalf(5, 2)).toBeCloseTo(0.5);
    expect(binomialCdfHalf(10, 10)).toBe(1);
    expect(binomialCdfHalf(10, -1)).toBe(0);
  });

  it('is min–max for 5 to 7 values (coverage ≥ 90 %), and drops the outermost values as rounds grow', () => {
    expect(medianConfidenceInterval([5, 1, 3, 2, 4])).toEqual({ low: 1, high: 5, level: 1 - 2 / 32 });
    const seven = medianConfidenceInterval([1, 2, 3, 4, 5, 6, 7]);
    expect([seven.low, seven.high]).toEqual([1, 7]);
    // 8 values: [x(2), x(7)] covers the median with 1 - 2·9/256 ≈ 0.93.
    const eight = medianConfidenceInterval([1, 2, 3, 4, 5, 6, 7, 100]);
    expect([eight.low, eight.high]).toEqual([2, 7]);
    expect(eight.level).toBeCloseTo(1 - 18 / 256);
    // 11 values: [x(3), x(9)], ≈ 0.93.
    const eleven = medianConfidenceInterval([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect([eleven.low, eleven.high]).toEqual([2, 8]);
    expect(eleven.level).toBeGreaterThanOrEqual(0.9);
  });

  it('says how sure min–max is when there are too few values', () => {
    const three = medianConfidenceInterval([3, 1, 2]);
    expect([three.low, three.high]).toEqual([1, 3]);
    expect(three.level).toBeCloseTo(0.75);
    expect(medianConfidenceInterval([]).level).toBe(0);
    expect(() => medianConfidenceInterval([1], 1)).toThrow(/confidence must be in \(0, 1\); received 1/);
  });
});

describe('round spread and settling', () => {
  it('settles a ratio whose interval is within ±5 % of its median', () => {
    const s = roundSpread([0.8, 0.82, 0.81, 0.79, 0.83], { relative: 0.05 });
    expect(s).toMatchObject({ rounds: 5, median: 0.81, min: 0.79, max: 0.83, ciLow: 0.79, ciHigh: 0.83, settled: true });
    expect(s.halfWidth).toBeCloseTo(0.02 / 0.81);
  });

  it('does not settle a wide spread, nor with too few rounds for 90 %', () => {
    expect(roundSpread([0.7, 0.82, 0.81, 0.9, 0.83], { relative: 0.05 }).settled).toBe(false);
    expect(roundSpread([0.81, 0.81, 0.81], { relative: 0.05 }).settled).toBe(false); // interval only 75 % sure
  });

  it('settles once more rounds push one disturbed round outside the interval (min–max would only widen)', () => {
    const values = [0.81, 0.8, 0.6, 0.82, 0.81, 0.79, 0.8, 0.81];
    const s = roundSpread(values, { relative: 0.05 });
    expect(s.min).toBe(0.6); // the disturbed round stays visible in min–max ...
    expect(s.ciLow).toBe(0.79); // ... but not in the median's interval
    expect(s.settled).toBe(true);
  });

  it('absolute tolerance for differences (added milliseconds)', () => {
    expect(roundSpread([0.25, 0.3, 0.28, 0.26, 0.27], { absolute: 0.1 }).settled).toBe(true);
    expect(roundSpread([0.25, 0.6, 0.28, 0.26, 0.27], { absolute: 0.1 }).settled).toBe(false);
  });

  it('a failed round (NaN) keeps the figure unsettled', () => {
    expect(roundSpread([0.8, NaN, 0.8, 0.8, 0.8, 0.8], { relative: 0.05 }).settled).toBe(false);
  });
});

describe('verdicts', () => {
  it('met on the median; firm only when the whole interval is on the same side of the target', () => {
    expect(judge({ median: 0.85, ciLow: 0.82, ciHigh: 0.88 }, 0.8, 'atLeast')).toEqual({ met: true, firm: true });
    expect(judge({ median: 0.82, ciLow: 0.78, ciHigh: 0.86 }, 0.8, 'atLeast')).toEqual({ met: true, firm: false });
    expect(judge({ median: 0.78, ciLow: 0.75, ciHigh: 0.81 }, 0.8, 'atLeast')).toEqual({ met: false, firm: false });
    expect(judge({ median: 0.7, ciLow: 0.65, ciHigh: 0.75 }, 0.8, 'atLeast')).toEqual({ met: false, firm: true });
    expect(judge({ median: 0.3, ciLow: 0.2, ciHigh: 0.4 }, 1, 'atMost')).toEqual({ met: true, firm: true });
    expect(judge({ median: 0.9, ciLow: 0.7, ciHigh: 1.2 }, 1, 'atMost')).toEqual({ met: true, firm: false });
    expect(judge({ median: NaN, ciLow: NaN, ciHigh: NaN }, 1, 'atMost')).toEqual({ met: false, firm: false });
  });
});

describe('adaptive interleaved rounds', () => {
  it('never runs a side twice in a row: two sides keep one order, three or more rotate', () => {
    expect([0, 1, 2, 3].map((r) => roundOrder(2, r))).toEqual([[0, 1], [0, 1], [0, 1], [0, 1]]);
    expect(roundOrder(3, 1)).toEqual([1, 2, 0]);
    for (const n of [2, 3, 4, 5]) {
      const seq = Array.from({ length: 12 }, (_, r) => roundOrder(n, r)).flat();
      expect(seq.some((x, i) => i > 0 && seq[i - 1] === x)).toBe(false);
    }
  });

  it('a side that runs faster right after itself does not turn into spread (it did with A B, B A rounds)', async () => {
    let last = -1;
    const side = (i: number) => async () => {
      const warm = last === i;
      last = i;
      return 100 * (warm ? 1.25 : 1);
    };
    const res = await adaptiveRounds({ minRounds: 5, maxRounds: 9, budgetMs: 1e9 }, [side(0), side(1)], [{ name: 'ratio', of: ([a, b]) => a / b, tolerance: { relative: 0.05 } }]);
    expect(res.stop).toBe('settled');
    expect(res.spreads.ratio.values).toEqual([1, 1, 1, 1, 1]);
  });

  const sequence = (values: number[]) => {
    let i = 0;
    return async () => values[i++ % values.length];
  };

  it('stops at the minimum when the ratio settles, runs sides in rotated order, pairs per round', async () => {
    const calls: string[] = [];
    const a = async () => (calls.push('a'), 80);
    const b = async () => (calls.push('b'), 100);
    const res = await adaptiveRounds({ minRounds: 5, maxRounds: 15, budgetMs: 1e9 }, [a, b], [{ name: 'ratio', of: ([x, y]) => x / y, tolerance: { relative: 0.05 } }]);
    expect(res.rounds).toBe(5);
    expect(res.stop).toBe('settled');
    expect(calls.join('')).toBe('ababababab');
    expect(res.spreads.ratio.median).toBeCloseTo(0.8);
    expect(res.runs).toEqual([[80, 80, 80, 80, 80], [100, 100, 100, 100, 100]]);
  });

  it('takes more rounds while a disturbed round keeps the interval wide, then settles', async () => {
    // Round 3 is disturbed (60 instead of 80): min–max is ±25 %, so 5-7 rounds do not settle; at 8 the interval drops it.
    const res = await adaptiveRounds(
      { minRounds: 5, maxRounds: 15, budgetMs: 1e9 },
      [sequence([80, 81, 60, 79, 80, 82, 80, 81, 80, 80]), async () => 100],
      [{ name: 'ratio', of: ([x, y]) => x / y, tolerance: { relative: 0.05 } }],
    );
    expect(res.stop).toBe('settled');
    expect(res.rounds).toBe(8);
    expect(res.spreads.ratio.min).toBeCloseTo(0.6);
  });

  it('stops at the round cap when the figure never settles', async () => {
    const res = await adaptiveRounds({ minRounds: 3, maxRounds: 6, budgetMs: 1e9 }, [sequence([50, 100]), async () => 100], [{ name: 'r', of: ([x, y]) => x / y, tolerance: { relative: 0.05 } }]);
    expect(res.stop).toBe('max-rounds');
    expect(res.rounds).toBe(6);
    expect(res.spreads.r.settled).toBe(false);
  });

  it('an information figure is reported with its spread but does not hold the rounds back (row 1c beside 1a)', async () => {
    const figures: Figure<number>[] = [
      { name: 'ratio', of: ([x, y]) => x / y, tolerance: { relative: 0.05 } },
      { name: 'info', of: ([x, , z]) => x / z, tolerance: { relative: 0.05 }, info: true },
    ];
    const res = await adaptiveRounds({ minRounds: 5, maxRounds: 15, budgetMs: 1e9 }, [async () => 80, async () => 100, sequence([50, 100])], figures);
    expect(res.stop).toBe('settled');
    expect(res.rounds).toBe(5);
    expect(res.spreads.info.settled).toBe(false);
    // Not marked information: the same unsettled figure keeps the rounds going to the cap.
    const held = await adaptiveRounds({ minRounds: 5, maxRounds: 7, budgetMs: 1e9 }, [async () => 80, async () => 100, sequence([50, 100])], figures.map((f) => ({ ...f, info: false })));
    expect(held.stop).toBe('max-rounds');
  });

  it('starts no round that would pass the time budget (fake clock), but always takes the minimum', async () => {
    let t = 0;
    const side = async () => ((t += 10_000), 1); // each run takes 10 s, a round 20 s
    const other = sequence([1, 2]);
    const res = await adaptiveRounds({ minRounds: 2, maxRounds: 50, budgetMs: 65_000 }, [side, async () => ((t += 10_000), other())], [{ name: 'r', of: ([x, y]) => x / y, tolerance: { relative: 0.05 } }], { now: () => t });
    expect(res.stop).toBe('time-budget');
    expect(res.rounds).toBe(3); // 60 s after 3 rounds; a 4th would end at 80 s > 65 s
    const min = await adaptiveRounds({ minRounds: 4, maxRounds: 50, budgetMs: 1 }, [side, sequence([1, 2])], [{ name: 'r', of: ([x, y]) => x / y, tolerance: { relative: 0.05 } }], { now: () => t });
    expect(min.rounds).toBe(4);
  });

  it('settles only when every figure settles; samples load per round', async () => {
    let windows = 0;
    const res = await adaptiveRounds(
      { minRounds: 5, maxRounds: 9, budgetMs: 1e9 },
      [async () => 100, sequence([90, 60]), async () => 95],
      [
        { name: 'steady', of: ([d, , t]) => t / d, tolerance: { relative: 0.05 } },
        { name: 'noisy', of: ([d, h]) => h / d, tolerance: { relative: 0.05 } },
      ],
      { sampler: () => (windows++, () => ({ foreign: 0.5, steal: 0 })) },
    );
    expect(res.spreads.steady.settled).toBe(true);
    expect(res.spreads.noisy.settled).toBe(false);
    expect(res.rounds).toBe(9);
    expect(windows).toBe(9);
    expect(res.load).toHaveLength(9);
  });

  // A fake side that times out on the given calls (1-based): the bench's own control flow, so a fake is enough here
  // (the real kill of h2load is tested in framing-and-parsing.test.ts).
  const timingOut = (value: number, timeoutOnCalls: number[]) => {
    let call = 0;
    return async () => {
      call++;
      if (timeoutOnCalls.includes(call)) throw new RunTimedOut(`fake run ${call} timed out`);
      return value;
    };
  };
  const ratio: Array<Figure<number>> = [{ name: 'ratio', of: ([x, y]) => x / y, tolerance: { relative: 0.05 } }];

  it('a run that times out fails its round, which is run again once (both sides, so the ratio stays paired)', async () => {
    const calls: string[] = [];
    const a = timingOut(80, [2]);
    const b = async () => (calls.push('b'), 100);
    const timeouts: Array<[number, boolean]> = [];
    const res = await adaptiveRounds({ minRounds: 5, maxRounds: 15, budgetMs: 1e9 }, [async () => (calls.push('a'), a()), b], ratio, { onTimeout: (slot, retrying) => timeouts.push([slot, retrying]) });
    expect(res.rounds).toBe(5);
    expect(res.failedRounds).toBe(0);
    expect(res.timeouts).toEqual(['fake run 2 timed out']);
    expect(timeouts).toEqual([[2, true]]);
    // Round 2: a timed out (b not run), then the whole round again.
    expect(calls.join('')).toBe('ab' + 'a' + 'ab' + 'ababab');
    expect(res.runs).toEqual([[80, 80, 80, 80, 80], [100, 100, 100, 100, 100]]);
  });

  it('a round that times out twice is left out and counted; the figure is judged on the measured rounds', async () => {
    let windows = 0;
    // Calls 2 and 3 of side b time out: round 2 and its retry both fail.
    const res = await adaptiveRounds({ minRounds: 5, maxRounds: 15, budgetMs: 1e9 }, [async () => 80, timingOut(100, [2, 3])], ratio, { sampler: () => (windows++, () => ({ foreign: 1, steal: 0 })) });
    expect(res.failedRounds).toBe(1);
    expect(res.rounds).toBe(5);
    expect(res.timeouts).toHaveLength(2);
    expect(res.spreads.ratio.values).toEqual([0.8, 0.8, 0.8, 0.8, 0.8]);
    expect(res.spreads.ratio.settled).toBe(true);
    expect(windows).toBe(6); // a load window per round slot, kept only for measured rounds
    expect(res.load).toHaveLength(5);
    const note = timeoutText(res);
    expect(note).toBe('1 of 6 rounds FAILED (a load run timed out, and again on the retry) and are left out: judged on the 5 measured rounds (first timeout: fake run 2 timed out)');
    const v = verdictFields(res, res.spreads.ratio, 0.7, 'atLeast', []);
    expect(v.met).toBe(true);
    expect(v.roundsNote).toBe(`${note}; other processes on the machine used 1.00–1.00 CPUs per round (steal 0.00–0.00)`);
  });

  it('a failed round uses up a round slot and counts against the time budget (every run stays bounded)', async () => {
    let t = 0;
    const slow = async () => {
      t += 60_000;
      throw new RunTimedOut('h2load did not finish within 60000 ms');
    };
    // Each slot: the run and its retry, 60 s each. After 2 slots (240 s) a third would end at 360 s > 300 s.
    await expect(adaptiveRounds({ minRounds: 2, maxRounds: 4, budgetMs: 5 * 60_000 }, [async () => 1, slow], ratio, { now: () => t })).rejects.toThrow(
      /^no round was measured: all 2 round\(s\) timed out twice \(last: h2load did not finish within 60000 ms\)$/,
    );
  });

  it('only a timeout fails a round: any other error still ends the comparison', async () => {
    const boom = async () => {
      throw new Error('router crashed');
    };
    await expect(adaptiveRounds({ minRounds: 2, maxRounds: 4, budgetMs: 1e9 }, [async () => 1, boom], ratio)).rejects.toThrow('router crashed');
  });

  it('retryOnTimeout runs a single run once more after a timeout, and only then', async () => {
    const seen: string[] = [];
    await expect(retryOnTimeout(timingOut(7, [1]), (e) => seen.push(e.message))).resolves.toBe(7);
    expect(seen).toEqual(['fake run 1 timed out']);
    await expect(retryOnTimeout(timingOut(7, [1, 2]))).rejects.toThrow('fake run 2 timed out');
    let n = 0;
    await expect(retryOnTimeout(async () => (n++, Promise.reject(new Error('other'))))).rejects.toThrow('other');
    expect(n).toBe(1);
  });

  it('a warm-up run that times out is logged and the item goes on; any other error is not swallowed', async () => {
    const logs: string[] = [];
    const ctx = { log: (m: string) => logs.push(m) } as unknown as BenchContext;
    await expect(warmUp(ctx, 'router', timingOut(1, [1]))).resolves.toBeUndefined();
    expect(logs).toEqual(['    router warm-up: fake run 1 timed out; going on']);
    await expect(warmUp(ctx, 'router', async () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
  });

  it('a comparison with no measured round skips its own rows (those not pushed yet) and lets the item go on', async () => {
    const rows: Row[] = [{ id: '1a', title: 't', driver: 'd', measured: 'm', baseline: 'b', ratio: '1', target: '≥ 0.8', met: true }];
    const skip = (why: string) => [skippedRow('1a', 'a', '≥ 0.8', why), skippedRow('1b', 'b', '≤ 5 ms', why)];
    const allFail = () => adaptiveRounds({ minRounds: 2, maxRounds: 2, budgetMs: 1e9 }, [async () => 1, timingOut(1, [1, 2, 3, 4])], ratio);
    await expect(allFail()).rejects.toBeInstanceOf(NoRoundMeasured);
    await rowsOrSkipped(rows, skip, async () => {
      await allFail();
    });
    expect(rows.map((r) => [r.id, r.skipped])).toEqual([['1a', undefined], ['1b', 'no round was measured: all 2 round(s) timed out twice (last: fake run 4 timed out)']]);
    // A single run outside rounds that timed out again on its retry skips its rows the same way.
    const shareRows: Row[] = [];
    await rowsOrSkipped(shareRows, (why) => [skippedRow('4a', 'a', 'x', why)], async () => {
      await retryOnTimeout(timingOut(1, [1, 2]));
    });
    expect(shareRows.map((r) => r.skipped)).toEqual(['fake run 2 timed out (and again on the retry)']);
    await expect(rowsOrSkipped(rows, skip, async () => Promise.reject(new Error('crashed')))).rejects.toThrow('crashed');
  });

  it('refuses a policy it cannot follow', async () => {
    await expect(adaptiveRounds({ minRounds: 0, maxRounds: 3, budgetMs: 1 }, [async () => 1], [])).rejects.toThrow('minRounds must be an integer ≥ 1; received 0');
    await expect(adaptiveRounds({ minRounds: 4, maxRounds: 3, budgetMs: 1 }, [async () => 1], [])).rejects.toThrow('maxRounds must be an integer ≥ minRounds (4); received 3');
  });
});

describe('report cells', () => {
  it('spread cell: min–max, rounds, half-width and whether it settled', () => {
    const settled = roundSpread([0.8, 0.82, 0.81, 0.79, 0.83], { relative: 0.05 });
    expect(spreadText(settled, 'settled')).toBe('0.79–0.83 over 5 rounds; median ±2.5 % (settled)');
    const wide = roundSpread([0.6, 0.82, 0.81, 0.95, 0.83], { relative: 0.05 });
    expect(spreadText(wide, 'time-budget')).toBe('0.60–0.95 over 5 rounds; median ±26.8 % (NOT settled (> ±5 %; stopped: time budget))');
    const few = roundSpread([1, 1.2], { absolute: 0.1 });
    expect(spreadText(roundSpread([-0.2, 0.3], { absolute: 0.1 }), 'time-budget', (n) => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(1)} ms`, (n) => `${n.toFixed(2)} ms`)).toBe(
      '−0.2 ms–+0.3 ms over 2 rounds; median ±0.25 ms (NOT settled (> ±0.10 ms, interval only 50 % sure; stopped: time budget))',
    );
    expect(spreadText(few, 'max-rounds', (n) => `${n.toFixed(1)} ms`)).toBe('1.0 ms–1.2 ms over 2 rounds; median ±0.1 ms (NOT settled (> ±0.1 ms, interval only 50 % sure; stopped: round cap))');
  });

  it('load note', () => {
    expect(loadText([{ foreign: 0.1, steal: 0 }, { foreign: 1.25, steal: 0.02 }])).toBe('other processes on the machine used 0.10–1.25 CPUs per round (steal 0.00–0.02)');
    expect(loadText([])).toBeUndefined();
  });
});

describe('machine load from /proc', () => {
  it('parses /proc/<pid>/stat, including a command name with spaces and parentheses', () => {
    const line = '4242 (node (router) x) S 100 4242 100 0 -1 4194304 500 0 0 0 150 25 0 0 20 0 11 0 98765 1000000 5000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0';
    expect(parseProcStat(line)).toEqual({ pid: 4242, ppid: 100, comm: 'node (router) x', ticks: 175, childTicks: 0, startTicks: 98765 });
    expect(parseProcStat(line.replace(' 150 25 0 0 20', ' 150 25 7 3 20')).childTicks).toBe(10);
    expect(() => parseProcStat('garbage')).toThrow(/not a \/proc\/<pid>\/stat line/);
  });

  it('reads busy (user + nice + system) and steal from /proc/stat', () => {
    expect(parseCpuLine('cpu  100 3 50 1000 5 0 2 7 0 0\ncpu0 1 2 3\n')).toEqual({ busy: 153, steal: 7 });
  });

  const p = (pid: number, ppid: number, ticks: number, childTicks = 0): ProcStat => ({ pid, ppid, comm: `p${pid}`, ticks, childTicks, startTicks: 0 });
  it("counts the bench's tree, including children it reaped in the window, and nothing else", () => {
    // 10 = the bench; 20 its child (e.g. a router); 21 an h2load run that ended and was reaped by 10; 30 someone else's.
    const before = new Map([p(1, 0, 0), p(10, 1, 100, 5), p(20, 10, 50), p(21, 10, 3), p(30, 1, 1000)].map((x) => [x.pid, x]));
    const after = new Map([p(1, 0, 0), p(10, 1, 130, 5 + 40), p(20, 10, 150), p(22, 20, 7), p(30, 1, 1900)].map((x) => [x.pid, x]));
    expect([...descendants(10, after)].sort((a, b) => a - b)).toEqual([10, 20, 22]);
    // after: 130+45 + 150 + 7 = 332; before: 105 + 50 + 3 = 158 → 174 (30 own, 37 of h2load's 40 in the window, 100 router, 7 new)
    expect(benchTicks(before, after, 10)).toBe(174);
  });
});
