/**
 * The per-identity rate limiter's bucket table (router-app/src/auth/rate-limit.ts):
 * least recently used first out, and a bucket in use moved at most once a
 * second, so a busy caller does not churn the Map's hash table on every
 * request (the GC storm of bench/FINDINGS.md §11 and §14: 10a read 0.84
 * with a delete and set per request, 0.96 without).
 */
import { RateLimiter } from '../../router-app/src/auth/rate-limit';
import { RateLimitedError } from '../../router-app/src/auth/errors';

function limiter(max: number) {
  let t = 0;
  const l = new RateLimiter({ rps: 0.001, burst: 1, share: () => 1, maxIdentities: max, now: () => t });
  const at = (ms: number) => (t = ms);
  const limited = (key: string) => {
    try {
      l.take(key);
      return false;
    } catch (e) {
      if (e instanceof RateLimitedError) return true;
      throw e;
    }
  };
  return { l, at, limited };
}

describe('RateLimiter buckets', () => {
  test('the least recently used identity is the one evicted (recency to within a second)', () => {
    const { at, limited } = limiter(2);
    at(0);
    expect([limited('a'), limited('b')]).toEqual([false, false]);
    at(1_500);
    expect(limited('a')).toBe(true); // used: moved to the most recently used end
    expect(limited('c')).toBe(false); // evicts b, not a
    expect(limited('a')).toBe(true); // still its spent bucket
    expect(limited('b')).toBe(false); // b was evicted: a fresh bucket
  });

  test('within a second of its last move a bucket in use keeps its place, then moves again', () => {
    const { at, limited } = limiter(2);
    at(0);
    limited('a');
    limited('b');
    at(500);
    expect(limited('a')).toBe(true); // not moved (500 ms since)
    expect(limited('c')).toBe(false); // so a is still the oldest and goes
    expect(limited('a')).toBe(false); // fresh bucket: a had been evicted
  });

  test('a caller making 10,000 requests in a second moves its bucket once, not 10,000 times', () => {
    let t = 0;
    const l = new RateLimiter({ rps: 1e9, burst: 1e9, share: () => 1, now: () => t });
    const buckets = (l as unknown as { buckets: Map<string, unknown> }).buckets;
    let deletes = 0;
    const del = buckets.delete.bind(buckets);
    buckets.delete = (k: string) => (deletes++, del(k));
    for (let i = 0; i < 10_000; i++) {
      t = i / 10; // 10,000 requests over 1 s
      l.take('busy');
    }
    expect(deletes).toBe(0);
    t = 1_000;
    l.take('busy');
    expect(deletes).toBe(1);
    expect(l.size).toBe(1);
  });
});
