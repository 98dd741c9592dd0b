/**
 * Bench settings from the environment. BENCH_QUICK=1 gives a short smoke run.
 *
 *   BENCH_QUICK=1            short counts, few rounds (development; verdicts not settled)
 *   BENCH_ROUNDS             rounds always taken per comparison, interleaved A B A B ... (default 5; quick 2)
 *   BENCH_MAX_ROUNDS         most rounds per comparison (default 15; quick 3)
 *   BENCH_ROUND_BUDGET_S     no new round of a comparison starts past this many seconds (default 240; quick 60)
 *   BENCH_TOLERANCE_PCT      rounds go on until the median's interval is within ± this % (default 5)
 *   BENCH_CONFIDENCE_PCT     confidence of that interval (default 90)
 *   BENCH_ONLY               comma list of items to run, e.g. "1,7" (default all: 1,2,3,4,5,6,7,8,9,10)
 *   BENCH_H2_REQUESTS        h2load requests per saturation run (default 60000; quick 15000)
 *   BENCH_H2_CLIENTS / BENCH_H2_STREAMS   saturation concurrency (default 4 x 16)
 *   BENCH_LOWC_REQUESTS      requests of the low-concurrency run, -c 1 -m 1 (default 5000; quick 2000)
 *   BENCH_SEED_CLIENTS / BENCH_SEED_STREAMS   item 7 concurrency (default 1 x 8)
 *   BENCH_SEED_REQUESTS      item 7 requests (default 60000; quick 15000)
 *   BENCH_CALL_REQUESTS      tool calls per item-2 run (default 4000; quick 1000)
 *   BENCH_CALL_CONCURRENCY   in-flight tool calls in item 2 (default 8)
 *   BENCH_SHARE_REQUESTS     requests of each item-4 run (default 30000; quick 9000)
 *   BENCH_TCP_CONNECTIONS    connections of the item-4 tcp run (default 30)
 *   BENCH_SYNTH_COUNTS       router counts for item 6 (default "1,10,100")
 *   BENCH_SCALE_COUNTS       router counts of item 8, the seed's scaling table (default "1,3,5")
 *   BENCH_SCALE_REQUESTS     h2load requests per item-8 run (default 40000; quick 10000)
 *   BENCH_SCALE_CLIENTS / BENCH_SCALE_STREAMS   item-8 concurrency (default 8 x 8)
 *   BENCH_MCP_LIST_REQUESTS  requests per item-9a run, both sides (default 20000; quick 5000)
 *   BENCH_MCP_SHARE_REQUESTS tools/call requests of the item-9d run (default 6000; quick 1500)
 *   BENCH_MCP_SHARE_STREAMS  streams on item 9d's one HTTP/2 connection (default 8)
 *   BENCH_RUN_TIMEOUT_MS     kill any single load run after this long (default 60000)
 */

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1, max = 10_000_000): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}; received ${JSON.stringify(raw)}`);
  return n;
}

/** Items: 1 ListTools, 2 CallTool, 3 HAProxy overhead, 4 shares, 5 memory, 6 synth, 7 seed, 8 scaling, 9 the MCP front door, 10 authentication. */
export const BENCH_ITEMS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;

export interface BenchConfig {
  readonly quick: boolean;
  /** Rounds always taken per comparison. */
  readonly rounds: number;
  readonly maxRounds: number;
  readonly roundBudgetMs: number;
  /** Relative half-width of the median's interval at which rounds stop (0.05 = ±5 %). */
  readonly tolerance: number;
  /** Confidence of that interval (0.9). */
  readonly confidence: number;
  readonly only: ReadonlySet<number>;
  readonly h2: { readonly requests: number; readonly clients: number; readonly streams: number };
  readonly lowc: { readonly requests: number };
  readonly seed: { readonly requests: number; readonly clients: number; readonly streams: number };
  readonly call: { readonly requests: number; readonly concurrency: number };
  readonly share: { readonly requests: number; readonly tcpConnections: number };
  readonly synthCounts: readonly number[];
  readonly scale: { readonly counts: readonly number[]; readonly requests: number; readonly clients: number; readonly streams: number };
  readonly mcp: { readonly listRequests: number; readonly shareRequests: number; readonly shareStreams: number };
  readonly runTimeoutMs: number;
}

export function loadBenchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const onlyRaw = env.BENCH_ONLY?.trim();
  const only = new Set<number>();
  if (onlyRaw) {
    for (const part of onlyRaw.split(',')) {
      const n = Number(part.trim());
      if (!Number.isInteger(n) || n < 1 || n > BENCH_ITEMS.length) throw new Error(`BENCH_ONLY must be a comma list of items 1..${BENCH_ITEMS.length}; received ${JSON.stringify(onlyRaw)}`);
      only.add(n);
    }
  } else {
    for (const i of BENCH_ITEMS) only.add(i);
  }
  const synthRaw = env.BENCH_SYNTH_COUNTS?.trim() || '1,10,100';
  const synthCounts = synthRaw.split(',').map((s) => Number(s.trim()));
  if (synthCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 1000)) {
    throw new Error(`BENCH_SYNTH_COUNTS must be a comma list of integers 1..1000; received ${JSON.stringify(synthRaw)}`);
  }
  const scaleRaw = env.BENCH_SCALE_COUNTS?.trim() || '1,3,5';
  const scaleCounts = scaleRaw.split(',').map((s) => Number(s.trim()));
  if (scaleCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 10) || new Set(scaleCounts).size !== scaleCounts.length || scaleCounts[0] !== 1) {
    throw new Error(`BENCH_SCALE_COUNTS must be a comma list of distinct integers 1..10 starting with 1; received ${JSON.stringify(scaleRaw)}`);
  }
  const rounds = int(env, 'BENCH_ROUNDS', quick ? 2 : 5, 1, 50);
  const maxRounds = int(env, 'BENCH_MAX_ROUNDS', Math.max(rounds, quick ? 3 : 15), 1, 100);
  if (maxRounds < rounds) throw new Error(`BENCH_MAX_ROUNDS must be at least BENCH_ROUNDS (${rounds}); received ${JSON.stringify(env.BENCH_MAX_ROUNDS)}`);
  return {
    quick,
    rounds,
    maxRounds,
    roundBudgetMs: int(env, 'BENCH_ROUND_BUDGET_S', quick ? 60 : 240, 1, 3600) * 1000,
    tolerance: int(env, 'BENCH_TOLERANCE_PCT', 5, 1, 50) / 100,
    confidence: int(env, 'BENCH_CONFIDENCE_PCT', 90, 50, 99) / 100,
    only,
    h2: { requests: int(env, 'BENCH_H2_REQUESTS', quick ? 15_000 : 60_000), clients: int(env, 'BENCH_H2_CLIENTS', 4, 1, 1000), streams: int(env, 'BENCH_H2_STREAMS', 16, 1, 1000) },
    lowc: { requests: int(env, 'BENCH_LOWC_REQUESTS', quick ? 2_000 : 5_000) },
    seed: { requests: int(env, 'BENCH_SEED_REQUESTS', quick ? 15_000 : 60_000), clients: int(env, 'BENCH_SEED_CLIENTS', 1, 1, 1000), streams: int(env, 'BENCH_SEED_STREAMS', 8, 1, 1000) },
    call: { requests: int(env, 'BENCH_CALL_REQUESTS', quick ? 1_000 : 4_000), concurrency: int(env, 'BENCH_CALL_CONCURRENCY', 8, 1, 1000) },
    share: { requests: int(env, 'BENCH_SHARE_REQUESTS', quick ? 9_000 : 30_000), tcpConnections: int(env, 'BENCH_TCP_CONNECTIONS', 30, 3, 1000) },
    synthCounts,
    scale: { counts: scaleCounts, requests: int(env, 'BENCH_SCALE_REQUESTS', quick ? 10_000 : 40_000), clients: int(env, 'BENCH_SCALE_CLIENTS', 8, 1, 1000), streams: int(env, 'BENCH_SCALE_STREAMS', 8, 1, 1000) },
    mcp: { listRequests: int(env, 'BENCH_MCP_LIST_REQUESTS', quick ? 5_000 : 20_000), shareRequests: int(env, 'BENCH_MCP_SHARE_REQUESTS', quick ? 1_500 : 6_000), shareStreams: int(env, 'BENCH_MCP_SHARE_STREAMS', 8, 1, 1000) },
    runTimeoutMs: int(env, 'BENCH_RUN_TIMEOUT_MS', 60_000, 1_000, 600_000),
  };
}
