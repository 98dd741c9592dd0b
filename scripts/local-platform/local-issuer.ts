/**
 * A local token issuer for the local platform (`npm run local -- --auth jwt`)
 * and its tests: a real JWKS server on loopback (node:http) that publishes the
 * public halves of real key pairs (jose), counts its requests and can be taken
 * down and brought back on the same port, and signs real JWTs with the private
 * halves. It is an issuer for development and tests only: keys live in memory
 * and die with the process.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const jose: typeof Jose = require('jose');

export type Alg = 'ES256' | 'RS256' | 'EdDSA';

interface KeyEntry {
  readonly kid: string;
  readonly alg: Alg;
  readonly privateKey: Jose.CryptoKey;
  readonly publicJwk: Jose.JWK;
  readonly publicPem: string;
}

export class JwksServer {
  /** JWKS requests answered (or refused) so far. */
  requests = 0;
  private readonly keys = new Map<string, KeyEntry>();
  private readonly published = new Set<string>();
  private server?: http.Server;

  private constructor(
    readonly host: string,
    public port: number,
  ) {}

  static async start(host = '127.0.0.1'): Promise<JwksServer> {
    const s = new JwksServer(host, 0);
    await s.up();
    return s;
  }

  get issuer(): string {
    return `http://${this.host}:${this.port}`;
  }
  get url(): string {
    return `${this.issuer}/.well-known/jwks.json`;
  }

  /** Makes a key pair; `publish` puts its public key in the JWKS. */
  async addKey(kid: string, alg: Alg = 'ES256', publish = true): Promise<void> {
    const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
    const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
    this.keys.set(kid, { kid, alg, privateKey, publicJwk, publicPem: await jose.exportSPKI(publicKey) });
    if (publish) this.published.add(kid);
  }

  publish(...kids: string[]): void {
    for (const k of kids) this.published.add(k);
  }
  unpublish(...kids: string[]): void {
    for (const k of kids) this.published.delete(k);
  }
  publicPem(kid: string): string {
    return this.key(kid).publicPem;
  }

  /** A signed JWT with these claims (iat now; the caller sets iss/aud/exp/…). */
  async sign(claims: Jose.JWTPayload, kid: string): Promise<string> {
    const k = this.key(kid);
    return new jose.SignJWT(claims).setProtectedHeader({ alg: k.alg, kid, typ: 'JWT' }).setIssuedAt().sign(k.privateKey);
  }

  /** The classic algorithm-confusion token: HS256, "signed" with the RSA public key's PEM text as the HMAC secret, under that key's kid. */
  async hmacWithPublicKey(claims: Jose.JWTPayload, kid: string): Promise<string> {
    const k = this.key(kid);
    return new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' }).setIssuedAt().sign(new TextEncoder().encode(k.publicPem));
  }

  /** Takes the server down (connections refused) until up() again, on the same port. */
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  async up(): Promise<void> {
    const s = http.createServer((req, res) => {
      if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end();
      this.requests++;
      const keys = [...this.published].map((kid) => this.key(kid).publicJwk);
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys }));
    });
    s.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(this.port, this.host, () => resolve());
    });
    this.port = (s.address() as { port: number }).port;
    this.server = s;
  }

  private key(kid: string): KeyEntry {
    const k = this.keys.get(kid);
    if (!k) throw new Error(`no key ${kid}`);
    return k;
  }
}

/** A new API key (what a client holds) and its key file entry (what the routers hold: the SHA-256 only). */
export function newApiKey(id: string, scopes: string[] = []): { key: string; entry: { id: string; sha256: string; scopes: string[] } } {
  const key = `mcpk_${randomBytes(24).toString('base64url')}`;
  return { key, entry: { id, sha256: createHash('sha256').update(key).digest('hex'), scopes } };
}
