/**
 * MCP session IDs that carry their own state, so any router answers any
 * request of a session and nothing lives only in one router's memory.
 *
 * An ID is `v1.<key id>.<payload>.<mac>`: the payload (base64url JSON) holds
 * the protocol version negotiated at initialize, a random nonce (which with the
 * client's request ID names a request across routers, for cancellation), and
 * the issue and expiry times; the MAC is HMAC-SHA-256 (node:crypto) over
 * everything before it with the key the id names. The first key signs, every
 * key verifies, so keys rotate without dropping sessions. A router started
 * without keys makes one of its own: its sessions are then valid on it alone
 * (and it says so in its log).
 *
 * A verified ID is remembered (its exact string, bounded, oldest dropped
 * first), so a session's MAC is computed once per router rather than on every
 * request (~2–3 % of the router's CPU per MCP tools/call, bench/FINDINGS.md §9); expiry is still
 * checked on every use. Only IDs that verified are remembered: bytes that do
 * not are refused each time, whatever they are.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface SessionState {
  /** Protocol version negotiated at initialize. */
  readonly protocolVersion: string;
  /** Random, per session: with a request ID it names one request on any router. */
  readonly nonce: string;
  /** Issued at (ms since the epoch). */
  readonly iat: number;
  /** Expires at (ms since the epoch). */
  readonly exp: number;
  /**
   * Who opened the session (a hash of the caller's identity), when
   * authentication is on: a session ID is no credential, and a request
   * with another caller's session ID is answered as an unknown session.
   */
  readonly principal?: string;
}

export interface SessionKey {
  readonly id: string;
  readonly secret: string;
}

/** Why a presented session ID is refused. */
export type SessionRefusal = 'malformed' | 'unknown-key' | 'bad-signature' | 'expired';

const b64 = (b: Buffer) => b.toString('base64url');

export class SessionTokens {
  readonly ephemeral: boolean;
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly signer: SessionKey;
  /** IDs that verified, with their state, oldest first. */
  private readonly verified = new Map<string, SessionState>();

  constructor(
    keys: readonly SessionKey[],
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    /** How many verified IDs are remembered. */
    private readonly rememberMax = 4096,
  ) {
    this.ephemeral = keys.length === 0;
    const all = this.ephemeral ? [{ id: 'local', secret: b64(randomBytes(32)) }] : keys;
    this.signer = all[0];
    this.keys = new Map(all.map((k) => [k.id, Buffer.from(k.secret, 'utf8')]));
  }

  issue(protocolVersion: string, principal?: string): { id: string; state: SessionState } {
    const iat = this.now();
    const state: SessionState = { protocolVersion, nonce: b64(randomBytes(12)), iat, exp: iat + this.ttlMs, ...(principal !== undefined ? { principal } : {}) };
    const head = `v1.${this.signer.id}.${b64(Buffer.from(JSON.stringify(state)))}`;
    return { id: `${head}.${this.mac(this.signer.id, head)}`, state };
  }

  /** How many verified IDs are remembered now (at most `rememberMax`). */
  get remembered(): number {
    return this.verified.size;
  }

  verify(id: string): SessionState | SessionRefusal {
    const known = this.verified.get(id);
    if (known) {
      if (known.exp > this.now()) return known;
      this.verified.delete(id);
      return 'expired';
    }
    if (id.length > 1024) return 'malformed';
    const parts = id.split('.');
    if (parts.length !== 4 || parts[0] !== 'v1') return 'malformed';
    const [, kid, payload, mac] = parts;
    if (!this.keys.has(kid)) return 'unknown-key';
    const expected = Buffer.from(this.mac(kid, `v1.${kid}.${payload}`));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad-signature';
    let state: SessionState;
    try {
      state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as SessionState;
    } catch {
      return 'malformed';
    }
    if (typeof state !== 'object' || state === null || typeof state.protocolVersion !== 'string' || typeof state.nonce !== 'string' || typeof state.exp !== 'number') return 'malformed';
    if (state.exp <= this.now()) return 'expired';
    if (this.verified.size >= this.rememberMax) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(id, state);
    return state;
  }

  private mac(kid: string, data: string): string {
    return b64(createHmac('sha256', this.keys.get(kid)!).update(data).digest());
  }
}
