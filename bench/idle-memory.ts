/**
 * Row 5a's idle reading: RSS once every process has gone still.
 *
 * Right after start-up and warm-up, identical Node processes differ by up to ~20 MiB:
 * V8's memory reducer (it starts 8 s after the GC that arms it) releases the young
 * generation and free pages of one process and not yet of the next (new space
 * 14.5 → 0.3 MiB). Measured (FINDINGS §10): 5 routers read 75.9–92.9 MiB 5 s after
 * warm-up and 76.1–76.8 MiB 30 s after; floors likewise settle. So the reading waits
 * until at least `minWaitMs` have passed and no RSS has moved for `stableMs`.
 */
import { procMemory, ProcMemory, sleep } from './procs';

export interface SettledIdle {
  /** Memory of each process, in the order given, once settled (or at the bound). */
  readonly memory: ProcMemory[];
  /** Time from the start of the wait to the reading. */
  readonly waitedMs: number;
  /** False when the bound was reached with some process still moving. */
  readonly settled: boolean;
}

export interface SettleOptions {
  /** Not before this long. */
  readonly minWaitMs: number;
  /** No RSS moved more than `toleranceMiB` for this long. */
  readonly stableMs: number;
  /** Bound on the wait. */
  readonly maxWaitMs: number;
  readonly toleranceMiB?: number;
}

/** Polls every process's RSS each second until all are still (see the module's note). */
export async function settleIdle(pids: readonly number[], o: SettleOptions): Promise<SettledIdle> {
  const tolerance = o.toleranceMiB ?? 0.5;
  const start = Date.now();
  const read = () => pids.map((pid) => procMemory(pid));
  let last = read();
  let stillSince = start;
  for (;;) {
    await sleep(1_000);
    const now = read();
    const t = Date.now();
    if (now.some((m, i) => Math.abs(m.rssMiB - last[i].rssMiB) > tolerance)) stillSince = t;
    last = now;
    const waitedMs = t - start;
    if (waitedMs >= o.minWaitMs && t - stillSince >= o.stableMs) return { memory: now, waitedMs, settled: true };
    if (waitedMs >= o.maxWaitMs) return { memory: now, waitedMs, settled: false };
  }
}
