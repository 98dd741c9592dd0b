/**
 * Namespaced names for tools and prompts: `<server>__<name>`, always matching
 * ^[a-zA-Z0-9_-]{1,64}$. Invalid characters become "_"; a name that had to be
 * changed or shortened gets a deterministic hash suffix so that two different
 * originals never map to the same name.
 */
import { createHash } from 'node:crypto';

export const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX = 64;
const SEP = '__';

const sanitize = (s: string) => s.replace(/[^a-zA-Z0-9_-]/g, '_');
const hash = (s: string, n = 8) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** The client-facing name of `name` on server `server`. Deterministic and collision-resistant. */
export function namespacedName(server: string, name: string): string {
  const raw = `${server}${SEP}${name}`;
  const clean = sanitize(raw);
  if (clean === raw && clean.length <= MAX && clean.length > 0) return clean;
  const suffix = `-${hash(raw)}`;
  return clean.slice(0, MAX - suffix.length) + suffix;
}

/**
 * The prefix every namespaced name of `server` starts with (the sanitised
 * "<server>__", cut where a hashed long name would cut it).
 */
export function namespacePrefix(server: string): string {
  return sanitize(`${server}${SEP}`).slice(0, MAX - 9);
}

/**
 * Assigns names to many (server, name) pairs; if two pairs still collide
 * (e.g. a crafted name equal to another's hashed form), later ones get a
 * further suffix. A pair listed twice (a server naming two tools alike) is
 * named once, for the first: both would call the same tool, and each copy
 * would otherwise retry every suffix the earlier copies took (10,000 copies:
 * 50 million hashes). Never throws.
 */
export function assignNames<T extends { server: string; name: string }>(items: readonly T[]): Map<string, T> {
  const out = new Map<string, T>();
  const seen = new Set<string>();
  const sorted = [...items].sort((a, b) => (a.server + '\0' + a.name < b.server + '\0' + b.name ? -1 : 1));
  for (const item of sorted) {
    const key = `${item.server}\0${item.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let n = namespacedName(item.server, item.name);
    for (let i = 1; out.has(n); i++) {
      const suffix = `-${hash(`${item.server}\0${item.name}\0${i}`, 6)}`;
      n = n.slice(0, MAX - suffix.length) + suffix;
    }
    out.set(n, item);
  }
  return out;
}
