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
import { randomLoopbackPrefix } from '../support/consul-cluster';
import { DemoServerHandle, startDemoServer, struct } from '../support/demo-backends';
import { requireTool } from '../support/tools';

jest.setTimeout(300_000);

let platform: AclPlatform;
let external: DemoServerHandle;
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
  platform = new AclPlatform({
    prefix,
    externalMcpServers: [{ name: 'saas', url: external.url, tlsServerName: 'mcp.internal' }],
    routerEnv: { MCP_BACKEND_CA_FILE: path.join(tls, 'ca.pem') },
  });
  await platform.start();
  report('ACL platform up (ms)', platform.timings);
}, 240_000);

afterAll(async () => {
  await platform?.close();
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
