/**
 * Processes under test: spawned (optionally pinned to one CPU with taskset),
 * awaited until they print a readiness line, stopped with a bounded wait, and
 * killed when the bench exits no matter how. Also /proc memory readings.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';

const live = new Set<ChildProcess>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
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

export class BenchProcess {
  readonly lines: string[] = [];
  private exitInfo?: { code: number | null; signal: NodeJS.Signals | null };
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        live.delete(child);
        this.exitInfo = { code, signal };
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  static async start(o: BenchProcessOptions): Promise<{ proc: BenchProcess; match: RegExpMatchArray }> {
    hookExit();
    const [cmd, args] = withCpu(o.cpu, o.command, o.args);
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const proc = new BenchProcess(o.name, child);
    const timeoutMs = o.readyTimeoutMs ?? 20_000;
    const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => {
        clearInterval(polling);
        reject(new Error(`${o.name} did not become ready (${o.ready ?? 'readiness check'}) within ${timeoutMs} ms; last output:\n${proc.tail()}`));
      }, timeoutMs);
      const onLine = (line: string) => {
        proc.lines.push(line);
        if (proc.lines.length > 300) proc.lines.shift();
        const m = o.ready?.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      };
      for (const stream of [child.stdout!, child.stderr!]) {
        let buf = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            onLine(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
          }
        });
      }
      let polling: NodeJS.Timeout | undefined;
      if (o.readyCheck) {
        const check = o.readyCheck;
        polling = setInterval(() => {
          check().then(
            (ok) => {
              if (ok) {
                clearInterval(polling);
                clearTimeout(timer);
                resolve([] as unknown as RegExpMatchArray);
              }
            },
            () => undefined,
          );
        }, 100);
      }
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        clearInterval(polling);
        reject(new Error(`${o.name} exited (code ${code}, signal ${signal}) before it was ready; last output:\n${proc.tail()}`));
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`${o.name} could not be spawned: ${err.message}`));
      });
    }).catch(async (err) => {
      await proc.stop();
      throw err;
    });
    return { proc, match };
  }

  tail(n = 20): string {
    return this.lines.slice(-n).join('\n');
  }

  /** SIGTERM, then SIGKILL after waitMs. */
  async stop(waitMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), waitMs);
    await this.exited;
    clearTimeout(timer);
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
