/**
 * Credentials never leak upstream: a client's token never reaches an MCP
 * backend, and each backend gets its own static headers from a secret file,
 * named in MCP_BACKENDS or in its Consul registration (a real agent) — but
 * only for the namespace (and host) the file allows, so a registration cannot
 * pull another server's secret to an address of its choosing. Rotated files
 * take effect without a restart.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { McpRouterClient } from '../../scripts/local-platform/router-client';
import { ConsulAgent, startConsulAgent } from '../support/consul-agent';
import { DemoServerHandle, discoveringRouterEnv, eventually, routerFor, RouterUnderTest, startDemoServer } from '../support/demo-backends';
import { newApiKey } from '../support/auth';

jest.setTimeout(90_000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backend-creds-'));
const credsDir = path.join(dir, 'creds');
const keysFile = path.join(dir, 'keys.json');
const client = newApiKey('agent', ['mcp:admin']);
const VAULT_SECRET = 'vault-secret-1-abcdefghijklmnop';

let consul: ConsulAgent;
let vault: DemoServerHandle;
let safe: DemoServerHandle;
let evil: DemoServerHandle;
let r: RouterUnderTest;

function call<T = any>(c: McpRouterClient, method: keyof McpRouterClient, req: object): Promise<T> {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${client.key}`);
  return new Promise((resolve, reject) => {
    (c[method] as any).call(c, req, md, { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}
const everyHeaderValue = (d: DemoServerHandle) => d.seenHeaders.flatMap((h) => Object.values(h).flatMap((v) => (Array.isArray(v) ? v : [String(v)])));

beforeAll(async () => {
  fs.mkdirSync(credsDir);
  fs.writeFileSync(keysFile, JSON.stringify({ keys: [client.entry] }));
  fs.writeFileSync(path.join(credsDir, 'vault.json'), JSON.stringify({ headers: { 'X-Api-Key': VAULT_SECRET } }));
  fs.writeFileSync(path.join(credsDir, 'safe.json'), JSON.stringify({ headers: { Authorization: 'Bearer safe-upstream-token' }, namespaces: ['safe'], hosts: ['127.0.0.1'] }));
  consul = await startConsulAgent();
  vault = await startDemoServer({ name: 'vault', requiredHeaders: { 'x-api-key': VAULT_SECRET } });
  safe = await startDemoServer({ name: 'safe', requiredHeaders: { authorization: 'Bearer safe-upstream-token' } });
  evil = await startDemoServer({ name: 'evil' });
  const register = (id: string, name: string, d: DemoServerHandle, meta: Record<string, string>) =>
    consul.api('/v1/agent/service/register', { method: 'PUT', body: JSON.stringify({ ID: id, Name: name, Tags: ['mcp-server'], Address: '127.0.0.1', Port: d.port, Meta: meta }) });
  await register('safe-1', 'safe', safe, { mcp_credentials: 'safe' });
  // A registration that names another server's credentials for itself.
  await register('evil-1', 'evil', evil, { mcp_credentials: 'vault' });
  r = await routerFor([{ name: 'vault', url: vault.url, credentials: 'vault' } as never], {
    ...discoveringRouterEnv(consul),
    MCP_BACKEND_DISCOVERY: 'true',
    MCP_BACKENDS: JSON.stringify([{ name: 'vault', url: vault.url, credentials: 'vault' }]),
    MCP_BACKEND_CREDENTIALS_DIR: credsDir,
    MCP_ROUTER_AUTH: 'apiKeys',
    MCP_ROUTER_AUTH_API_KEYS_FILE: keysFile,
    MCP_ROUTER_AUTH_RELOAD_MS: '100',
    LOG_LEVEL: process.env.DEBUG_LOG ?? 'silent',
  }, 2);
});
afterAll(async () => {
  await r?.close();
  for (const d of [vault, safe, evil]) await d?.close();
  await consul?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('MCP_BACKENDS credentials: the backend gets its header, never the client token', async () => {
  const res = await call(r.client, 'CallTool', { name: 'vault__whoami' });
  expect(res.content).toEqual(expect.objectContaining({}));
  expect(vault.seenHeaders.length).toBeGreaterThan(0);
  expect(vault.seenHeaders.every((h) => h['x-api-key'] === VAULT_SECRET)).toBe(true);
  expect(everyHeaderValue(vault).some((v) => v.includes(client.key))).toBe(false);
  expect(vault.seenHeaders.some((h) => h.authorization !== undefined)).toBe(false);
});

test('the MCP door too: the SDK client sends its token to the router; the backend never sees it', async () => {
  const sdk = new Client({ name: 'creds-test', version: '1' });
  await sdk.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${r.router.mcpPort}/mcp`), { requestInit: { headers: { authorization: `Bearer ${client.key}` } } }));
  try {
    const before = vault.seenHeaders.length;
    expect((await sdk.callTool({ name: 'vault__echo', arguments: { text: 'hi' } })).content).toEqual([{ type: 'text', text: 'hi' }]);
    expect(vault.seenHeaders.length).toBeGreaterThan(before);
    expect(everyHeaderValue(vault).some((v) => v.includes(client.key))).toBe(false);
  } finally {
    await sdk.close();
  }
});

test('Consul meta names credentials: sent to the server they are for', async () => {
  expect(await eventually(async () => (await call(r.client, 'ListTools', {})).tools.some((t: any) => t.name === 'safe__whoami'), 10_000)).toBe(true);
  await call(r.client, 'CallTool', { name: 'safe__whoami' });
  expect(safe.seenHeaders.every((h) => h.authorization === 'Bearer safe-upstream-token')).toBe(true);
});

test("a registration naming another server's credentials gets nothing: no call, no secret", async () => {
  const err = await call(r.client, 'CallTool', { name: 'evil__whoami' }).catch((e) => e);
  expect(err.code).toBe(grpc.status.UNAVAILABLE);
  expect(err.details).toMatch(/credentials "vault" are not for namespace "evil"/);
  expect(err.details).not.toContain(VAULT_SECRET);
  expect(everyHeaderValue(evil).some((v) => v.includes(VAULT_SECRET))).toBe(false);
  expect(evil.seenHeaders).toEqual([]);
});

test('a rotated credentials file is used without a restart', async () => {
  const port = vault.port;
  await vault.close();
  vault = await startDemoServer({ name: 'vault', port, requiredHeaders: { 'x-api-key': 'vault-secret-2-abcdefghijklmnop' } });
  fs.writeFileSync(path.join(credsDir, 'vault.json'), JSON.stringify({ headers: { 'X-Api-Key': 'vault-secret-2-abcdefghijklmnop' } }));
  expect(await eventually(async () => (await call(r.client, 'CallTool', { name: 'vault__whoami' }).then(() => true, () => false)), 10_000)).toBe(true);
  expect(vault.seenHeaders.at(-1)?.['x-api-key']).toBe('vault-secret-2-abcdefghijklmnop');
});

test('a credentials file with a header the transport owns, or a CR/LF, is refused by name, never echoing a value', () => {
  const { parseBackendCredentials } = require('../../router-app/src/mcp/backend-credentials') as typeof import('../../router-app/src/mcp/backend-credentials');
  expect(() => parseBackendCredentials('x', JSON.stringify({ headers: { 'Mcp-Session-Id': 'a' } }))).toThrow(/headers\.Mcp-Session-Id: headers the MCP transport sets itself cannot be given/);
  expect(() => parseBackendCredentials('x', JSON.stringify({ headers: { 'X-Key': 'secret\r\nX-Other: 1' } }))).toThrow(/^headers\.X-Key: a header value has no control characters/);
  try {
    parseBackendCredentials('x', JSON.stringify({ headers: { 'X-Key': 'top-secret\n' } }));
  } catch (err) {
    expect((err as Error).message).not.toContain('top-secret');
  }
});
