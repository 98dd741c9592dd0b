/**
 * How busy the machine was with work that is not the bench's, over a window:
 * the machine's user + system CPU time (/proc/stat) minus the CPU time of the
 * bench's process tree, counting the children it has already reaped (cutime and
 * cstime of /proc/<pid>/stat, e.g. every finished h2load run), so short-lived
 * processes on either side are accounted for. Plus the hypervisor's steal time.
 * Network work done in softirq context (loopback traffic) is left out of both.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  /** utime + stime, clock ticks (all threads). */
  readonly ticks: number;
  /** cutime + cstime: ticks of children this process has waited for. */
  readonly childTicks: number;
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
  return { pid, ppid: field(4), comm: text.slice(open + 1, close), ticks: field(14) + field(15), childTicks: field(16) + field(17), startTicks: field(22) };
}

/** From /proc/stat's "cpu" line: user + nice + system ticks ("busy"), and steal ticks. */
export function parseCpuLine(procStat: string): { busy: number; steal: number } {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no "cpu " line');
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  return { busy: (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0), steal: v[7] ?? 0 };
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

/** CPU ticks of a process tree: its members' own ticks plus what they have collected from reaped children. */
export function treeTicks(snapshot: ReadonlyMap<number, ProcStat>, members: ReadonlySet<number>): number {
  let t = 0;
  for (const pid of members) {
    const p = snapshot.get(pid);
    if (p) t += p.ticks + p.childTicks;
  }
  return t;
}

/**
 * Ticks used in a window by the bench's tree rooted at `root`: the tree's total after minus before.
 * A member that ended in the window was reaped by its parent in the tree, so its time moved into the
 * parent's childTicks and is still counted once.
 */
export function benchTicks(before: ReadonlyMap<number, ProcStat>, after: ReadonlyMap<number, ProcStat>, root: number): number {
  return Math.max(0, treeTicks(after, descendants(root, after)) - treeTicks(before, descendants(root, before)));
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
  const before = processSnapshot();
  const cpu0 = parseCpuLine(fs.readFileSync('/proc/stat', 'utf8'));
  return () => {
    const after = processSnapshot();
    const cpu1 = parseCpuLine(fs.readFileSync('/proc/stat', 'utf8'));
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    const foreign = Math.max(0, cpu1.busy - cpu0.busy - benchTicks(before, after, root)) / hz / sec;
    const steal = (cpu1.steal - cpu0.steal) / hz / sec;
    return { foreign, steal };
  };
}

/** Total CPU seconds (user + system, all threads) a running process has used. */
export function cpuSecondsOf(pid: number): number {
  return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')).ticks / ticksPerSecond();
}
