/**
 * Bench settings from the environment. BENCH_QUICK=1 gives a short smoke run.
 *
 *   BENCH_QUICK=1            short counts, one round (development)
 *   BENCH_ROUNDS             measured rounds per comparison, interleaved A/B/A/B (default 3; quick 1)
 *   BENCH_ONLY               comma list of items to run, e.g. "1,7" (default all: 1,2,3,4,5,6,7)
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
 *   BENCH_RUN_TIMEOUT_MS     kill any single load run after this long (default 60000)
 */

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1, max = 10_000_000): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}; received ${JSON.stringify(raw)}`);
  return n;
}

export interface BenchConfig {
  readonly quick: boolean;
  readonly rounds: number;
  readonly only: ReadonlySet<number>;
  readonly h2: { readonly requests: number; readonly clients: number; readonly streams: number };
  readonly lowc: { readonly requests: number };
  readonly seed: { readonly requests: number; readonly clients: number; readonly streams: number };
  readonly call: { readonly requests: number; readonly concurrency: number };
  readonly share: { readonly requests: number; readonly tcpConnections: number };
  readonly synthCounts: readonly number[];
  readonly runTimeoutMs: number;
}

export function loadBenchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const onlyRaw = env.BENCH_ONLY?.trim();
  const only = new Set<number>();
  if (onlyRaw) {
    for (const part of onlyRaw.split(',')) {
      const n = Number(part.trim());
      if (!Number.isInteger(n) || n < 1 || n > 7) throw new Error(`BENCH_ONLY must be a comma list of items 1..7; received ${JSON.stringify(onlyRaw)}`);
      only.add(n);
    }
  } else {
    for (let i = 1; i <= 7; i++) only.add(i);
  }
  const synthRaw = env.BENCH_SYNTH_COUNTS?.trim() || '1,10,100';
  const synthCounts = synthRaw.split(',').map((s) => Number(s.trim()));
  if (synthCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 1000)) {
    throw new Error(`BENCH_SYNTH_COUNTS must be a comma list of integers 1..1000; received ${JSON.stringify(synthRaw)}`);
  }
  return {
    quick,
    rounds: int(env, 'BENCH_ROUNDS', quick ? 1 : 3, 1, 20),
    only,
    h2: { requests: int(env, 'BENCH_H2_REQUESTS', quick ? 15_000 : 60_000), clients: int(env, 'BENCH_H2_CLIENTS', 4, 1, 1000), streams: int(env, 'BENCH_H2_STREAMS', 16, 1, 1000) },
    lowc: { requests: int(env, 'BENCH_LOWC_REQUESTS', quick ? 2_000 : 5_000) },
    seed: { requests: int(env, 'BENCH_SEED_REQUESTS', quick ? 15_000 : 60_000), clients: int(env, 'BENCH_SEED_CLIENTS', 1, 1, 1000), streams: int(env, 'BENCH_SEED_STREAMS', 8, 1, 1000) },
    call: { requests: int(env, 'BENCH_CALL_REQUESTS', quick ? 1_000 : 4_000), concurrency: int(env, 'BENCH_CALL_CONCURRENCY', 8, 1, 1000) },
    share: { requests: int(env, 'BENCH_SHARE_REQUESTS', quick ? 9_000 : 30_000), tcpConnections: int(env, 'BENCH_TCP_CONNECTIONS', 30, 3, 1000) },
    synthCounts,
    runTimeoutMs: int(env, 'BENCH_RUN_TIMEOUT_MS', 60_000, 1_000, 600_000),
  };
}
