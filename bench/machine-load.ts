/**
 * How busy the machine was with work that is not the bench's: CPU time of
 * every process outside the bench's process tree (other engineers' tests,
 * builds) and the hypervisor's steal time, over a window. Read from /proc.
 *
 * A lower bound: a foreign process that starts and ends inside the window is
 * not seen.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  /** utime + stime, clock ticks (all threads). */
  readonly ticks: number;
  /** Start time after boot, clock ticks. */
  readonly startTicks: number;
}

/** Parses /proc/<pid>/stat (the command name is in parentheses and may hold spaces or parentheses). */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const pid = Number(text.slice(0, open).trim());
  const f = text.slice(close + 2).trim().split(/\s+/); // f[0] is field 3 (state)
  const field = (n: number) => Number(f[n - 3]);
  if (f.length < 20 || !Number.isFinite(field(14))) throw new Error(`/proc/<pid>/stat line too short: ${JSON.stringify(text.slice(0, 120))}`);
  return { pid, ppid: field(4), comm: text.slice(open + 1, close), ticks: field(14) + field(15), startTicks: field(22) };
}

/** Steal ticks (field 8 of the cpu line) and the total of all ticks in /proc/stat's first line. */
export function parseCpuLine(procStat: string): { steal: number; total: number } {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no "cpu " line');
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  return { steal: v[7] ?? 0, total: v.reduce((a, b) => a + b, 0) };
}

export function processSnapshot(): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = parseProcStat(fs.readFileSync(`/proc/${name}/stat`, 'utf8'));
      out.set(s.pid, s);
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** Pids of `root` and every descendant, by ppid links in the snapshots. */
export function descendants(root: number, ...snapshots: ReadonlyArray<ReadonlyMap<number, ProcStat>>): Set<number> {
  const children = new Map<number, number[]>();
  for (const snap of snapshots) for (const s of snap.values()) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  const out = new Set<number>([root]);
  const stack = [root];
  while (stack.length) for (const c of children.get(stack.pop()!) ?? []) if (!out.has(c)) (out.add(c), stack.push(c));
  return out;
}

/** Ticks used between two snapshots by processes outside `mine` (a process new since `before` counts whole if it started after `sinceTicks`). */
export function foreignTicks(before: ReadonlyMap<number, ProcStat>, after: ReadonlyMap<number, ProcStat>, mine: ReadonlySet<number>, sinceTicks: number): number {
  let ticks = 0;
  for (const a of after.values()) {
    if (mine.has(a.pid)) continue;
    const b = before.get(a.pid);
    if (b && b.startTicks === a.startTicks) ticks += Math.max(0, a.ticks - b.ticks);
    else if (a.startTicks >= sinceTicks) ticks += a.ticks;
  }
  return ticks;
}

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck !== undefined) return clkTck;
  try {
    clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    clkTck = 100;
  }
  return clkTck;
}

function uptimeTicks(): number {
  return Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * ticksPerSecond();
}

export interface ForeignLoad {
  /** CPUs (1.0 = one core all the time) used by processes outside the bench. */
  readonly foreign: number;
  /** CPUs' worth of steal time (the hypervisor ran someone else). */
  readonly steal: number;
}

/** Starts a window; the returned function ends it and tells the foreign load over it. Zeros where /proc is missing. */
export function startLoadWindow(root = process.pid): () => ForeignLoad {
  if (!fs.existsSync('/proc/stat')) return () => ({ foreign: 0, steal: 0 });
  const hz = ticksPerSecond();
  const t0 = process.hrtime.bigint();
  const since = uptimeTicks();
  const before = processSnapshot();
  const cpu0 = parseCpuLine(fs.readFileSync('/proc/stat', 'utf8'));
  return () => {
    const after = processSnapshot();
    const cpu1 = parseCpuLine(fs.readFileSync('/proc/stat', 'utf8'));
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    const mine = descendants(root, before, after);
    const foreign = foreignTicks(before, after, mine, since) / hz / sec;
    const steal = (cpu1.steal - cpu0.steal) / hz / sec;
    return { foreign, steal };
  };
}

/** Total CPU seconds (user + system, all threads) a running process has used. */
export function cpuSecondsOf(pid: number): number {
  return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')).ticks / ticksPerSecond();
}
