/**
 * Consul locked down, for real: a 3-server Consul 1.8.7 cluster on loopback
 * with ACLs on and default deny, running the agent configs and token files of
 * the synthesized plans, with the platform plan's consul_* resources applied
 * through Consul's HTTP API (the policies under test are the deployed ones);
 * two routers and a demo MCP server, each with its own client agent and the
 * token its container gets; HAProxy asking every server for DNS; and an
 * external MCP server (HTTPS, private CA) declared in the plan's catalogue.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRouterClient, unary } from '../../scripts/local-platform/router-client';
import { waitUntil } from '../../scripts/local-platform/managed-process';
import { AclPlatform } from '../support/acl-platform';
import { RecordingProxy } from '../support/recording-proxy';
import { randomLoopbackPrefix } from '../support/consul-cluster';
import { DemoServerHandle, startDemoServer, struct } from '../support/demo-backends';
import { requireTool } from '../support/tools';

jest.setTimeout(300_000);

let platform: AclPlatform;
let external: DemoServerHandle;
/** Router 2 talks to its agent through this proxy, which records every request. */
let proxy: RecordingProxy;
let tls: string;
const report = (name: string, value: unknown) => process.stdout.write(`[platform] ${name}: ${JSON.stringify(value)}\n`);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: tls, stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(async () => {
  const prefix = await randomLoopbackPrefix();
  // The external MCP server: HTTPS with a certificate from a private CA for mcp.internal (no IP SAN).
  tls = fs.mkdtempSync(path.join(os.tmpdir(), 'acl-tls-'));
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test MCP CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=mcp.internal');
  fs.writeFileSync(path.join(tls, 'san.ext'), 'subjectAltName=DNS:mcp.internal\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  external = await startDemoServer({
    name: 'saas',
    host: `${prefix}.52`,
    port: 3443,
    tls: { key: fs.readFileSync(path.join(tls, 'server.key'), 'utf8'), cert: fs.readFileSync(path.join(tls, 'server.pem'), 'utf8') },
  });
  requireTool('consul');
  proxy = await RecordingProxy.start(`${prefix}.60`, 8500, { host: `${prefix}.22`, port: 8500 });
  platform = new AclPlatform({
    prefix,
    externalMcpServers: [{ name: 'saas', url: external.url, tlsServerName: 'mcp.internal' }],
    routerEnv: { MCP_BACKEND_CA_FILE: path.join(tls, 'ca.pem') },
    consulHostOverride: (i) => (i === 2 ? proxy.address : undefined),
  });
  expect(platform.address('routerAgent', 2)).toBe(`${prefix}.22`);
  await platform.start();
  report('ACL platform up (ms)', platform.timings);
}, 240_000);

afterAll(async () => {
  await platform?.close();
  await proxy?.close();
  await external?.close();
  if (tls) fs.rmSync(tls, { recursive: true, force: true });
});

const echo = (ns: string, text: string) => ({ name: `${ns}__echo`, arguments: struct({ text }) });

test('routers with their token register, pass their checks, discover backends (the external one over HTTPS) and are answered by DNS', async () => {
  const mgmt = platform.managementToken;
  const s1 = platform.cluster.servers[0];
  await waitUntil('both routers passing', async () => {
    const r = await s1.call('/v1/health/service/mcp-router?passing=true', { token: mgmt });
    return r.status === 200 && r.body.length === 2;
  }, 30_000, 200);
  const entries = (await s1.call('/v1/health/service/mcp-router', { token: mgmt })).body as any[];
  expect(entries.map((e) => e.Node.Node).sort()).toEqual(['mcp-router-agent-1', 'mcp-router-agent-2']);
  for (const e of entries) expect(e.Checks.map((c: any) => c.Status)).toEqual(['passing', 'passing', 'passing']);

  const client = createRouterClient(platform.endpoint);
  try {
    await waitUntil('HAProxy has both routers UP', async () => (await platform.upRouters()) === 2, 30_000, 250);
    await waitUntil('demo and external tools through HAProxy', async () => {
      const tools = (await unary(client, 'ListTools', {}, 5_000).catch(() => ({ tools: [] }))).tools.map((t: any) => t.name);
      return tools.includes('demo__echo') && tools.includes('saas__echo');
    }, 30_000, 250);
    const viaTls = await unary(client, 'CallTool', echo('saas', 'over https'), 10_000);
    expect(viaTls.isError).toBe(false);
    expect(JSON.stringify(viaTls.content)).toContain('over https');
    expect(external.sessions()).toBeGreaterThanOrEqual(1);
  } finally {
    client.close();
  }

  // DNS (HAProxy's view): the anonymous token's policy reads the routers' service, nothing else.
  const dig = requireTool('dig');
  const srv = execFileSync(dig, [`@${s1.address}`, '-p', '8600', '+short', '_mcp-router._tcp.service.consul', 'SRV'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  expect(srv).toHaveLength(2);
  expect(srv.every((l) => / 50051 /.test(l))).toBe(true);
  const other = execFileSync(dig, [`@${s1.address}`, '-p', '8600', '+short', 'demo.service.consul', 'SRV'], { encoding: 'utf8' }).trim();
  expect(other).toBe('');
});

/** What a router's catalogue holds, as its ListServers says. */
async function catalogue(): Promise<string[]> {
  const client = createRouterClient(platform.endpoint);
  try {
    const res = await unary(client, 'ListServers', {}, 5_000);
    return res.servers.map((s: any) => `${s.name}:${s.instances ?? ''}`).sort();
  } finally {
    client.close();
  }
}

test('without a token, or with a backend\'s token, nobody registers an mcp-server, deregisters a router or reads KV (403), and the routers\' catalogue does not change', async () => {
  const mgmt = platform.managementToken;
  const s1 = platform.cluster.servers[0];
  const agent1 = platform.routerAgents[0];
  await s1.call('/v1/kv/platform/secret-setting', { method: 'PUT', token: mgmt, body: 'x' });
  const before = await catalogue();
  const routersBefore = ((await s1.call('/v1/health/service/mcp-router?passing=true', { token: mgmt })).body as any[]).map((e) => e.Service.ID).sort();
  const evil = (name: string) => ({ ID: `${name}-1`, Name: name, Tags: ['mcp-server'], Address: '127.0.0.1', Port: 9, Meta: { namespace: name } });
  const attempts: Array<{ who: string; what: string; status: number }> = [];
  const tryAs = async (who: string, token: string | undefined) => {
    const t = token ? { token } : {};
    for (const [what, target, p, init] of [
      ['register an mcp-server (agent)', agent1, '/v1/agent/service/register', { method: 'PUT', body: evil('evil') }],
      ['register an mcp-server (catalog)', s1, '/v1/catalog/register', { method: 'PUT', body: { Node: 'evil-node', Address: '127.0.0.1', Service: { ID: 'evil-1', Service: 'evil', Tags: ['mcp-server'], Address: '127.0.0.1', Port: 9 } } }],
      ['register a router-named mcp-server', agent1, '/v1/agent/service/register', { method: 'PUT', body: evil('mcp-router') }],
      ['deregister a router (agent)', agent1, `/v1/agent/service/deregister/${platform.routerId(1)}`, { method: 'PUT' }],
      ['deregister a router (catalog)', s1, '/v1/catalog/deregister', { method: 'PUT', body: { Node: 'mcp-router-agent-1', ServiceID: platform.routerId(1) } }],
      ['read KV', s1, '/v1/kv/platform/secret-setting', {}],
      ['list KV', s1, '/v1/kv/?recurse=true', {}],
    ] as const) {
      const r = await (target as typeof s1).call(p as string, { ...(init as object), ...t });
      attempts.push({ who, what: what as string, status: r.status });
    }
  };
  await tryAs('no token', undefined);
  await tryAs("the demo server's token", platform.tokens.demo);
  report('denied attempts', attempts.map((a) => `${a.who}: ${a.what} -> ${a.status}`));
  // Every write and the read of a key: 403. A list is filtered by the token instead: nothing visible (404).
  expect(attempts.filter((a) => a.what !== 'list KV' && a.status !== 403)).toEqual([]);
  expect(attempts.filter((a) => a.what === 'list KV').map((a) => a.status)).toEqual([404, 404]);
  // The routers' token may write its own service only: not an mcp-server under another name, not KV.
  const routerTry = await agent1.call('/v1/agent/service/register', { method: 'PUT', token: platform.tokens.router, body: evil('evil') });
  expect(routerTry.status).toBe(403);
  expect((await s1.call('/v1/kv/platform/secret-setting', { token: platform.tokens.router })).status).toBe(403);
  // Nothing changed: the same routers, passing; the same catalogue in the routers.
  const routersAfter = ((await s1.call('/v1/health/service/mcp-router?passing=true', { token: mgmt })).body as any[]).map((e) => e.Service.ID).sort();
  expect(routersAfter).toEqual(routersBefore);
  expect((await s1.call('/v1/catalog/service/evil', { token: mgmt })).body).toEqual([]);
  expect(await catalogue()).toEqual(before);
  expect(before.some((s) => s.startsWith('evil'))).toBe(false);
});

test('a router sends its token on every Consul call: registration, the keep-registered loop, re-registration, blocking queries, cluster health', async () => {
  const since = Date.now();
  const mgmt = platform.managementToken;
  // Consul loses router 2's registration (deregistered with the management token): it registers again by itself.
  const agent2 = platform.routerAgents[1];
  expect((await agent2.call(`/v1/agent/service/deregister/${platform.routerId(2)}`, { method: 'PUT', token: mgmt })).status).toBe(200);
  await waitUntil('router 2 registered again and passing', async () => {
    const r = await platform.cluster.servers[0].call('/v1/health/service/mcp-router?passing=true', { token: mgmt });
    return (r.body as any[]).some((e) => e.Service.ID === platform.routerId(2));
  }, 30_000, 200);
  const seen = proxy.requests;
  const kinds = (p: string) =>
    p.startsWith('/v1/agent/service/register') ? 'register' : p.startsWith('/v1/agent/services') ? 'agent services' : p.startsWith('/v1/health/service/') && /index=/.test(p) ? 'blocking health query' : p.startsWith('/v1/catalog/services') && /index=/.test(p) ? 'blocking catalog query' : p.startsWith('/v1/status/leader') ? 'cluster health' : p.startsWith('/v1/health/service/') ? 'health query' : p.startsWith('/v1/catalog/services') ? 'catalog query' : p;
  const byKind: Record<string, number> = {};
  for (const r of seen) byKind[kinds(r.path)] = (byKind[kinds(r.path)] ?? 0) + 1;
  report('router 2 → its agent, requests by kind', byKind);
  expect(Object.keys(byKind)).toEqual(expect.arrayContaining(['register', 'agent services', 'blocking health query', 'blocking catalog query', 'cluster health']));
  expect(seen.filter((r) => r.path.startsWith('/v1/agent/service/register') && r.at >= since).length).toBeGreaterThanOrEqual(1);
  const without = seen.filter((r) => r.headers['x-consul-token'] !== platform.tokens.router);
  expect(without.map((r) => `${r.method} ${r.path}`)).toEqual([]);
});
