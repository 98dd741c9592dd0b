/**
 * JWT access tokens, verified with jose: the signature with a key from the
 * JWKS (or the static key), only the configured algorithms (asymmetric; an
 * unsigned `alg: none` token or an HMAC token "signed" with the public key is
 * refused by the algorithm list before any key is used), the issuer, the
 * audience (the platform's public URL: a token issued for another service is
 * refused, as the MCP authorization spec requires), `exp` (required) and
 * `nbf` with a small clock tolerance.
 */
import { createHash } from 'node:crypto';
import { AuthFailure, UnauthenticatedError } from './errors';
import { Identity, scopesOf } from './identity';
import { jose, type JWTPayload } from './jose';
import type { KeyLookup } from './jwks';

export interface JwtVerifierOptions {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly algorithms: readonly string[];
  readonly clockToleranceS: number;
  readonly adminScope: string;
  readonly keys: KeyLookup;
}

/** Which check a jose error stands for (by class and claim, never by message text). */
export function failureOf(err: unknown): AuthFailure {
  const e = jose.errors;
  if (err instanceof UnauthenticatedError) return err.reason;
  if (err instanceof e.JWTExpired) return 'expired';
  if (err instanceof e.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'not-yet-valid';
    if (err.claim === 'iss') return 'bad-issuer';
    if (err.claim === 'aud') return 'bad-audience';
    return 'claims';
  }
  if (err instanceof e.JOSEAlgNotAllowed || err instanceof e.JOSENotSupported) return 'bad-algorithm';
  if (err instanceof e.JWSSignatureVerificationFailed) return 'bad-signature';
  if (err instanceof e.JWKSNoMatchingKey || err instanceof e.JWKSMultipleMatchingKeys) return 'unknown-key';
  return 'malformed';
}

/** A JWT has three base64url parts; an API key has none of its dots. */
export function looksLikeJwt(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(credential);
}

export class JwtVerifier {
  constructor(private readonly o: JwtVerifierOptions) {}

  /** The identity a valid token stands for, with the time its verification may be reused until (ms); throws UnauthenticatedError. */
  async verify(token: string): Promise<{ identity: Identity; expiresAt: number }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jose.jwtVerify(token, this.o.keys, {
        issuer: this.o.issuer,
        audience: [...this.o.audience],
        algorithms: [...this.o.algorithms],
        clockTolerance: this.o.clockToleranceS,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw new UnauthenticatedError(failureOf(err));
    }
    const subject = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : firstString(payload.client_id, payload.azp) ?? `token:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
    const scopes = scopesOf(payload);
    const identity: Identity = Object.freeze({
      method: 'jwt' as const,
      subject,
      scopes,
      claims: Object.freeze({ ...payload }),
      key: `jwt:${payload.iss ?? ''}:${subject}`,
      admin: scopes.has(this.o.adminScope),
    });
    return { identity, expiresAt: (payload.exp as number) * 1000 + this.o.clockToleranceS * 1000 };
  }
}

function firstString(...values: unknown[]): string | undefined {
  for (const v of values) if (typeof v === 'string' && v !== '') return v;
  return undefined;
}
