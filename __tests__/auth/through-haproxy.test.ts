/**
 * Who may call what, proven with real tokens through the platform: real
 * HAProxy (generated config) in front of 3 router processes, Consul, two demo
 * MCP servers (demo, search), and the local platform's JWT issuer (a real
 * JWKS server; jose signs real tokens). Every attack token of issue 12 is sent
 * to the gRPC endpoint (grpc-js) and to the MCP endpoint (the official SDK
 * client), often enough to reach every router; the refusal reason each router
 * counted is read from its metrics (the client only ever sees one text).
 * Then: JWKS rotation and an unknown kid (one refresh per router, not one per
 * request), a JWKS outage (cached keys keep working), a revoked API key, a
 * token allowed one namespace, and the per-identity rate limit split over the
 * 3 routers.
 */
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { LocalPlatform, LOCAL_ISSUER_KID } from '../../scripts/local-platform/platform';
import { sleep, waitUntil } from '../../scripts/local-platform/managed-process';
import { createRouterClient, McpRouterClient } from '../../scripts/local-platform/router-client';
import { report } from '../platform/helpers';
import { newApiKey, nowS, tamper, unsignedJwt } from '../support/auth';
import { struct } from '../support/demo-backends';

jest.setTimeout(240_000);

const N = 3;
const JWKS_COOLDOWN_MS = 3_000;
/** Platform-wide per identity: each of the 3 routers enforces a third. */
const RATE = { rps: 10, burst: 30 };
const RULES = {
  rules: [
    { match: { scope: 'ns:search' }, allow: { namespaces: ['search'] } },
    { match: { scope: 'ns:demo' }, allow: { namespaces: ['demo'] } },
  ],
};
const ciKey = newApiKey('ci-bot', ['ns:demo']);
const oldKey = newApiKey('old-bot', ['ns:demo']);
const busyKey = newApiKey('busy-bot', ['ns:demo']);
const busyMcpKey = newApiKey('busy-mcp-bot', ['ns:demo']);
const calmKey = newApiKey('calm-bot', ['ns:demo']);

let platform: LocalPlatform;
let grpcClient: McpRouterClient;
/** Per case: what each door answered (printed at the end, for the record). */
const table: Record<string, { grpc: string; mcp: string; reason?: string }> = {};

const md = (token?: string) => {
  const m = new grpc.Metadata();
  if (token !== undefined) m.set('authorization', `Bearer ${token}`);
  return m;
};
function call<T = any>(method: keyof McpRouterClient, req: object, token?: string): Promise<T> {
  return new Promise((resolve, reject) => {
    (grpcClient[method] as any).call(grpcClient, req, md(token), { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}
const failure = (p: Promise<unknown>): Promise<grpc.ServiceError> => p.then(() => ({ code: grpc.status.OK, details: 'OK' }) as grpc.ServiceError, (e) => e as grpc.ServiceError);

async function mcpClient(token?: string): Promise<Client> {
  const client = new Client({ name: 'auth-through-haproxy', version: '1' });
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  await client.connect(new StreamableHTTPClientTransport(new URL(platform.mcpUrl), { requestInit: { headers } }));
  return client;
}
/** The HTTP status the SDK client's connect got (200 when it connected). */
async function mcpConnectStatus(token?: string): Promise<number> {
  try {
    const c = await mcpClient(token);
    await c.close();
    return 200;
  } catch (err) {
    if (err instanceof StreamableHTTPError) return err.code ?? -1;
    throw err;
  }
}
const initialize = (token?: string) =>
  fetch(platform.mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
  });

/** A metric summed over every running router (each router's own admin port). */
async function metricSum(name: string, labels: string): Promise<number> {
  let sum = 0;
  for (const i of platform.runningRouters()) {
    const text = await (await fetch(`http://${platform.block.routerAddress(i)}:${platform.ports.routerAdmin}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    sum += line ? Number(line.split(' ').pop()) : 0;
  }
  return sum;
}
const failures = (reason: string) => metricSum('mcp_router_auth_failures_total', `reason="${reason}"`);

const claims = (sub: string, extra: Record<string, unknown> = {}) => ({ iss: platform.issuer!.issuer, aud: platform.mcpUrl, sub, exp: nowS() + 600, ...extra });
const sign = (sub: string, extra: Record<string, unknown> = {}, kid = LOCAL_ISSUER_KID) => platform.issuer!.sign(claims(sub, extra), kid);

beforeAll(async () => {
  platform = await LocalPlatform.start({
    instances: N,
    mode: 'http',
    block: 'random',
    backends: ['demo', 'search'],
    auth: { jwt: true, apiKeys: [ciKey.entry, oldKey.entry, busyKey.entry, busyMcpKey.entry, calmKey.entry], rules: RULES },
    routerEnv: {
      MCP_ROUTER_AUTH_RELOAD_MS: '200',
      MCP_ROUTER_AUTH_JWKS_COOLDOWN_MS: String(JWKS_COOLDOWN_MS),
      MCP_ROUTER_RATE_LIMIT_RPS: String(RATE.rps),
      MCP_ROUTER_RATE_LIMIT_BURST: String(RATE.burst),
    },
  });
  await waitUntil('HAProxy has every router UP for MCP', async () => (await platform.haproxyUpAddresses('mcp_http_backend')).length === N, 45_000, 250);
  grpcClient = createRouterClient(platform.endpoint);
  const admin = await sign('admin', { scope: 'mcp:admin' });
  // Every router lists both servers (calls round-robin over the 3).
  await waitUntil('each router lists demo and search', async () => {
    for (let k = 0; k < N; k++) {
      const names: string[] = (await call('ListTools', {}, admin)).tools.map((t: { name: string }) => t.name);
      if (!names.some((n) => n.startsWith('demo__')) || !names.some((n) => n.startsWith('search__'))) return false;
    }
    return true;
  }, 30_000, 500); // 6 calls/s: under the admin's own rate limit
  // A key published after the routers fetched the JWKS (the rotation case uses it).
  await platform.issuer!.addKey('rs-1', 'RS256');
});
afterAll(async () => {
  report('auth through haproxy, 3 routers', table);
  grpcClient?.close();
  await platform?.close();
});

test('a valid token works on both doors (the control)', async () => {
  const token = await sign('control', { scope: 'ns:demo' });
  for (let k = 0; k < N; k++) expect((await call('ListTools', {}, token)).tools.length).toBeGreaterThan(0);
  const client = await mcpClient(token);
  try {
    expect((await client.callTool({ name: 'demo__echo', arguments: { text: 'ok' } })).content).toEqual([{ type: 'text', text: 'ok' }]);
  } finally {
    await client.close();
  }
  table.control = { grpc: 'OK', mcp: '200' };
});

describe('refused tokens: UNAUTHENTICATED on gRPC, 401 on MCP, on every router; the reason only in the metrics', () => {
  const cases: Array<[string, () => Promise<string | undefined>, string]> = [
    ['expired', () => sign('attacker', { exp: nowS() - 120 }), 'expired'],
    ['not yet valid', () => sign('attacker', { nbf: nowS() + 600 }), 'not-yet-valid'],
    ['wrong issuer', () => platform.issuer!.sign({ ...claims('attacker'), iss: 'https://evil.example' }, LOCAL_ISSUER_KID), 'bad-issuer'],
    ['wrong audience', () => platform.issuer!.sign({ ...claims('attacker'), aud: 'https://other.example/mcp' }, LOCAL_ISSUER_KID), 'bad-audience'],
    ['alg none', async () => unsignedJwt(claims('attacker', { scope: 'mcp:admin' })), 'bad-algorithm'],
    ['tampered payload', async () => tamper(await sign('attacker', { scope: 'ns:demo' }), (c) => ({ ...c, scope: 'mcp:admin' })), 'bad-signature'],
    ['missing header', async () => undefined, 'missing'],
  ];
  test.each(cases)('%s', async (name, make, reason) => {
    const token = await make();
    const before = await failures(reason);
    // 3 gRPC calls (one per router, round robin) and 3 SDK connects (each an initialize POST).
    const grpcErrs = await Promise.all(Array.from({ length: N }, () => failure(call('ListTools', {}, token))));
    const mcpStatuses: number[] = [];
    for (let k = 0; k < N; k++) mcpStatuses.push(await mcpConnectStatus(token));
    const expected = reason === 'missing' ? 'authentication required' : 'invalid credentials';
    expect(grpcErrs.map((e) => [e.code, e.details])).toEqual(Array(N).fill([grpc.status.UNAUTHENTICATED, expected]));
    expect(mcpStatuses).toEqual(Array(N).fill(401));
    // The challenge through HAProxy: where to get a token; invalid_token for a bad one.
    const raw = await initialize(token);
    expect(raw.status).toBe(401);
    const metadata = new URL('/.well-known/oauth-protected-resource/mcp', platform.mcpUrl).toString();
    expect(raw.headers.get('www-authenticate')).toBe(reason === 'missing' ? `Bearer resource_metadata="${metadata}"` : `Bearer error="invalid_token", resource_metadata="${metadata}"`);
    expect(await failures(reason)).toBe(before + 2 * N + 1);
    table[name] = { grpc: grpc.status[grpcErrs[0].code], mcp: String(mcpStatuses[0]), reason };
  });

  test('protected resource metadata is served through HAProxy', async () => {
    const meta = (await (await fetch(new URL('/.well-known/oauth-protected-resource/mcp', platform.mcpUrl))).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({ resource: platform.mcpUrl, authorization_servers: [platform.issuer!.issuer], scopes_supported: ['ns:demo', 'ns:search'] });
  });
});

describe('the JWKS: rotation, an unknown kid, an outage', () => {
  test('a key published after start: its first token triggers one JWKS refresh per router and is accepted', async () => {
    await sleep(JWKS_COOLDOWN_MS + 100); // past the cooldown of the routers' start-up fetch
    const before = platform.issuer!.requests;
    const token = await sign('rotated', { scope: 'ns:demo' }, 'rs-1');
    for (let k = 0; k < N; k++) expect((await call('ListTools', {}, token)).tools.length).toBeGreaterThan(0);
    expect(await mcpConnectStatus(token)).toBe(200);
    const fetches = platform.issuer!.requests - before;
    expect(fetches).toBeGreaterThanOrEqual(1);
    expect(fetches).toBeLessThanOrEqual(N);
    table['rotated key (rs-1, published after start)'] = { grpc: 'OK', mcp: '200', reason: `${fetches} JWKS fetch(es)` };
  });

  test('an HMAC token "signed" with the RSA public key is refused (HS256 is not an allowed algorithm)', async () => {
    const token = await platform.issuer!.hmacWithPublicKey(claims('attacker', { scope: 'mcp:admin' }), 'rs-1');
    const before = await failures('bad-algorithm');
    const grpcErrs = await Promise.all(Array.from({ length: N }, () => failure(call('ListTools', {}, token))));
    expect(grpcErrs.map((e) => [e.code, e.details])).toEqual(Array(N).fill([grpc.status.UNAUTHENTICATED, 'invalid credentials']));
    const statuses: number[] = [];
    for (let k = 0; k < N; k++) statuses.push(await mcpConnectStatus(token));
    expect(statuses).toEqual(Array(N).fill(401));
    expect(await failures('bad-algorithm')).toBe(before + 2 * N);
    table['HMAC signed with the public key'] = { grpc: grpc.status[grpcErrs[0].code], mcp: String(statuses[0]), reason: 'bad-algorithm' };
  });

  test('an unknown kid: 60 requests, refused, and at most one JWKS fetch per router per cooldown', async () => {
    await platform.issuer!.addKey('ghost', 'ES256', false); // never published
    await sleep(JWKS_COOLDOWN_MS + 100);
    const token = await sign('ghost-user', {}, 'ghost');
    const before = platform.issuer!.requests;
    const reasonBefore = await failures('unknown-key');
    const t0 = Date.now();
    const grpcErrs = await Promise.all(Array.from({ length: 30 }, () => failure(call('ListTools', {}, token))));
    const mcp = await Promise.all(Array.from({ length: 29 }, () => initialize(token).then((r) => r.status)));
    mcp.push(await mcpConnectStatus(token));
    const elapsed = Date.now() - t0;
    const fetches = platform.issuer!.requests - before;
    expect(new Set(grpcErrs.map((e) => e.code))).toEqual(new Set([grpc.status.UNAUTHENTICATED]));
    expect(new Set(mcp)).toEqual(new Set([401]));
    expect(await failures('unknown-key')).toBe(reasonBefore + 60);
    expect(fetches).toBeGreaterThanOrEqual(1);
    expect(fetches).toBeLessThanOrEqual(N * (1 + Math.floor(elapsed / JWKS_COOLDOWN_MS)));
    table['unknown kid'] = { grpc: 'UNAUTHENTICATED', mcp: '401', reason: `unknown-key; ${fetches} JWKS fetch(es) for 60 requests in ${elapsed} ms` };
  });

  test('the JWKS server down: a new token signed with a cached key works on both doors', async () => {
    await platform.issuer!.down();
    try {
      const token = await sign('during-outage', { scope: 'ns:demo' });
      for (let k = 0; k < N; k++) expect((await call('ListTools', {}, token)).tools.length).toBeGreaterThan(0);
      const client = await mcpClient(token);
      try {
        expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      } finally {
        await client.close();
      }
      // Still refused: a key it never had.
      expect((await failure(call('ListTools', {}, await sign('x', {}, 'ghost')))).code).toBe(grpc.status.UNAUTHENTICATED);
      table['JWKS server down, cached key'] = { grpc: 'OK', mcp: '200' };
    } finally {
      await platform.issuer!.up();
    }
  });
});

test('a revoked API key: UNAUTHENTICATED and 401 on every router, without a restart; other keys still work', async () => {
  for (let k = 0; k < N; k++) expect((await call('ListTools', {}, oldKey.key)).tools.length).toBeGreaterThan(0);
  expect(await mcpConnectStatus(oldKey.key)).toBe(200);
  const file = platform.authFiles.apiKeys!;
  const entries = JSON.parse(fs.readFileSync(file, 'utf8')).keys as Array<{ id: string }>;
  fs.writeFileSync(file, JSON.stringify({ keys: entries.map((e) => (e.id === 'old-bot' ? { ...e, revoked: true } : e)) }));
  // Every router has reloaded once N calls in a row (round robin) are refused.
  await waitUntil('every router refuses the revoked key', async () => {
    const errs = await Promise.all(Array.from({ length: N }, () => failure(call('ListTools', {}, oldKey.key))));
    return errs.every((e) => e.code === grpc.status.UNAUTHENTICATED);
  }, 10_000, 100);
  const before = await failures('unknown-api-key');
  const grpcErrs = await Promise.all(Array.from({ length: N }, () => failure(call('ListTools', {}, oldKey.key))));
  const statuses: number[] = [];
  for (let k = 0; k < N; k++) statuses.push(await mcpConnectStatus(oldKey.key));
  expect(grpcErrs.map((e) => [e.code, e.details])).toEqual(Array(N).fill([grpc.status.UNAUTHENTICATED, 'invalid credentials']));
  expect(statuses).toEqual(Array(N).fill(401));
  expect(await failures('unknown-api-key')).toBe(before + 2 * N);
  expect((await call('ListTools', {}, ciKey.key)).tools.length).toBeGreaterThan(0);
  table['revoked API key'] = { grpc: grpc.status[grpcErrs[0].code], mcp: String(statuses[0]), reason: 'unknown-api-key' };
});

describe('a token allowed one namespace (search)', () => {
  let token: string;
  beforeAll(async () => {
    token = await sign('search-only', { scope: 'ns:search' });
  });
  const inSearch = (names: string[]) => names.length > 0 && names.every((n) => n.startsWith('search__') || n.startsWith('demo://search/'));

  test('gRPC: every listing holds search only, on every router; every call elsewhere is PERMISSION_DENIED', async () => {
    for (let k = 0; k < N; k++) {
      expect(inSearch((await call('ListTools', {}, token)).tools.map((t: any) => t.name))).toBe(true);
      expect(inSearch((await call('ListPrompts', {}, token)).prompts.map((p: any) => p.name))).toBe(true);
      expect(inSearch((await call('ListResources', {}, token)).resources.map((r: any) => r.uri))).toBe(true);
      expect((await call('ListServers', {}, token)).servers.map((s: any) => [s.name, s.url])).toEqual([['search', '']]);
    }
    expect((await call('CallTool', { name: 'search__echo', arguments: struct({ text: 'mine' }) }, token)).content).toBeDefined();
    const denied = await Promise.all([
      failure(call('CallTool', { name: 'demo__echo' }, token)),
      failure(call('CallTool', { name: 'demo__does_not_exist' }, token)),
      failure(call('GetPrompt', { name: 'demo__greet' }, token)),
      failure(call('ReadResource', { uri: 'demo://demo/readme' }, token)),
    ]);
    expect(denied.map((e) => grpc.status[e.code])).toEqual(Array(4).fill('PERMISSION_DENIED'));
    // A listing filter on a server it may not see answers as one on a server that does not exist (NOT_FOUND, same text).
    const hidden = await failure(call('ListTools', { server: 'demo' }, token));
    const unknown = await failure(call('ListTools', { server: 'nowhere' }, token));
    expect([grpc.status[hidden.code], grpc.status[unknown.code]]).toEqual(['NOT_FOUND', 'NOT_FOUND']);
    expect(hidden.details.replace('demo', 'nowhere')).toBe(unknown.details);
    table['one namespace: other namespaces (gRPC)'] = { grpc: 'PERMISSION_DENIED (calls); NOT_FOUND (listing filter, as for an unknown server)', mcp: '-' };
  });

  test('MCP (SDK client): the same listings; calls elsewhere are 403 insufficient_scope', async () => {
    // Another subject: its own rate-limit bucket (the gRPC test above spent ~20 requests of this one's).
    const client = await mcpClient(await sign('search-only-mcp', { scope: 'ns:search' }));
    try {
      for (let k = 0; k < N; k++) {
        expect(inSearch((await client.listTools()).tools.map((t) => t.name))).toBe(true);
        expect(inSearch((await client.listPrompts()).prompts.map((p) => p.name))).toBe(true);
        expect(inSearch((await client.listResources()).resources.map((r) => r.uri))).toBe(true);
      }
      expect((await client.callTool({ name: 'search__echo', arguments: { text: 'mine' } })).content).toEqual([{ type: 'text', text: 'mine' }]);
      const refused = await Promise.all([
        client.callTool({ name: 'demo__echo', arguments: { text: 'x' } }).catch((e) => e),
        client.getPrompt({ name: 'demo__greet', arguments: { who: 'x' } }).catch((e) => e),
        client.readResource({ uri: 'demo://demo/readme' }).catch((e) => e),
      ]);
      expect(refused.map((e) => (e instanceof StreamableHTTPError ? e.code : String(e)))).toEqual([403, 403, 403]);
      table['one namespace: other namespaces (MCP)'] = { grpc: '-', mcp: '403' };
    } finally {
      await client.close();
    }
  });
});

describe('rate limit per identity through HAProxy, split over the 3 routers', () => {
  test(`gRPC: ${RATE.burst} of a burst pass platform-wide, then RESOURCE_EXHAUSTED with retry-after; another identity is unaffected`, async () => {
    const t0 = Date.now();
    const results: grpc.ServiceError[] = [];
    for (let k = 0; k < 60; k++) results.push(await failure(call('ListTools', {}, busyKey.key)));
    const elapsedS = (Date.now() - t0) / 1000;
    const ok = results.filter((e) => e.code === grpc.status.OK).length;
    const limited = results.filter((e) => e.code === grpc.status.RESOURCE_EXHAUSTED);
    expect(ok + limited.length).toBe(60);
    // Each router holds a third of the burst and refills a third of the rate.
    expect(ok).toBeGreaterThanOrEqual(RATE.burst);
    expect(ok).toBeLessThanOrEqual(RATE.burst + Math.ceil(RATE.rps * elapsedS) + N);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0].details).toMatch(/^rate limit exceeded; retry after \d+ s$/);
    expect(limited[0].metadata.get('retry-after')).toEqual([expect.stringMatching(/^\d+$/)]);
    expect((await call('ListTools', {}, calmKey.key)).tools.length).toBeGreaterThan(0);
    table['rate limit (gRPC, 60 calls)'] = { grpc: `${ok} OK, ${limited.length} RESOURCE_EXHAUSTED in ${elapsedS.toFixed(2)} s`, mcp: '-' };
  });

  test('MCP: the same limit answers 429 with Retry-After through HAProxy', async () => {
    const t0 = Date.now();
    const responses: Response[] = [];
    for (let k = 0; k < 60; k++) responses.push(await initialize(busyMcpKey.key));
    const elapsedS = (Date.now() - t0) / 1000;
    const ok = responses.filter((r) => r.status === 200).length;
    const limited = responses.filter((r) => r.status === 429);
    expect(ok + limited.length).toBe(60);
    expect(ok).toBeGreaterThanOrEqual(RATE.burst);
    expect(ok).toBeLessThanOrEqual(RATE.burst + Math.ceil(RATE.rps * elapsedS) + N);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0].headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await mcpConnectStatus(calmKey.key)).toBe(200);
    table['rate limit (MCP, 60 initialize)'] = { grpc: '-', mcp: `${ok}x200, ${limited.length}x429 in ${elapsedS.toFixed(2)} s` };
  });
});
