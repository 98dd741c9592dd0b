/**
 * A Consul blocking-query loop on top of the consul client's calls: it asks
 * with the last `X-Consul-Index` and a wait time, reports the data when the
 * index changed, and after a failure asks again without an index (with
 * back-off). A restarted Consul starts over with lower indexes, and a query
 * with the old, higher index would hang for the whole wait; a fresh query
 * answers at once. An index that goes backwards in an answer also starts over,
 * as Consul's documentation says clients must.
 */

import { EventEmitter } from 'node:events';

/**
 * The consul client's call with `ctx.includeResponse`: resolves to [response,
 * data]; a 'cancel' event on `ctx` aborts the request (the client's documented
 * context).
 */
export type QueryCall<T> = (options: { index?: string; wait: string; timeout: number; ctx: EventEmitter & { includeResponse: true } }) => Promise<[{ headers: Record<string, string | undefined> }, T]>;

export interface BlockingQueryOptions {
  /** Consul's wait per query. @default '30s' */
  readonly wait?: string;
  /** Longest pause between retries after failures, in ms. @default 5000 */
  readonly backoffMaxMs?: number;
}

export class BlockingQuery<T> {
  private index: bigint | undefined;
  private stopped = false;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private ctx?: EventEmitter;
  private readonly waitMs: number;

  constructor(
    private readonly call: QueryCall<T>,
    private readonly onChange: (data: T) => void,
    private readonly onError: (err: Error) => void,
    private readonly options: BlockingQueryOptions = {},
  ) {
    this.waitMs = parseSeconds(options.wait ?? '30s') * 1000;
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // Abort the query in flight, so a stopped router holds no socket for the rest of the wait.
    this.ctx?.emit('cancel');
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const ctx = Object.assign(new EventEmitter(), { includeResponse: true as const });
      this.ctx = ctx;
      try {
        const [res, data] = await this.call({
          ...(this.index !== undefined ? { index: this.index.toString() } : {}),
          wait: this.options.wait ?? '30s',
          // Consul may hold a query up to wait + wait/16; give it that and a little more.
          timeout: Math.ceil(this.waitMs * 1.1) + 1000,
          ctx,
        });
        if (this.stopped) return;
        this.failures = 0;
        const raw = res.headers['x-consul-index'];
        const next = raw !== undefined && /^\d+$/.test(raw) ? BigInt(raw) : undefined;
        const changed = next === undefined || this.index === undefined || next !== this.index;
        // An index of 0 or one that went backwards: start over (Consul's documented rule).
        this.index = next === undefined || next === 0n || (this.index !== undefined && next < this.index) ? undefined : next;
        if (changed) this.onChange(data);
        // Without an index Consul does not block: pause so the loop does not spin.
        if (this.index === undefined) await this.pause(1000);
      } catch (err) {
        if (this.stopped) return;
        this.index = undefined;
        this.failures++;
        this.onError(err as Error);
        await this.pause(Math.min(100 * 2 ** this.failures, this.options.backoffMaxMs ?? 5000));
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }
}

function parseSeconds(d: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(d);
  if (!m) throw new Error(`wait must be a duration like 30s; received ${JSON.stringify(d)}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}
