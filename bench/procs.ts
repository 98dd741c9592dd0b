/**
 * Processes under test: spawned (optionally pinned to one CPU with taskset),
 * awaited until they print a readiness line, stopped with a bounded wait, and
 * killed when the bench exits no matter how. Also /proc memory readings.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { ManagedProcess, waitUntil } from '../scripts/local-platform/managed-process';

/** Ctrl-C / SIGTERM end the bench at once; ManagedProcess's exit hook then kills every child. */
let hooked = false;
function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));
}

let tasksetPath: string | null | undefined;
/** taskset's path, or null when it is missing or the machine has one CPU (no pinning then). */
export function taskset(): string | null {
  if (tasksetPath !== undefined) return tasksetPath;
  if (os.availableParallelism() < 2) return (tasksetPath = null);
  try {
    tasksetPath = execFileSync('sh', ['-c', 'command -v taskset'], { encoding: 'utf8' }).trim() || null;
  } catch {
    tasksetPath = null;
  }
  return tasksetPath;
}

/** [command, args] that run `cmd args` pinned to `cpu` (unpinned when cpu is undefined or pinning is unavailable). */
export function withCpu(cpu: number | undefined, cmd: string, args: string[]): [string, string[]] {
  const ts = cpu === undefined ? null : taskset();
  return ts ? [ts, ['-c', String(cpu), cmd, ...args]] : [cmd, args];
}

/** Pins every thread of a running process to `cpu` (no-op without taskset). */
export function pinPid(pid: number, cpu: number): void {
  const ts = taskset();
  if (!ts) return;
  execFileSync(ts, ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** A port the OS reports free on `address` right now. */
export function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host: address, port: 0, exclusive: true }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a .ts file with ts-node (transpile only) in a new node process. */
export function tsNode(file: string, args: string[] = [], nodeFlags: string[] = []): [string, string[]] {
  return [process.execPath, [...nodeFlags, '-r', 'ts-node/register/transpile-only', file, ...args]];
}

export interface BenchProcessOptions {
  readonly name: string;
  readonly command: string;
  readonly args: string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cpu?: number;
  /** Resolves start() when a line matches ... */
  readonly ready?: RegExp;
  /** ... or when this poll (every 100 ms) returns true. */
  readonly readyCheck?: () => Promise<boolean>;
  /** @default 20000 */
  readonly readyTimeoutMs?: number;
}

/** A process under test: the shared ManagedProcess plus CPU pinning and a readiness line or poll. */
export class BenchProcess {
  private constructor(private readonly proc: ManagedProcess) {}

  get name(): string {
    return this.proc.name;
  }
  get pid(): number {
    return this.proc.pid!;
  }
  get running(): boolean {
    return this.proc.running;
  }

  static async start(o: BenchProcessOptions): Promise<{ proc: BenchProcess; match: RegExpMatchArray }> {
    hookSignals();
    const [command, args] = withCpu(o.cpu, o.command, o.args);
    const proc = new BenchProcess(new ManagedProcess({ name: o.name, command, args, env: o.env ?? process.env, keepLines: 300 }));
    const timeoutMs = o.readyTimeoutMs ?? 20_000;
    try {
      if (o.ready) {
        const ready = o.ready;
        const line = await proc.proc.waitForLine((l) => ready.test(l), timeoutMs, `readiness line ${ready}`);
        return { proc, match: ready.exec(line)! };
      }
      if (o.readyCheck) await waitUntil(`${o.name} readiness check`, o.readyCheck, timeoutMs, 100, proc.proc);
      return { proc, match: [] as unknown as RegExpMatchArray };
    } catch (err) {
      await proc.stop();
      throw err;
    }
  }

  tail(n = 20): string {
    return this.proc.tail(n);
  }

  /** SIGTERM, then SIGKILL after waitMs. */
  async stop(waitMs = 5_000): Promise<void> {
    await this.proc.stop('SIGTERM', waitMs);
  }
}

export interface ProcMemory {
  /** Resident set size now (MiB). */
  readonly rssMiB: number;
  /** Peak resident set size (VmHWM, MiB). */
  readonly hwmMiB: number;
}

/** Parses VmRSS/VmHWM from the text of /proc/<pid>/status. */
export function parseProcStatus(text: string): ProcMemory {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`/proc status has no ${key} line`);
    return Number(m[1]);
  };
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
}

export function procMemory(pid: number): ProcMemory {
  return parseProcStatus(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
