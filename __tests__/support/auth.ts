/**
 * Test support for authentication: the local platform's JWKS server and
 * signer (scripts/local-platform/local-issuer.ts), the attack tokens a
 * verifier must refuse, API keys with their hashes.
 */
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import { jose } from '../../scripts/local-platform/local-issuer';

export { JwksServer, jose, newApiKey } from '../../scripts/local-platform/local-issuer';

/** An unsigned JWT (`alg: none`). */
export function unsignedJwt(claims: Jose.JWTPayload): string {
  return new jose.UnsecuredJWT(claims).setIssuedAt().encode();
}

/** The token with its payload replaced (claims changed), signature kept. */
export function tamper(token: string, change: (claims: Record<string, unknown>) => Record<string, unknown>): string {
  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  return `${h}.${Buffer.from(JSON.stringify(change(claims))).toString('base64url')}.${s}`;
}

export const nowS = () => Math.floor(Date.now() / 1000);
