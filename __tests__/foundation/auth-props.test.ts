/**
 * Who may call what, as construct props: what the routers and HAProxy get,
 * the defaults of a new deployment (public doors on 127.0.0.1 without auth,
 * a loud synth warning when they are opened without it, a default rate limit
 * with auth), bad props refused by name, a snapshot, no secret in the plan,
 * and the stats-auth haproxy.cfg checked by the real HAProxy.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdktf';
import { InternalsVisibility, JwtAlgorithm, McpRouterPlatformProps, RateLimitScope } from '../../constructs';
import { McpRouterStack, McpRouterStackProps } from '../../main';
import { requireTool } from '../support/tools';
import { containers, haproxyCfgOf, REPO_OUTDIR, synthString } from './synth-helpers';

const AUTH: McpRouterPlatformProps['auth'] = {
  jwt: { issuer: 'https://auth.example.com', jwksUrl: 'https://auth.example.com/.well-known/jwks.json', algorithms: [JwtAlgorithm.ES256, JwtAlgorithm.RS256], clockToleranceSeconds: 20 },
  apiKeysHostPath: '/etc/mcp/api-keys.json',
  publicUrl: 'https://mcp.example.com/mcp',
  rulesHostPath: '/etc/mcp/rules.json',
};

/** The one-stack layout (acl: false), as these props are about auth; auth with Consul ACLs: consul-cluster-acl.test.ts. */
function synthWith(props: McpRouterStackProps): { json: any; text: string; warnings: string[] } {
  const app = Testing.app({ outdir: REPO_OUTDIR });
  const stack = new McpRouterStack(app, 'test', { dockerHost: 'unix:///var/run/docker.sock', instanceCount: 2, acl: false, ...props });
  const text = Testing.synth(stack);
  const warnings = stack.platform.node.metadata.filter((m) => /warn/i.test(m.type)).map((m) => String(m.data));
  return { json: JSON.parse(text), text, warnings };
}

const routerOf = (json: any) => Object.values(containers(json)).find((c: any) => String(c.name).includes('router')) as any;
const haproxyOf = (json: any) => Object.values(containers(json)).find((c: any) => String(c.name).includes('haproxy')) as any;

describe('auth props reach the routers and HAProxy', () => {
  const { json, warnings } = synthWith({ auth: AUTH, statsAuthHostPath: '/etc/mcp/stats-users.cfg', backendCredentialsHostDir: '/etc/mcp/backend-credentials' });
  const router = routerOf(json);
  const haproxy = haproxyOf(json);

  test('router env: methods, public URL, JWT settings, files at their container paths, the default rate limit', () => {
    expect(router.env).toEqual(
      expect.arrayContaining([
        'MCP_ROUTER_AUTH=jwt,apiKeys',
        'MCP_ROUTER_PUBLIC_URL=https://mcp.example.com/mcp',
        'MCP_ROUTER_AUTH_JWT_ISSUER=https://auth.example.com',
        'MCP_ROUTER_AUTH_JWT_JWKS_URL=https://auth.example.com/.well-known/jwks.json',
        'MCP_ROUTER_AUTH_JWT_ALGORITHMS=ES256,RS256',
        'MCP_ROUTER_AUTH_JWT_CLOCK_TOLERANCE_S=20',
        'MCP_ROUTER_AUTH_API_KEYS_FILE=/run/mcp-router/auth/api-keys.json',
        'MCP_ROUTER_AUTH_RULES_FILE=/run/mcp-router/auth/rules.json',
        'MCP_BACKEND_CREDENTIALS_DIR=/run/mcp-router/backend-credentials',
        'MCP_ROUTER_RATE_LIMIT_RPS=100',
        'MCP_ROUTER_RATE_LIMIT_BURST=200',
      ]),
    );
    expect(router.volumes).toEqual(
      expect.arrayContaining([
        { host_path: '/etc/mcp/api-keys.json', container_path: '/run/mcp-router/auth/api-keys.json', read_only: true },
        { host_path: '/etc/mcp/rules.json', container_path: '/run/mcp-router/auth/rules.json', read_only: true },
        { host_path: '/etc/mcp/backend-credentials', container_path: '/run/mcp-router/backend-credentials', read_only: true },
      ]),
    );
  });

  test('with auth the public doors open to the network by default, and nothing is warned about', () => {
    expect(haproxy.ports.filter((p: any) => p.internal !== 8404).map((p: any) => p.ip)).toEqual(['0.0.0.0', '0.0.0.0']);
    expect(warnings).toEqual([]);
  });

  test('stats auth: the userlist file is mounted and loaded first, the config names it, the health check uses the open /healthz', () => {
    expect(haproxy.command).toEqual(['haproxy', '-f', '/usr/local/etc/haproxy/stats-users.cfg', '-f', '/run/haproxy/haproxy.cfg']);
    expect(haproxy.volumes).toEqual([{ host_path: '/etc/mcp/stats-users.cfg', container_path: '/usr/local/etc/haproxy/stats-users.cfg', read_only: true }]);
    const cfg: string = haproxyCfgOf(haproxy);
    expect(cfg).toContain('http-request auth realm "MCP router platform" unless { http_auth(mcp_stats_users) }');
    expect(cfg.indexOf('if { path /healthz }')).toBeLessThan(cfg.indexOf('http_auth(mcp_stats_users)'));
    expect(cfg.indexOf('http_auth(mcp_stats_users)')).toBeLessThan(cfg.indexOf('prometheus-exporter'));
    expect(haproxy.healthcheck.test).toEqual(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8404/healthz']);
  });

  test('the routers\' admin port (/metrics) is published nowhere', () => {
    expect(JSON.stringify(router.ports ?? [])).not.toContain('9464');
    for (const c of Object.values(containers(json)) as any[]) expect((c.ports ?? []).map((p: any) => p.internal)).not.toContain(9464);
  });

  test('snapshot', () => {
    expect(json).toMatchSnapshot();
  });
});

test('rate limit: given, or turned off with 0; internals and scope pass through', () => {
  const { json } = synthWith({ auth: { ...AUTH, internals: InternalsVisibility.EVERYONE, rateLimit: { requestsPerSecond: 5, burst: 7, scope: RateLimitScope.ROUTER } } });
  expect(routerOf(json).env).toEqual(expect.arrayContaining(['MCP_ROUTER_RATE_LIMIT_RPS=5', 'MCP_ROUTER_RATE_LIMIT_BURST=7', 'MCP_ROUTER_RATE_LIMIT_SCOPE=router', 'MCP_ROUTER_INTERNALS=everyone']));
  const off = synthWith({ auth: { ...AUTH, rateLimit: { requestsPerSecond: 0 } } });
  expect(routerOf(off.json).env).toContain('MCP_ROUTER_RATE_LIMIT_RPS=0');
});

describe('a new deployment without auth', () => {
  test('keeps the public doors on 127.0.0.1 and says nothing', () => {
    const { json, warnings } = synthWith({});
    expect(haproxyOf(json).ports.map((p: any) => p.ip)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    expect(routerOf(json).env).toContain('MCP_ROUTER_AUTH=none');
    expect(warnings).toEqual([]);
  });

  test('opened to the network without auth: a loud warning at synth', () => {
    const { warnings } = synthWith({ publicBindAddress: '0.0.0.0' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/NO AUTHENTICATION on a public address: publicBindAddress is 0\.0\.0\.0 .*anyone who can reach 0\.0\.0\.0 may call every tool/);
  });

  test('a loopback address other than 127.0.0.1 is no reason to warn', () => {
    expect(synthWith({ publicBindAddress: '127.0.0.2' }).warnings).toEqual([]);
  });
});

describe('bad auth props fail at synth, naming the prop', () => {
  test.each([
    ['empty auth', { auth: {} }, /McpRouterPlatform: auth must be given with jwt and\/or apiKeysHostPath/],
    ['jwt without publicUrl', { auth: { jwt: AUTH!.jwt } }, /McpRouterPlatform: auth\.publicUrl must be the platform's public MCP URL/],
    ['jwt with both key sources', { auth: { ...AUTH, jwt: { ...AUTH!.jwt!, publicKeyHostPath: '/etc/k.pem' } } }, /auth\.jwt\.jwksUrl must be given, or else jwt\.publicKeyHostPath \(exactly one of them\)/],
    ['jwt with neither key source', { auth: { ...AUTH, jwt: { issuer: 'x' } } }, /auth\.jwt\.jwksUrl must be given, or else jwt\.publicKeyHostPath/],
    ['HS256', { auth: { ...AUTH, jwt: { ...AUTH!.jwt!, algorithms: ['HS256'] } } }, /auth\.jwt\.algorithms must be one of RS256.*never accepted\); received "HS256"/],
    ['alg none', { auth: { ...AUTH, jwt: { ...AUTH!.jwt!, algorithms: ['none'] } } }, /auth\.jwt\.algorithms must be .*never accepted\); received "none"/],
    ['unknown alg', { auth: { ...AUTH, jwt: { ...AUTH!.jwt!, algorithms: ['RS1'] } } }, /auth\.jwt\.algorithms must be one of RS256.*received "RS1"/],
    ['jwks over ftp', { auth: { ...AUTH, jwt: { ...AUTH!.jwt!, jwksUrl: 'ftp://x/jwks' } } }, /auth\.jwt\.jwksUrl must be an absolute http\(s\) URL/],
    ['clock tolerance 301', { auth: { ...AUTH, jwt: { ...AUTH!.jwt!, clockToleranceSeconds: 301 } } }, /auth\.jwt\.clockToleranceSeconds must be an integer from 0 to 300; received 301/],
    ['relative api keys path', { auth: { apiKeysHostPath: 'keys.json' } }, /auth\.apiKeysHostPath must be an absolute path of the API keys file on the Docker host; received "keys.json"/],
    ['two rules sources', { auth: { ...AUTH, rulesConsulKey: 'mcp/rules' } }, /auth\.rulesConsulKey must be left unset when rulesHostPath is given/],
    ['bad Consul key', { auth: { apiKeysHostPath: '/k.json', rulesConsulKey: '../x' } }, /auth\.rulesConsulKey must be a relative Consul KV key/],
    ['negative rate', { auth: { ...AUTH, rateLimit: { requestsPerSecond: -1 } } }, /auth\.rateLimit\.requestsPerSecond must be a number of requests per second from 0/],
    ['bad burst', { auth: { ...AUTH, rateLimit: { requestsPerSecond: 1, burst: 0.5 } } }, /auth\.rateLimit\.burst must be an integer from 1/],
    ['unknown internals', { auth: { ...AUTH, internals: 'all' } }, /auth\.internals must be one of admin, everyone; received "all"/],
    ['admin scope with a space', { auth: { ...AUTH, adminScope: 'mcp admin' } }, /auth\.adminScope must be a scope of 1-128 printable characters/],
    ['relative stats auth path', { statsAuthHostPath: 'users.cfg' }, /McpRouterPlatform: statsAuthHostPath must be an absolute path of a file on the Docker host holding the HAProxy userlist mcp_stats_users/],
    ['relative credentials dir', { backendCredentialsHostDir: 'creds' }, /McpRouterPlatform: backendCredentialsHostDir must be an absolute path of a directory/],
    ['auth env through routerEnvironment', { routerEnvironment: { MCP_ROUTER_AUTH: 'none' } }, /McpRouterPlatform: routerEnvironment\.MCP_ROUTER_AUTH must be left unset/],
  ])('%s', (_name, props, message) => {
    expect(() => synthWith(props as McpRouterStackProps)).toThrow(message);
  });
});

test('no secret in the plan: the files with keys, hashes, rules and backend credentials are only named by path', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-secrets-'));
  const secrets = {
    apiKeyHash: 'a'.repeat(63) + 'f',
    statsHash: '$6$saltsalt$SECRETSTATSHASH',
    backendToken: 'Bearer backend-secret-token-0123456789',
    rulesMarker: 'rules-marker-scope-xyz',
  };
  fs.writeFileSync(path.join(dir, 'api-keys.json'), JSON.stringify({ keys: [{ id: 'ci', sha256: secrets.apiKeyHash }] }));
  fs.writeFileSync(path.join(dir, 'stats-users.cfg'), `userlist mcp_stats_users\n    user admin password ${secrets.statsHash}\n`);
  fs.mkdirSync(path.join(dir, 'creds'));
  fs.writeFileSync(path.join(dir, 'creds', 'search.json'), JSON.stringify({ headers: { Authorization: secrets.backendToken } }));
  fs.writeFileSync(path.join(dir, 'rules.json'), JSON.stringify({ rules: [{ match: { scope: secrets.rulesMarker }, allow: { namespaces: ['*'] } }] }));
  try {
    const text = synthString({
      instanceCount: 1,
      auth: { ...AUTH, apiKeysHostPath: path.join(dir, 'api-keys.json'), rulesHostPath: path.join(dir, 'rules.json') },
      statsAuthHostPath: path.join(dir, 'stats-users.cfg'),
      backendCredentialsHostDir: path.join(dir, 'creds'),
    });
    for (const s of Object.values(secrets)) expect(text).not.toContain(s);
    expect(text).toContain(path.join(dir, 'api-keys.json'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the stats-auth haproxy.cfg passes the real HAProxy check with a userlist file, and fails without one', () => {
  const { json } = synthWith({ statsAuthHostPath: '/etc/mcp/stats-users.cfg' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stats-auth-'));
  try {
    const cfg = path.join(dir, 'haproxy.cfg');
    // The plan's nameserver is the Consul container's name; HAProxy resolves it at check time.
    fs.writeFileSync(cfg, haproxyCfgOf(haproxyOf(json)).replace(/nameserver consul1 \S+/, 'nameserver consul1 127.0.0.1:8600'));
    const users = path.join(dir, 'users.cfg');
    fs.writeFileSync(users, 'userlist mcp_stats_users\n    user admin password $6$x$y\n');
    const haproxy = requireTool('haproxy');
    expect(() => execFileSync(haproxy, ['-c', '-f', users, '-f', cfg], { stdio: 'pipe' })).not.toThrow();
    expect(() => execFileSync(haproxy, ['-c', '-f', cfg], { stdio: 'pipe' })).toThrow(/unable to find userlist 'mcp_stats_users'/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
