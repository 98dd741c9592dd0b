/**
 * Authentication and authorization in one router (in-process, real demo MCP
 * servers, a real JWKS server, real JWTs and API keys): the parts a platform
 * test cannot look into — the reason a token failed (metrics, while the
 * client sees one text), rules and keys changed on disk without a restart,
 * sessions bound to their caller, reflection and internals for the admin
 * scope only, the rate limiter's Retry-After, and the protected resource
 * metadata read by the SDK's own discovery.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { OAuthProtectedResourceMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { createRouterClient, McpRouterClient } from '../../scripts/local-platform/router-client';
import { DemoServerHandle, eventually, routerFor, RouterUnderTest, startDemoServer } from '../support/demo-backends';
import { JwksServer, newApiKey, nowS } from '../support/auth';

jest.setTimeout(90_000);

const PUBLIC_URL = 'https://mcp.example.test/mcp';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'router-auth-'));
const rulesFile = path.join(dir, 'rules.json');
const keysFile = path.join(dir, 'api-keys.json');
const RULES = {
  rules: [
    { match: { scope: 'tools:search' }, allow: { tools: ['search__*'] } },
    { match: { scope: 'demo:all' }, allow: { namespaces: ['demo'] } },
    { match: { claim: 'groups', value: 'readers' }, allow: { resources: ['demo://demo/*'] } },
  ],
};
const ci = newApiKey('ci-bot', ['tools:search']);
const old = newApiKey('old-bot', ['demo:all']);

let jwks: JwksServer;
let demo: DemoServerHandle;
let search: DemoServerHandle;
let r: RouterUnderTest;
let mcpUrl: string;
let metricsUrl: string;

const claims = (extra: Record<string, unknown> = {}) => ({ iss: jwks.issuer, aud: PUBLIC_URL, sub: 'alice', exp: nowS() + 600, ...extra });
const md = (token?: string) => {
  const m = new grpc.Metadata();
  if (token !== undefined) m.set('authorization', `Bearer ${token}`);
  return m;
};
function call<T = any>(client: McpRouterClient, method: keyof McpRouterClient, req: object, token?: string): Promise<T> {
  return new Promise((resolve, reject) => {
    (client[method] as any).call(client, req, md(token), { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}
async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}
async function mcpClient(token: string): Promise<Client> {
  const client = new Client({ name: 'auth-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}
async function post(body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(body) });
}

beforeAll(async () => {
  jwks = await JwksServer.start();
  await jwks.addKey('es-1', 'ES256');
  fs.writeFileSync(rulesFile, JSON.stringify(RULES));
  fs.writeFileSync(keysFile, JSON.stringify({ keys: [ci.entry, old.entry] }));
  demo = await startDemoServer({ name: 'demo' });
  search = await startDemoServer({ name: 'search' });
  r = await routerFor(
    [
      { name: 'demo', url: demo.url },
      { name: 'search', url: search.url },
    ],
    {
      MCP_ROUTER_AUTH: 'jwt,apiKeys',
      MCP_ROUTER_PUBLIC_URL: PUBLIC_URL,
      MCP_ROUTER_AUTH_JWT_ISSUER: jwks.issuer,
      MCP_ROUTER_AUTH_JWT_JWKS_URL: jwks.url,
      MCP_ROUTER_AUTH_API_KEYS_FILE: keysFile,
      MCP_ROUTER_AUTH_RULES_FILE: rulesFile,
      MCP_ROUTER_AUTH_RELOAD_MS: '100',
      MCP_ROUTER_INTERNALS: 'admin',
      MCP_ROUTER_SESSION_KEYS: 'k1=' + 'k'.repeat(40),
    },
  );
  mcpUrl = `http://127.0.0.1:${r.router.mcpPort}/mcp`;
  metricsUrl = `http://127.0.0.1:${r.router.metricsPort}/metrics`;
});
afterAll(async () => {
  await r?.close();
  await demo?.close();
  await search?.close();
  await jwks?.down();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a refused credential: one answer to the client, the reason in the metrics', () => {
  test.each([
    ['expired', async () => jwks.sign(claims({ exp: nowS() - 120 }), 'es-1'), 'expired'],
    ['wrong issuer', async () => jwks.sign(claims({ iss: 'https://evil.example' }), 'es-1'), 'bad-issuer'],
    ['wrong audience', async () => jwks.sign(claims({ aud: 'https://other.example/mcp' }), 'es-1'), 'bad-audience'],
    ['not a credential', async () => 'x', 'unknown-api-key'],
  ])('%s', async (_name, make, reason) => {
    const token = await make();
    const before = await metric('mcp_router_auth_failures_total', `reason="${reason}"`);
    const err = await call(r.client, 'ListTools', {}, token).catch((e) => e);
    expect({ code: err.code, details: err.details }).toEqual({ code: grpc.status.UNAUTHENTICATED, details: 'invalid credentials' });
    expect(await metric('mcp_router_auth_failures_total', `reason="${reason}"`)).toBe(before + 1);
  });

  test('within the clock tolerance (exp 10 s ago, tolerance 30 s) is accepted', async () => {
    const token = await jwks.sign(claims({ exp: nowS() - 10, scope: 'demo:all' }), 'es-1');
    const res = await call(r.client, 'ListTools', {}, token);
    expect(res.tools.length).toBeGreaterThan(0);
  });
});

describe('MCP: 401 with the challenge the SDK understands, and the metadata it finds', () => {
  test('no Authorization: 401, resource_metadata, no error code; a bad token: error="invalid_token"', async () => {
    const init = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
    const missing = await post(init, {});
    expect(missing.status).toBe(401);
    expect(extractWWWAuthenticateParams(missing)).toEqual({ resourceMetadataUrl: new URL('https://mcp.example.test/.well-known/oauth-protected-resource/mcp') });
    expect(((await missing.json()) as { error: unknown }).error).toEqual({ code: -32000, message: 'Unauthorized: authentication required' });
    const bad = await post(init, { authorization: 'Bearer not.a.jwt' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp"');
  });

  test('the SDK client without a token gets the 401 as an error', async () => {
    const client = new Client({ name: 'anon', version: '1' });
    await expect(client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl)))).rejects.toBeInstanceOf(StreamableHTTPError);
  });

  test('protected resource metadata (RFC 9728) at both well-known paths, read by the SDK discovery', async () => {
    const base = `http://127.0.0.1:${r.router.mcpPort}`;
    for (const p of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const meta = OAuthProtectedResourceMetadataSchema.parse(await (await fetch(base + p)).json());
      expect(meta).toMatchObject({ resource: PUBLIC_URL, authorization_servers: [jwks.issuer], bearer_methods_supported: ['header'], scopes_supported: ['demo:all', 'tools:search'] });
    }
    const discovered = await discoverOAuthProtectedResourceMetadata(mcpUrl, { resourceMetadataUrl: `${base}/.well-known/oauth-protected-resource/mcp` });
    expect(discovered.authorization_servers).toEqual([jwks.issuer]);
  });
});

describe('rules: listings per caller, PERMISSION_DENIED elsewhere, changed on disk without a restart', () => {
  test('a search-only token sees search__* only, and is denied demo__echo (existing) and demo__nope (not) alike', async () => {
    const token = await jwks.sign(claims({ scope: 'tools:search' }), 'es-1');
    const tools = await call(r.client, 'ListTools', {}, token);
    expect(tools.tools.map((t: any) => t.name).sort()).toEqual(['search__add', 'search__echo', 'search__fail', 'search__slow', 'search__whoami']);
    expect((await call(r.client, 'ListPrompts', {}, token)).prompts).toEqual([]);
    for (const name of ['demo__echo', 'demo__nope']) {
      const err = await call(r.client, 'CallTool', { name }, token).catch((e) => e);
      expect({ code: err.code, details: err.details }).toEqual({ code: grpc.status.PERMISSION_DENIED, details: `permission denied: tool ${name}` });
    }
    expect((await call(r.client, 'CallTool', { name: 'search__whoami' }, token)).content).toBeDefined();
    const servers = await call(r.client, 'ListServers', {}, token);
    expect(servers.servers.map((s: any) => ({ name: s.name, url: s.url }))).toEqual([{ name: 'search', url: '' }]);
  });

  test('MCP: the same listing; a denied call is 403 insufficient_scope naming the scope that grants it', async () => {
    const token = await jwks.sign(claims({ scope: 'tools:search' }), 'es-1');
    const client = await mcpClient(token);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['search__add', 'search__echo', 'search__fail', 'search__slow', 'search__whoami']);
      const err = await client.callTool({ name: 'demo__echo', arguments: { text: 'x' } }).catch((e) => e);
      expect(err).toBeInstanceOf(StreamableHTTPError);
      expect((err as StreamableHTTPError).code).toBe(403);
      const sid = (client.transport as StreamableHTTPClientTransport).sessionId!;
      const raw = await post({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'demo__echo', arguments: {} } }, { authorization: `Bearer ${token}`, 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION });
      expect(raw.status).toBe(403);
      expect(raw.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="demo:all", resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp"');
      expect(await raw.json()).toEqual({ jsonrpc: '2.0', error: { code: -32000, message: 'Forbidden: permission denied: tool demo__echo' }, id: 7 });
    } finally {
      await client.close();
    }
  });

  test('a claim rule grants resources by URI', async () => {
    const token = await jwks.sign(claims({ groups: ['readers'] }), 'es-1');
    expect((await call(r.client, 'ListResources', {}, token)).resources.map((x: any) => x.uri)).toEqual(['demo://demo/readme']);
    expect((await call(r.client, 'ReadResource', { uri: 'demo://demo/readme' }, token)).contents).toBeDefined();
    expect((await call(r.client, 'ReadResource', { uri: 'demo://search/readme' }, token).catch((e) => e)).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await call(r.client, 'ReadResource', { uri: 'demo://nowhere/x' }, token).catch((e) => e)).code).toBe(grpc.status.PERMISSION_DENIED);
  });

  test('a changed rules file takes effect without a restart; a broken one keeps the last good rules', async () => {
    const token = await jwks.sign(claims({ scope: 'tools:search' }), 'es-1');
    try {
      fs.writeFileSync(rulesFile, JSON.stringify({ rules: [...RULES.rules, { match: { subject: 'alice' }, allow: { tools: ['demo__echo'] } }] }));
      expect(await eventually(async () => (await call(r.client, 'ListTools', {}, token)).tools.some((t: any) => t.name === 'demo__echo'), 5_000)).toBe(true);
      fs.writeFileSync(rulesFile, '{ "rules": [ { "match": { "scope": "x", "anyone": true }, "allow": {} } ] }');
      expect(await eventually(async () => (await metric('mcp_router_auth_reloads_total', 'source="rules",outcome="failed"')) > 0, 5_000)).toBe(true);
      expect((await call(r.client, 'ListTools', {}, token)).tools.some((t: any) => t.name === 'demo__echo')).toBe(true);
    } finally {
      fs.writeFileSync(rulesFile, JSON.stringify(RULES));
    }
    expect(await eventually(async () => !(await call(r.client, 'ListTools', {}, token)).tools.some((t: any) => t.name === 'demo__echo'), 5_000)).toBe(true);
  });
});

describe('API keys: hashes on disk, revocation without a restart', () => {
  test('a key works until its entry is revoked, then is UNAUTHENTICATED on both doors', async () => {
    expect((await call(r.client, 'ListTools', {}, old.key)).tools.map((t: any) => t.name)).toContain('demo__echo');
    fs.writeFileSync(keysFile, JSON.stringify({ keys: [ci.entry, { ...old.entry, revoked: true }] }));
    try {
      expect(await eventually(async () => (await call(r.client, 'ListTools', {}, old.key).catch((e) => e)).code === grpc.status.UNAUTHENTICATED, 5_000)).toBe(true);
      const res = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }, { authorization: `Bearer ${old.key}` });
      expect(res.status).toBe(401);
      expect((await call(r.client, 'ListTools', {}, ci.key)).tools.length).toBe(5);
    } finally {
      fs.writeFileSync(keysFile, JSON.stringify({ keys: [ci.entry, old.entry] }));
    }
  });
});

describe('internals: backend URLs, raw errors and reflection for the admin scope only', () => {
  test('ListServers: the admin sees URLs; others see names and health', async () => {
    const admin = await jwks.sign(claims({ scope: 'mcp:admin' }), 'es-1');
    const user = await jwks.sign(claims({ scope: 'demo:all tools:search' }), 'es-1');
    const a = await call(r.client, 'ListServers', {}, admin);
    expect(a.servers.map((s: any) => s.url).sort()).toEqual([demo.url, search.url].sort());
    const u = await call(r.client, 'ListServers', {}, user);
    expect(u.servers.map((s: any) => [s.name, s.url, s.healthy])).toEqual(expect.arrayContaining([['demo', '', true], ['search', '', true]]));
  });

  test('a backend down: the admin reads the raw error, others a generic reason and an UNAVAILABLE without addresses', async () => {
    const admin = await jwks.sign(claims({ scope: 'mcp:admin' }), 'es-1');
    const user = await jwks.sign(claims({ scope: 'tools:search' }), 'es-1');
    const port = search.port;
    await search.close();
    try {
      const userErr = await call(r.client, 'CallTool', { name: 'search__whoami' }, user).catch((e) => e);
      expect(userErr.code).toBe(grpc.status.UNAVAILABLE);
      expect(userErr.details).toBe('the MCP server is unavailable');
      const adminErr = await call(r.client, 'CallTool', { name: 'search__whoami' }, admin).catch((e) => e);
      expect(adminErr.details).toMatch(/ECONNREFUSED 127\.0\.0\.1/);
      const u = (await call(r.client, 'ListServers', {}, user)).servers.find((s: any) => s.name === 'search');
      expect({ url: u.url, lastError: u.lastError }).toEqual({ url: '', lastError: 'unavailable' });
      const a = (await call(r.client, 'ListServers', {}, admin)).servers.find((s: any) => s.name === 'search');
      expect(a.lastError).toMatch(/ECONNREFUSED/);
      // The admin port has them for operators, without a token.
      const internal = (await (await fetch(`http://127.0.0.1:${r.router.metricsPort}/internal/servers`)).json()) as { servers: Array<{ name: string; lastError: string }> };
      expect(internal.servers.find((s) => s.name === 'search')?.lastError).toMatch(/ECONNREFUSED/);
    } finally {
      search = await startDemoServer({ name: 'search', port });
    }
  });

  test('reflection: PERMISSION_DENIED for a user, UNAUTHENTICATED without a token, the service list for the admin', async () => {
    const reflect = (token?: string) =>
      new Promise<any>((resolve, reject) => {
        const Ctor = grpc.makeGenericClientConstructor({}, 'x');
        const client = new Ctor(r.target, grpc.credentials.createInsecure());
        const stream = client.makeBidiStreamRequest(
          '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
          (x: Buffer) => x,
          (x: Buffer) => x,
          md(token),
        );
        const chunks: Buffer[] = [];
        stream.on('data', (d: Buffer) => chunks.push(d));
        stream.on('error', (e: Error) => {
          client.close();
          reject(e);
        });
        stream.on('end', () => {
          client.close();
          resolve(Buffer.concat(chunks).toString('latin1'));
        });
        // ServerReflectionRequest { list_services = 7: "" }
        stream.write(Buffer.from([0x3a, 0x00]));
        stream.end();
      });
    expect(await reflect(await jwks.sign(claims({ scope: 'mcp:admin' }), 'es-1'))).toContain('mcp.router.v1.McpRouter');
    expect((await reflect(await jwks.sign(claims({ scope: 'demo:all' }), 'es-1')).catch((e) => e)).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await reflect().catch((e) => e)).code).toBe(grpc.status.UNAUTHENTICATED);
  });

  test('health stays open: HAProxy and Consul check it without a token', async () => {
    const res = await new Promise<any>((resolve, reject) => {
      const Ctor = grpc.makeGenericClientConstructor({}, 'x');
      const client = new Ctor(r.target, grpc.credentials.createInsecure());
      client.makeUnaryRequest('/grpc.health.v1.Health/Check', (x: Buffer) => x, (x: Buffer) => x, Buffer.alloc(0), (err: Error | null, v?: Buffer) => {
        client.close();
        if (err) reject(err);
        else resolve(v);
      });
    });
    expect(Buffer.from(res)).toEqual(Buffer.from([0x08, 0x01])); // status: SERVING
  });
});

describe('sessions belong to the caller who opened them', () => {
  test("another caller's session ID is an unknown session (404)", async () => {
    const alice = await jwks.sign(claims({ scope: 'demo:all' }), 'es-1');
    const bob = await jwks.sign(claims({ sub: 'bob', scope: 'demo:all' }), 'es-1');
    const client = await mcpClient(alice);
    try {
      const sid = (client.transport as StreamableHTTPClientTransport).sessionId!;
      const h = { 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
      expect((await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...h, authorization: `Bearer ${alice}` })).status).toBe(200);
      expect((await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...h, authorization: `Bearer ${bob}` })).status).toBe(404);
    } finally {
      await client.close();
    }
  });
});

describe('rate limit per identity', () => {
  let limited: RouterUnderTest;
  let key: ReturnType<typeof newApiKey>;
  let other: ReturnType<typeof newApiKey>;
  beforeAll(async () => {
    key = newApiKey('busy', ['demo:all']);
    other = newApiKey('calm', ['demo:all']);
    const file = path.join(dir, 'limited-keys.json');
    fs.writeFileSync(file, JSON.stringify({ keys: [key.entry, other.entry] }));
    limited = await routerFor([{ name: 'demo', url: demo.url }], {
      MCP_ROUTER_AUTH: 'apiKeys',
      MCP_ROUTER_AUTH_API_KEYS_FILE: file,
      MCP_ROUTER_RATE_LIMIT_RPS: '0.5',
      MCP_ROUTER_RATE_LIMIT_BURST: '3',
    });
  });
  afterAll(async () => limited?.close());

  test('the burst passes, then RESOURCE_EXHAUSTED with retry-after; another identity is not affected; MCP answers 429 with Retry-After', async () => {
    const client = createRouterClient(limited.target);
    try {
      for (let i = 0; i < 3; i++) await call(client, 'ListTools', {}, key.key);
      const err: grpc.ServiceError = await call(client, 'ListTools', {}, key.key).catch((e) => e);
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(err.details).toMatch(/^rate limit exceeded; retry after [12] s$/);
      expect(err.metadata.get('retry-after')).toEqual([expect.stringMatching(/^[12]$/)]);
      expect((await call(client, 'ListTools', {}, other.key)).tools.length).toBe(5);
      const res = await fetch(`http://127.0.0.1:${limited.router.mcpPort}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${key.key}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
      });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toMatch(/^[12]$/);
    } finally {
      client.close();
    }
  });
});
