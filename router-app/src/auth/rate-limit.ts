/**
 * Per-identity rate limits: a token bucket per caller (subject or API key),
 * `rps` tokens a second up to `burst`, one token per request on either door.
 *
 * Scope `platform` (the default) makes the configured rate hold for the whole
 * platform: HAProxy spreads each caller's requests evenly over the routers
 * (http mode balances per request), so each router enforces its share,
 * rate / routers serving (from Consul). Scope `router` applies the rate on
 * each router as is (tcp mode, where one connection sticks to one router).
 * Nothing is shared between routers; a router's buckets are its view of the
 * traffic it receives. The number of buckets is bounded (least recently used
 * first out, recency to within a second): a full bucket holds no state worth keeping.
 */
import { RateLimitedError } from './errors';

export interface RateLimitOptions {
  /** Requests per second per identity (platform-wide or per router, see `share`). */
  readonly rps: number;
  readonly burst: number;
  /** This router's share of the limit (1 / routers serving, or 1). Read per request. */
  readonly share: () => number;
  /** Most identities tracked at once. @default 100000 */
  readonly maxIdentities?: number;
  readonly now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
  /** When the bucket was last moved to the Map's most recently used end. */
  moved: number;
}

/**
 * A bucket in use is moved to the most recently used end at most this often.
 * Moving it (delete + set) on every request churns the Map's hash table once
 * per call, which sets off V8's GC storm (bench/FINDINGS.md §11, §14); the
 * eviction order only needs to be right to within a second.
 */
const MOVE_EVERY_MS = 1_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly max: number;

  constructor(private readonly o: RateLimitOptions) {
    this.now = o.now ?? Date.now;
    this.max = o.maxIdentities ?? 100_000;
  }

  /** Takes one token for `key`; throws RateLimitedError (with the seconds until one is back) when there is none. */
  take(key: string): void {
    const share = Math.min(1, Math.max(0.001, this.o.share()));
    const rate = this.o.rps * share;
    const capacity = Math.max(1, this.o.burst * share);
    const now = this.now();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
      if (now - b.moved >= MOVE_EVERY_MS) {
        // Re-inserted: the Map's order is least recently used first (to within MOVE_EVERY_MS).
        this.buckets.delete(key);
        this.buckets.set(key, b);
        b.moved = now;
      }
    } else {
      b = { tokens: capacity, at: now, moved: now };
      if (this.buckets.size >= this.max) this.buckets.delete(this.buckets.keys().next().value as string);
      this.buckets.set(key, b);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    throw new RateLimitedError(Math.max(1, Math.ceil((1 - b.tokens) / rate)));
  }

  get size(): number {
    return this.buckets.size;
  }
}
