/**
 * Who is calling: the result of authentication, the same for both front
 * doors, whatever the credential (a JWT, an API key, or none at all).
 */
export type AuthMethod = 'jwt' | 'apiKey' | 'anonymous';

export interface Identity {
  readonly method: AuthMethod;
  /** The JWT's `sub` (else `client_id`/`azp`), the API key's id, or `anonymous`. */
  readonly subject: string;
  /** Scopes granted to the credential (JWT `scope`/`scp`, the API key entry's `scopes`). */
  readonly scopes: ReadonlySet<string>;
  /** The JWT's claims (an API key: `{ sub: <id> }`); authorization rules may match on them. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Rate-limit key: one bucket per identity (`jwt:<iss>:<sub>`, `apiKey:<id>`). */
  readonly key: string;
  /** Holds the admin scope: sees internals, may call everything. */
  readonly admin: boolean;
}

/** The caller when authentication is off. */
export const ANONYMOUS: Identity = Object.freeze({
  method: 'anonymous' as const,
  subject: 'anonymous',
  scopes: new Set<string>(),
  claims: Object.freeze({}),
  key: 'anonymous',
  admin: false,
});

/** Scopes of a JWT payload: `scope` (space-separated, RFC 8693/9068) and `scp` (a list or a string, as several providers issue). */
export function scopesOf(payload: Readonly<Record<string, unknown>>): Set<string> {
  const out = new Set<string>();
  const add = (v: unknown) => {
    const list: unknown[] = typeof v === 'string' ? v.split(' ') : Array.isArray(v) ? v : [];
    for (const s of list) if (typeof s === 'string' && s !== '') out.add(s);
  };
  add(payload.scope);
  add(payload.scp);
  return out;
}
