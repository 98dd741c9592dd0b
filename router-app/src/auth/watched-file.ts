/**
 * A file the router re-reads when it changes, without a restart (API keys,
 * authorization rules, backend credentials). Polled with stat (inode, size,
 * mtime), which works on bind mounts where inotify does not; a file that no
 * longer parses, or is gone, leaves the last good value in force and is
 * reported through `onError`.
 */
import * as fs from 'node:fs';

export interface WatchedFileOptions<T> {
  readonly path: string;
  /** How often to stat the file, in ms. */
  readonly intervalMs: number;
  /** Turns the text into the value; throws (with a message naming what is wrong) when it is not valid. */
  readonly parse: (text: string) => T;
  readonly onChange: (value: T) => void;
  readonly onError: (err: Error) => void;
}

function signature(st: fs.Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

export class WatchedFile<T> {
  private last = '';
  private timer?: NodeJS.Timeout;
  /** The file could not be stat'ed at the last poll (reported once until it can again). */
  private missing = false;

  constructor(private readonly o: WatchedFileOptions<T>) {}

  /** Reads and parses the file now; throws when it cannot (a start-up problem). */
  loadNow(): T {
    const st = fs.statSync(this.o.path);
    const value = this.o.parse(fs.readFileSync(this.o.path, 'utf8'));
    this.last = signature(st);
    return value;
  }

  start(): void {
    this.timer = setInterval(() => this.poll(), this.o.intervalMs);
    this.timer.unref();
  }

  /** Checks once for a change (also what the timer does). */
  poll(): void {
    let sig: string;
    try {
      sig = signature(fs.statSync(this.o.path));
    } catch (err) {
      if (!this.missing) this.o.onError(new Error(`${this.o.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; keeping the last good version`));
      this.missing = true;
      this.last = '';
      return;
    }
    this.missing = false;
    // A version that did not parse is not read again until the file changes.
    if (sig === this.last) return;
    this.last = sig;
    let value: T;
    try {
      value = this.o.parse(fs.readFileSync(this.o.path, 'utf8'));
    } catch (err) {
      this.o.onError(new Error(`${this.o.path}: ${(err as Error).message}; keeping the last good version`));
      return;
    }
    this.o.onChange(value);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
