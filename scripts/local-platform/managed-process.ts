/**
 * A child process the local platform owns: output captured (last lines kept
 * for diagnostics), readiness awaited, and stopped by signal with a bounded
 * wait.
 *
 * No process started here outlives its parent, however the parent ends:
 * - each runs in its own process group, so a terminal's Ctrl-C (SIGINT to the
 *   foreground group) reaches only the parent, which stops them in order;
 * - each gets the kernel's parent-death signal (SIGKILL, set by util-linux
 *   `setpriv --pdeathsig` before it execs the program), so even a parent
 *   killed with SIGKILL leaves none behind;
 * - and the parent's 'exit' kills whatever still runs.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';

export interface ManagedProcessOptions {
  /** Name used in logs and errors, e.g. "router-2". */
  readonly name: string;
  readonly command: string;
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Lines of output kept for error messages. @default 200 */
  readonly keepLines?: number;
  /** Called for each output line (stdout and stderr). */
  readonly onLine?: (line: string) => void;
  /** Own process group and the parent-death signal (see above). @default true */
  readonly isolate?: boolean;
}

let setprivPath: string | null | undefined;
/** util-linux's setpriv, when it is installed and knows --pdeathsig (null otherwise). */
function setpriv(): string | null {
  if (setprivPath === undefined) {
    try {
      const bin = execFileSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).trim();
      setprivPath = bin && execFileSync(bin, ['--help'], { encoding: 'utf8' }).includes('--pdeathsig') ? bin : null;
    } catch {
      setprivPath = null;
    }
  }
  return setprivPath;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private readonly keep: number;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo?: { code: number | null; signal: NodeJS.Signals | null };
  private readonly lineWaiters = new Set<{ test: (l: string) => boolean; resolve: (l: string) => void }>();

  constructor(private readonly options: ManagedProcessOptions) {
    installExitHook();
    this.name = options.name;
    this.keep = options.keepLines ?? 200;
    const isolate = options.isolate ?? true;
    const wrapper = isolate ? setpriv() : null;
    const [command, args] = wrapper ? [wrapper, ['--pdeathsig', 'KILL', '--', options.command, ...(options.args ?? [])]] : [options.command, [...(options.args ?? [])]];
    this.child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: isolate,
    });
    live.add(this.child);
    const onData = (stream: NodeJS.ReadableStream) => {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          this.pushLine(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      });
    };
    onData(this.child.stdout!);
    onData(this.child.stderr!);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        live.delete(this.child);
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      this.child.on('error', (err) => {
        live.delete(this.child);
        this.pushLine(`spawn error: ${err.message}`);
        this.exitInfo = { code: -1, signal: null };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }

  /** The last captured output lines, for error messages. */
  tail(n = 30): string {
    return this.lines.slice(-n).join('\n');
  }

  /** Resolves with the first line (past or future) matching `test`; rejects on exit or timeout. */
  waitForLine(test: (line: string) => boolean, timeoutMs: number, what = 'expected output'): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { test, resolve: (l: string) => finish(() => resolve(l)) };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms. Output:\n${this.tail()}`))),
        timeoutMs,
      );
      const onExit = () =>
        finish(() =>
          reject(new Error(`${this.name} exited (${JSON.stringify(this.exitInfo)}) before ${what}. Output:\n${this.tail()}`)),
        );
      void this.exited.then(onExit);
      const finish = (fn: () => void) => {
        if (!this.lineWaiters.has(waiter)) return;
        this.lineWaiters.delete(waiter);
        clearTimeout(timer);
        fn();
      };
      this.lineWaiters.add(waiter);
    });
  }

  /** Sends `signal` and waits for exit; escalates to SIGKILL after `timeoutMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.running) return this.exitInfo!;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when the process exits. */
  waitForExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }

  private pushLine(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
    this.options.onLine?.(line);
    for (const w of [...this.lineWaiters]) if (w.test(line)) w.resolve(line);
  }
}

/** Polls `probe` until it returns true, or throws after `timeoutMs` with `what` and the last error. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 100,
  /** A process that must stay up meanwhile; its exit fails the wait at once, with its output. */
  mustRun?: ManagedProcess,
): Promise<number> {
  const start = Date.now();
  let lastError: unknown;
  while (Date.now() - start < timeoutMs) {
    if (mustRun && !mustRun.running) {
      throw new Error(`${mustRun.name} exited (${JSON.stringify(mustRun.exitStatus)}) while waiting for ${what}. Output:\n${mustRun.tail()}`);
    }
    try {
      if (await probe()) return Date.now() - start;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
