/**
 * API keys, kept as SHA-256 hashes only: the router never holds a key in
 * plain text. The file (MCP_ROUTER_AUTH_API_KEYS_FILE) is JSON:
 *
 *   { "keys": [ { "id": "ci-bot", "sha256": "<64 hex>", "scopes": ["tools:search"] },
 *               { "id": "old",    "sha256": "<64 hex>", "revoked": true } ] }
 *
 * A presented key is hashed and looked up; a revoked or unknown key is
 * refused. Keys are random secrets of at least 128 bits (`npm run auth --
 * api-key <id>` makes one), which is why a plain SHA-256 suffices: there is
 * nothing to guess. The file is re-read when it changes (revocation and new
 * keys take effect within MCP_ROUTER_AUTH_RELOAD_MS, no restart).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Identity } from './identity';

/** Shortest and longest key the router hashes (anything else is refused before hashing). */
export const API_KEY_LENGTH = { min: 24, max: 512 } as const;

const Entry = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$/, { message: 'id must be 1-128 letters, digits, "_", ".", "@", ":" or "-"' }),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, { message: 'sha256 must be the 64 lowercase hex digits of the key\'s SHA-256 (never the key itself)' }),
    scopes: z.array(z.string().regex(/^[\x21-\x7e]{1,128}$/, { message: 'a scope is 1-128 printable characters without spaces' })).max(256).default([]),
    revoked: z.boolean().default(false),
  })
  .strict();

const File = z.object({ keys: z.array(Entry).max(100_000) }).strict();

export interface ApiKeyEntry {
  readonly id: string;
  readonly scopes: readonly string[];
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export class ApiKeySet {
  private constructor(private readonly byHash: ReadonlyMap<string, Identity>) {}

  get size(): number {
    return this.byHash.size;
  }

  /** Parses the file's text; throws an Error naming the entry and field that are wrong. */
  static parse(text: string, adminScope: string): ApiKeySet {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error('not JSON: expected { "keys": [ { "id", "sha256", "scopes"? , "revoked"? } ] }');
    }
    const r = File.safeParse(json);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new Error(`${i.path.join('.') || '(root)'}: ${i.message}`);
    }
    const byHash = new Map<string, Identity>();
    const ids = new Set<string>();
    for (const [i, e] of r.data.keys.entries()) {
      if (ids.has(e.id)) throw new Error(`keys.${i}.id: ${JSON.stringify(e.id)} appears twice`);
      ids.add(e.id);
      if (byHash.has(e.sha256)) throw new Error(`keys.${i}.sha256: the same hash appears twice`);
      if (e.revoked) continue;
      const scopes = new Set(e.scopes);
      byHash.set(e.sha256, Object.freeze({ method: 'apiKey' as const, subject: e.id, scopes, claims: Object.freeze({ sub: e.id }), key: `apiKey:${e.id}`, admin: scopes.has(adminScope) }));
    }
    return new ApiKeySet(byHash);
  }

  /** The identity of a presented key, or undefined (unknown, revoked, or not a plausible key). */
  lookup(key: string): Identity | undefined {
    if (key.length < API_KEY_LENGTH.min || key.length > API_KEY_LENGTH.max) return undefined;
    return this.byHash.get(hashApiKey(key));
  }
}
