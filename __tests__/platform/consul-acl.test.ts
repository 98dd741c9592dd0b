/**
 * Consul locked down, for real: a 3-server Consul 1.8.7 cluster on loopback
 * with ACLs on and default deny, running the agent configs and token files of
 * the synthesized plans, with the platform plan's consul_* resources applied
 * through Consul's HTTP API (the policies under test are the deployed ones);
 * two routers and a demo MCP server, each with its own client agent and the
 * token its container gets; HAProxy asking every server for DNS; and an
 * external MCP server (HTTPS, private CA) declared in the plan's catalogue.
 * Then: what is denied without a token or with a backend's token, the token
 * on every Consul call, the README's registration with the operator token,
 * the leader SIGKILLed under load, and the majority lost and back (in that
 * order: the last two change the cluster).
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
import { SteadyLoad } from '../../scripts/local-platform/steady-load';

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
    await platform.waitForUpRouters(2, 60_000);
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
}, 150_000);

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

test("the README's registration snippet with the operator token (from the plan) registers an MCP server the routers call; without a token it gets 403", async () => {
  const mgmt = platform.managementToken;
  const agent1 = platform.routerAgents[0];
  // The operator token's accessor, as the consul_operator_token_accessor output gives it; its secret read with the management token, as the README says.
  const opName = Object.keys(platform.platformPlan.resource.consul_acl_token).find((k) => k.includes('OperatorToken'))!;
  const [accessor] = await platform.applier.evaluate([{ template: `\${consul_acl_token.${opName}.id}` }]);
  const op = await agent1.call(`/v1/acl/token/${accessor}`, { token: mgmt });
  expect(op.status).toBe(200);
  const operatorToken = String(op.body.SecretID);
  const search = await startDemoServer({ name: 'search', host: platform.address('demo').replace(/\.\d+$/, '.53') });
  try {
    const readme = fs.readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
    const curl = /```bash\n(curl -X PUT -H "X-Consul-Token: \$CONSUL_HTTP_TOKEN" http:\/\/127\.0\.0\.1:8500\/v1\/agent\/service\/register[\s\S]*?)```/.exec(readme.slice(readme.indexOf('### Register your own MCP server')))?.[1];
    expect(curl).toBeDefined();
    const u = new URL(search.url);
    const body = /-d '([\s\S]*?)'\n/.exec(curl!)![1].replace(/10\.0\.0\.7:3000/g, `${u.hostname}:${u.port}`).replace(/10\.0\.0\.7/g, u.hostname).replace(/3000/g, u.port);
    const denied = await agent1.call('/v1/agent/service/register', { method: 'PUT', body });
    expect(denied.status).toBe(403);
    const ok = await agent1.call('/v1/agent/service/register', { method: 'PUT', token: operatorToken, body });
    expect(ok.status).toBe(200);
    const client = createRouterClient(platform.endpoint);
    try {
      await waitUntil('search tools through HAProxy', async () => ((await unary(client, 'ListTools', {}, 5_000).catch(() => ({ tools: [] }))).tools as any[]).some((t) => t.name === 'search__echo'), 30_000, 250);
      const res = await unary(client, 'CallTool', echo('search', 'by hand'), 10_000);
      expect(JSON.stringify(res.content)).toContain('by hand');
    } finally {
      client.close();
    }
    // The operator token is no management token: it may not administer ACLs.
    expect((await agent1.call('/v1/acl/tokens', { token: operatorToken })).status).toBe(403);
    expect((await agent1.call('/v1/agent/service/deregister/search-1', { method: 'PUT' })).status).toBe(403);
    expect((await agent1.call('/v1/agent/service/deregister/search-1', { method: 'PUT', token: operatorToken })).status).toBe(200);
    report('README registration with the operator token', { withoutToken: denied.status, withOperatorToken: ok.status });
  } finally {
    await search.close();
  }
});

const consulState = async (i: number): Promise<string | undefined> =>
  /mcp_router_consul_state\{state="([a-z-]+)"\} 1\b/.exec(await platform.metrics(i))?.[1];
/** A router log line (pino JSON) containing `text`, logged at or after `since` (epoch ms). */
const logged = (text: string, since: number) => (l: string) => {
  if (!l.includes(text)) return false;
  try {
    return Date.parse(JSON.parse(l).time) >= since;
  } catch {
    return false;
  }
};
const demoEcho = { name: 'demo__echo', arguments: struct({ text: 'through a Consul fault' }) };

test('SIGKILL of the Consul leader under 4-way load: a new leader is elected and the platform keeps serving with 0 failed calls; a minority down is survived', async () => {
  const mgmt = platform.managementToken;
  const cluster = platform.cluster;
  const leader = await cluster.waitForLeader(30_000);
  const load = new SteadyLoad({ target: platform.endpoint, method: 'CallTool', request: demoEcho, concurrency: 4, maxCalls: 200_000, maxDurationMs: 90_000 });
  try {
    await waitUntil('load running', async () => load.count >= 50, 15_000, 50);
    const killedAt = Date.now();
    await leader.stop('SIGKILL');
    expect(leader.running).toBe(false);
    const next = await cluster.waitForLeader(30_000, leader);
    const electionMs = Date.now() - killedAt;
    expect(next).not.toBe(leader);
    // With a minority (1 of 3) down: registrations still work (router 1's checks keep passing, a
    // change made now is visible in the catalogue), the routers see a leader again, calls go on.
    const live = cluster.servers.find((s) => s.running)!;
    const put = await live.call('/v1/kv/platform/after-failover', { method: 'PUT', token: mgmt, body: 'ok' });
    expect(put.status).toBe(200);
    for (const i of [1, 2]) await waitUntil(`router ${i} reports a leader`, async () => (await consulState(i)) === 'leader', 15_000, 200);
    const passing = ((await live.call('/v1/health/service/mcp-router?passing=true', { token: mgmt })).body as any[]).length;
    expect(passing).toBe(2);
    const callsAtElection = load.count;
    await waitUntil('more calls after the election', async () => load.count >= callsAtElection + 200, 30_000, 100);
    const result = await load.stop();
    report('leader SIGKILL under 4-way load', {
      killed: leader.options.name,
      newLeader: next.options.name,
      electionMs,
      calls: result.records.length,
      failedCalls: result.failed,
      byRouter: result.byRouter,
      firstFailures: result.failures.slice(0, 3),
    });
    expect(result.records.length).toBeGreaterThan(250);
    expect(result.failed).toBe(0);
    expect(Object.keys(result.byRouter).sort()).toHaveLength(2);
  } finally {
    await load.stop();
  }
  // The killed server comes back (same address and data) and rejoins.
  leader.start();
  await waitUntil('3 servers in the raft configuration again', async () => {
    const r = await cluster.servers.find((s) => s !== leader)!.call('/v1/operator/raft/configuration', { token: mgmt });
    return r.status === 200 && (r.body.Servers as any[]).filter((s) => s.Voter).length === 3;
  }, 30_000, 200);
  await cluster.waitForLeader(30_000);
});

test('losing the majority of the servers is reported in the routers\' logs and metrics, and calls are still served from the last-known catalogue; a leader again is reported too', async () => {
  const cluster = platform.cluster;
  const leader = await cluster.waitForLeader(30_000);
  const followers = cluster.servers.filter((s) => s !== leader);
  const victims = [leader, followers[0]];
  const survivor = followers[1];
  const routers = [1, 2].map((i) => platform.routers.get(i)!);
  const load = new SteadyLoad({ target: platform.endpoint, method: 'CallTool', request: demoEcho, concurrency: 4, maxCalls: 200_000, maxDurationMs: 90_000 });
  let downAt = 0;
  try {
    await waitUntil('load running', async () => load.count >= 50, 15_000, 50);
    downAt = Date.now();
    await Promise.all(victims.map((s) => s.stop('SIGKILL')));
    // No leader any more: the survivor says so, and so does every router (log line and metric).
    await waitUntil('the surviving server has no leader', async () => (await survivor.leader()) === '', 30_000, 200);
    const lines = await Promise.all(routers.map((r) => r.waitForLine(logged('Consul cluster has no leader', downAt), 30_000, '"Consul cluster has no leader" log line')));
    const reportedMs = Date.now() - downAt;
    for (const l of lines) {
      const entry = JSON.parse(l);
      expect(entry.consulState).toBe('no-leader');
      expect(entry.backends).toBeGreaterThanOrEqual(2); // demo + saas, still served
    }
    // (In the first moments a client agent may still reach a server that has not yet noticed the
    // leader is gone, so the state may flap once; it must settle at no-leader.)
    for (const i of [1, 2]) await waitUntil(`router ${i} metric says no-leader`, async () => (await consulState(i)) === 'no-leader', 15_000, 200);
    // Calls keep going, from the last-known catalogue, for a while with no leader.
    const before = load.count;
    const noLeaderSince = Date.now();
    await waitUntil('200 more calls and 3 s without a leader', async () => load.count >= before + 200 && Date.now() - noLeaderSince >= 3_000, 30_000, 100);
    expect(await survivor.leader()).toBe('');
    for (const i of [1, 2]) expect(await consulState(i)).toBe('no-leader');
    const transitions = routers.map((r) => r.tail(200).split('\n').filter((l) => logged('consulState', downAt)(l)).map((l) => JSON.parse(l).consulState));
    const result = await load.stop();
    const client = createRouterClient(platform.endpoint);
    try {
      const tools = (await unary(client, 'ListTools', {}, 5_000)).tools.map((t: any) => t.name);
      expect(tools).toEqual(expect.arrayContaining(['demo__echo', 'saas__echo']));
    } finally {
      client.close();
    }
    report('majority of Consul servers down under 4-way load', {
      killed: victims.map((s) => s.options.name),
      reportedMs,
      calls: result.records.length,
      callsWithoutLeader: result.records.length - before,
      withoutLeaderMs: Date.now() - noLeaderSince,
      routerStateChanges: transitions,
      failedCalls: result.failed,
      firstFailures: result.failures.slice(0, 3),
    });
    expect(result.failed).toBe(0);
  } finally {
    await load.stop();
  }
  // The servers come back: a leader again, and the routers report it (log line with how long it lasted, metric).
  for (const s of victims) s.start();
  const recoveredAt = Date.now();
  await cluster.waitForLeader(60_000);
  for (const i of [1, 2]) {
    const line = await platform.routers.get(i)!.waitForLine(logged('Consul cluster has a leader again', recoveredAt), 30_000, '"leader again" log line');
    expect(JSON.parse(line).degradedMs).toBeGreaterThan(0);
    await waitUntil(`router ${i} metric back to leader`, async () => (await consulState(i)) === 'leader', 15_000, 200);
  }
  report('majority back', { leaderAgainMs: Date.now() - recoveredAt });
});
