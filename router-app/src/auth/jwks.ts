/**
 * JWT verification keys: a JWKS URL, kept in memory, or a static key file.
 *
 * The remote key set (jose's own createRemoteJWKSet re-fetches per request
 * while the set is stale and fails every request while the JWKS server is
 * down, so the caching policy is the router's; the key selection and all
 * crypto are jose's createLocalJWKSet):
 * - fetched at start and every `refreshMs`; a failed fetch keeps the keys in
 *   force (a JWKS outage does not log anybody out) and is retried after
 *   `cooldownMs`;
 * - a token whose `kid` is unknown triggers one fetch, shared by every
 *   request waiting on it, and none again for `cooldownMs` whatever the
 *   outcome (an unknown kid cannot make the router hammer the JWKS server);
 * - answers are bounded (1 MiB, `timeoutMs`, no redirects).
 */
import { createPublicKey } from 'node:crypto';
import * as fs from 'node:fs';
import type { Logger } from '../logger';
import { UnauthenticatedError } from './errors';
import { jose, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from './jose';

type LocalKeySet = ReturnType<typeof jose.createLocalJWKSet>;
/** jose's key lookup for jwtVerify: the key for a token's header. */
export type KeyLookup = (header: JWSHeaderParameters, token: FlattenedJWSInput) => ReturnType<LocalKeySet>;

const MAX_JWKS_BYTES = 1024 * 1024;

/** Outcome of one JWKS fetch, for metrics. */
export type JwksFetchOutcome = 'ok' | 'failed';

export interface RemoteKeySetOptions {
  readonly url: string;
  readonly refreshMs: number;
  readonly cooldownMs: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly onFetch?: (outcome: JwksFetchOutcome, reason: string) => void;
  /** Clock (tests). */
  readonly now?: () => number;
}

async function readBounded(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`JWKS larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class RemoteKeySet {
  private local?: LocalKeySet;
  private lastAttempt = -Infinity;
  private pending?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly o: RemoteKeySetOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Fetches the key set now and then every refreshMs. */
  start(): Promise<void> {
    const first = this.refresh('start');
    this.schedule(this.o.refreshMs);
    return first;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  get hasKeys(): boolean {
    return this.local !== undefined;
  }

  /** jose's key lookup for jwtVerify: the cached set, with one refresh for an unknown kid. */
  readonly lookup: KeyLookup = async (header, token) => {
    if (!this.local) {
      // No key set yet (the JWKS server was down at start): try again, at most once a second.
      if (this.now() - this.lastAttempt >= Math.min(1000, this.o.cooldownMs)) await this.refresh('no keys yet');
      if (!this.local) throw new UnauthenticatedError('keys-unavailable');
    }
    try {
      return await this.local(header, token);
    } catch (err) {
      if (!(err instanceof jose.errors.JWKSNoMatchingKey)) throw err;
      if (this.pending) await this.pending;
      else if (this.now() - this.lastAttempt >= this.o.cooldownMs) await this.refresh('unknown kid');
      else throw err;
      return this.local!(header, token);
    }
  };

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.refresh('periodic');
    }, ms);
    this.timer.unref();
  }

  /** One fetch at a time; a failure keeps the keys in force. */
  refresh(reason: string): Promise<void> {
    this.pending ??= this.fetchOnce(reason).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchOnce(reason: string): Promise<void> {
    this.lastAttempt = this.now();
    try {
      const res = await fetch(this.o.url, { redirect: 'error', signal: AbortSignal.timeout(this.o.timeoutMs), headers: { accept: 'application/jwk-set+json, application/json' } });
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => undefined);
        throw new Error(`HTTP ${res.status}`);
      }
      const json = JSON.parse(await readBounded(res, MAX_JWKS_BYTES)) as JSONWebKeySet;
      // Validates the set's shape (throws on anything but { keys: [...] }).
      this.local = jose.createLocalJWKSet(json);
      this.o.onFetch?.('ok', reason);
      this.o.logger.info({ jwks: this.o.url, keys: json.keys.length, reason }, 'JWKS fetched');
      this.schedule(this.o.refreshMs);
    } catch (err) {
      this.o.onFetch?.('failed', reason);
      this.o.logger.warn({ jwks: this.o.url, reason, err: (err as Error).message, keptKeys: this.local !== undefined }, 'JWKS fetch failed; keeping the keys in force');
      this.schedule(Math.min(this.o.cooldownMs, this.o.refreshMs));
    }
  }
}

/**
 * A static key file: a PEM public key (SPKI), a JWK, or a JWKS (JSON). Read
 * once at start (a new key is a new deployment: rotate with a JWKS URL).
 */
export function staticKeyLookup(file: string): KeyLookup {
  const text = fs.readFileSync(file, 'utf8');
  let jwks: JSONWebKeySet;
  if (text.includes('-----BEGIN')) {
    if (/PRIVATE KEY-----/.test(text)) throw new Error('holds a private key: give the public key only');
    const jwk = createPublicKey(text).export({ format: 'jwk' });
    jwks = { keys: [jwk as JSONWebKeySet['keys'][number]] };
  } else {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error('neither a PEM public key nor JSON (a JWK or a JWKS)');
    }
    const obj = json as { keys?: unknown; kty?: unknown; d?: unknown };
    jwks = Array.isArray(obj.keys) ? (json as JSONWebKeySet) : ({ keys: [json] } as JSONWebKeySet);
    if (jwks.keys.some((k) => (k as { d?: unknown }).d !== undefined || k.kty === 'oct')) throw new Error('holds a private or symmetric key: give public keys only');
  }
  return jose.createLocalJWKSet(jwks);
}
