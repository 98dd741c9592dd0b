/**
 * `npm run bench:map-churn`: the garbage-collector storm of FINDINGS §11 (every grpc-js server here
 * runs in it), in plain JavaScript, with no gRPC, HTTP/2 or router code.
 *
 * One child process per variant runs the same loop: make a "call" (a ~3 KB object graph), keep 8
 * in flight, retire the oldest, and make ~15 KB of garbage per call. The only difference is where
 * the in-flight calls are indexed:
 * - "map":   a long-lived Map (set on start, delete on end), as Node's http2 session indexes its
 *            streams and the MCP SDK its pending requests;
 * - "map-prefilled": the same Map holding 4,096 more entries that stay, so its hash table is large
 *            and is rebuilt (rehashed into a new table) ~500 times less often;
 * - "slots": a long-lived array whose slots are overwritten.
 * Every child first runs two full collections (so the index lives in the old generation, as in a
 * server that has been up for a while) and keep a slowly growing old-generation ballast (so V8 runs
 * full collections now and then). Each runs under `--trace-gc-nvp` with the router image's heap
 * flags; the parent counts scavenges, mark-compacts and the bytes scavenges promoted, and prints a
 * table. Bounded: CHURN_CALLS calls per child (default 1,500,000), 120 s per child at most.
 */
import { spawnSync } from 'node:child_process';
import { benchScript, compileBench } from './compile';

type Kind = 'map' | 'map-prefilled' | 'slots';

function child(kind: Kind, calls: number): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const byMap = new Map<number, object>();
  if (kind === 'map-prefilled') for (let i = 1; i <= 4096; i++) byMap.set(-i, { i });
  const bySlot: (object | null)[] = new Array(64).fill(null);
  const inflight: { id: number }[] = [];
  const ballast: number[][] = [];
  let sink = 0;
  gc();
  gc();
  const started = process.hrtime.bigint();
  for (let n = 0; n < calls; n++) {
    const call = { id: n, parts: [] as object[] };
    for (let i = 0; i < 40; i++) call.parts.push({ i, s: `x${i}`, a: [i, i + 1] });
    if (kind !== 'slots') byMap.set(call.id, call);
    else bySlot[call.id % 64] = call;
    inflight.push(call);
    if (inflight.length > 8) {
      const done = inflight.shift()!;
      if (kind !== 'slots') byMap.delete(done.id);
      else bySlot[done.id % 64] = null;
    }
    if (n % 50 === 0) ballast.push(new Array(64).fill(n));
    if (ballast.length > 3000) ballast.length = 0;
    const garbage = new Array(200);
    for (let i = 0; i < 200; i++) garbage[i] = { i, v: i * 2 };
    sink += garbage.length;
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`RESULT ${JSON.stringify({ kind, calls, ms, sink })}\n`);
}

export interface ChurnResult {
  readonly kind: Kind;
  readonly callsPerSec: number;
  readonly scavenges: number;
  readonly markCompacts: number;
  readonly promotedMiB: number;
}

/** Reads `--trace-gc-nvp` lines: the count of each GC kind and the bytes scavenges promoted. */
export function parseNvp(stdout: string): { scavenges: number; markCompacts: number; promotedBytes: number } {
  let scavenges = 0;
  let markCompacts = 0;
  let promotedBytes = 0;
  for (const line of stdout.split('\n')) {
    const gc = / gc=(\w+) /.exec(line)?.[1];
    if (gc === 's') {
      scavenges++;
      promotedBytes += Number(/ promoted=(\d+) /.exec(line)?.[1] ?? 0);
    } else if (gc === 'mc') markCompacts++;
  }
  return { scavenges, markCompacts, promotedBytes };
}

function run(kind: Kind, calls: number, imageFlags: string[]): ChurnResult {
  // The child runs compiled (bench/dist), so no TypeScript compiler sits in the heap it measures.
  const [cmd, args] = benchScript('map-churn-gc', ['child', kind, String(calls)], [...imageFlags, '--expose-gc', '--trace-gc-nvp']);
  const out = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  const result = /RESULT (.+)/.exec(out.stdout ?? '')?.[1];
  if (out.status !== 0 || !result) throw new Error(`${kind} child failed (status ${out.status}, signal ${out.signal}): ${(out.stderr ?? '').slice(-1000)}`);
  const { ms } = JSON.parse(result) as { ms: number };
  const gc = parseNvp(out.stdout);
  return { kind, callsPerSec: calls / (ms / 1000), scavenges: gc.scavenges, markCompacts: gc.markCompacts, promotedMiB: gc.promotedBytes / 1048576 };
}

function main(): void {
  if (process.argv[2] === 'child') return child(process.argv[3] as Kind, Number(process.argv[4]));
  // Loaded here, not at the top: the compiled child (bench/dist) cannot resolve this path, and needs none of it.
  const { routerNodeFlags } = require('../scripts/local-platform/platform') as typeof import('../scripts/local-platform/platform');
  compileBench();
  const calls = Number(process.env.CHURN_CALLS ?? 1_500_000);
  const rows = (['map', 'map-prefilled', 'slots'] as const).map((kind) => run(kind, calls, routerNodeFlags()));
  const slots = rows.find((r) => r.kind === 'slots')!;
  console.log(`${calls.toLocaleString('en-US')} calls per variant, node ${process.version}, flags ${routerNodeFlags().join(' ')}\n`);
  console.log('| in-flight index | calls/s | vs slots | scavenges | mark-compacts | promoted by scavenges |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.kind} | ${Math.round(r.callsPerSec).toLocaleString('en-US')} | ${(r.callsPerSec / slots.callsPerSec).toFixed(2)} | ${r.scavenges} | ${r.markCompacts} | ${r.promotedMiB.toFixed(1)} MiB |`);
  }
}

if (require.main === module) main();
