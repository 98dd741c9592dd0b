/**
 * Keys seen before, to log (and count) something once per key: a refused
 * registration, a tool or template left out. Bounded: past `max` keys it
 * forgets them all, so a party that changes its key at every listing or
 * registration costs no memory without end (it is then logged again).
 */
export class SeenOnce {
  private readonly seen = new Set<string>();

  constructor(private readonly max = 10_000) {}

  /** True the first time `key` is seen (since the set was last cleared). */
  first(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.max) this.seen.clear();
    this.seen.add(key);
    return true;
  }
}
