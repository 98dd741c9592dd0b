/**
 * The Consul cluster and its ACLs in the synthesized plans: 1, 3 and 5
 * servers (bootstrap_expect, retry_join, one published, HAProxy asking every
 * one), a client agent per router and demo server, ACLs on (two stacks in
 * order, policies and tokens with the least each holder needs, secrets only
 * as references) and off, external MCP servers in the catalogue, and no
 * secret anywhere in either plan. Snapshots of both stacks.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack, Testing } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { ConsulAccessControl, ConsulAclPolicies, ConsulCluster, ExternalCheckStatus, ExternalCheckType, ExternalMcpServers, McpRouterPlatform, PropError, RouterFleet } from '../../constructs';
import { dnsPolicyRules, mcpServerPolicyRules, operatorPolicyRules, routerPolicyRules } from '../../constructs/consul-acl-policies';
import { McpRouterStack } from '../../main';
import { byPath, consulCfgOf, haproxyCfgOf, synthApp, synthStack } from './synth-helpers';
import { envFileContent, envFilesOf } from '../support/env-files';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const ANONYMOUS = '00000000-0000-0000-0000-000000000002';
const all = (json: any, type: string) => Object.entries((json.resource?.[type] ?? {}) as Record<string, any>);
const named = (json: any, type: string, part: string) => all(json, type).filter(([k]) => k.includes(part)).map(([, v]) => v);
/** A file the container's entrypoint writes from its environment (constructs/env-files.ts): the content the plan gives it. */
const envFile = (c: any, file: string) => envFileContent(c, file);

describe('snapshots of both stacks', () => {
  test.each([
    ['default app: ACL on, 1 server, two stacks', {}],
    ['ACL on, 3 servers, a demo server', { consulServers: 3, demoBackends: ['demo'] }],
    ['ACL on, 5 servers, 3 routers', { consulServers: 5, instanceCount: 3 }],
    ['ACL on, external MCP servers', { externalMcpServers: [{ name: 'search', url: 'https://search.example.com/mcp' }, { name: 'docs', url: 'http://10.0.0.7:3000/v1/mcp', namespace: 'kb', check: { type: ExternalCheckType.HTTP, path: '/health' } }] }],
  ])('%s', (_name, props) => {
    const { consul, platform, consulText, platformText } = synthApp(props);
    for (const t of [consulText, platformText]) {
      expect(t).not.toMatch(/\/(home|root|tmp|work|Users)\//);
      expect(t).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/);
      // Only the anonymous token's well-known accessor ID may look like a UUID: no secret, no token ID.
      expect(t.replace(new RegExp(ANONYMOUS, 'g'), '')).not.toMatch(UUID);
    }
    expect({ consul, platform }).toMatchSnapshot();
  });

  test('ACL off, 3 servers: one stack', () => {
    const json = synthStack({ consulServers: 3 });
    expect(json.provider.consul).toBeUndefined();
    expect(JSON.stringify(json)).not.toMatch(/"acl"|acl-tokens|consul-token/);
    expect(json).toMatchSnapshot();
  });
});

describe.each([1, 3, 5])('%i Consul server(s), ACL on', (n) => {
  const { consul, platform } = synthApp({ consulServers: n, instanceCount: 2, demoBackends: ['demo'] });
  const servers = all(consul, 'docker_container').map(([, c]) => c);
  const names = n === 1 ? ['mcp-consul'] : Array.from({ length: n }, (_, i) => `mcp-consul-${i + 1}`);

  test('the Consul stack holds the network and the servers; the platform stack the rest', () => {
    expect(servers.map((c) => c.name).sort()).toEqual(names.sort());
    expect(Object.keys(consul.resource.docker_network)).toHaveLength(1);
    expect(platform.resource.docker_network).toBeUndefined();
    expect(all(platform, 'docker_container').some(([, c]) => /consul-\d|mcp-consul$/.test(c.name))).toBe(false);
  });

  test('every server: bootstrap_expect = N, retry_join = all servers, alias consul, ACL default deny with token persistence', () => {
    for (const c of servers) {
      const cfg = JSON.parse(consulCfgOf(c));
      expect(cfg).toMatchObject({ server: true, bootstrap_expect: n, node_name: c.name, primary_datacenter: 'dc1' });
      if (n > 1) expect(cfg.retry_join).toEqual(names);
      else expect(cfg.retry_join).toBeUndefined();
      expect(cfg.acl).toEqual({ enabled: true, default_policy: 'deny', down_policy: 'extend-cache', enable_token_persistence: true });
      expect(JSON.stringify(cfg)).not.toMatch(/token"|master|secret/i);
      expect(c.networks_advanced[0].aliases).toEqual(['consul']);
      // Healthy once a leader knows the management token; the stack's apply waits for it.
      expect(c.healthcheck.test).toEqual(['CMD', 'consul', 'operator', 'raft', 'list-peers']);
      expect(c.wait).toBe(true);
    }
  });

  test('only the first server publishes the UI/API and DNS, on 127.0.0.1', () => {
    const published = servers.filter((c) => c.ports);
    expect(published.map((c) => c.name)).toEqual([names[0]]);
    expect(published[0].ports.every((p: any) => p.ip === '127.0.0.1')).toBe(true);
  });

  test("HAProxy's resolvers section lists every server", () => {
    const cfg: string = haproxyCfgOf(byPath(platform, 'docker_container', 'LoadBalancer/Container'));
    const nameservers = cfg.split('\n').filter((l) => l.trim().startsWith('nameserver '));
    expect(nameservers.map((l) => l.trim().split(/\s+/)[2])).toEqual(names.map((s) => `${s}:8600`));
  });

  test('each router talks to its own client agent (one per router, same count), which joins every server', () => {
    const routers = byPath(platform, 'docker_container', 'Routers/Router');
    const agents = byPath(platform, 'docker_container', 'RouterAgents/Container');
    expect(agents.count).toBe(routers.count);
    expect(agents.name).toBe('mcp-router-agent-${count.index + 1}');
    expect(agents.command).toEqual(['agent', '-node=mcp-router-agent-${count.index + 1}']);
    expect(routers.env).toContain('CONSUL_HOST=mcp-router-agent-${count.index + 1}');
    const cfg = JSON.parse(consulCfgOf(agents));
    expect(cfg).toMatchObject({ server: false, retry_join: names, client_addr: '0.0.0.0', ui: false });
    expect(cfg.ports.dns).toBe(-1);
    expect(cfg.bootstrap_expect).toBeUndefined();
    expect(cfg.node_name).toBeUndefined();
  });
});

describe('ACLs: tokens at apply time only, least privilege', () => {
  const { consul, platform, consulText, platformText } = synthApp({ consulServers: 3, instanceCount: 2, demoBackends: ['demo'] });

  test('the initial management token is a random_uuid made at apply time, in a file whose content is an expression (written by the entrypoint from env)', () => {
    expect(Object.keys(consul.resource.random_uuid)).toHaveLength(1);
    const uuid = Object.keys(consul.resource.random_uuid)[0];
    for (const [, c] of all(consul, 'docker_container')) {
      expect(envFile(c, '/consul/config/acl-tokens.json')).toBe(`\${jsonencode({"acl" = {"tokens" = {"master" = random_uuid.${uuid}.result, "agent" = random_uuid.${uuid}.result}}})}`);
      expect(envFile(c, '/consul/secrets/agent-token')).toBe(`\${random_uuid.${uuid}.result}`);
      expect(c.env).toContain('CONSUL_HTTP_TOKEN_FILE=/consul/secrets/agent-token');
      // The token files come in env and go to tmpfs files: the root stays read-only.
      expect(c.upload).toBeUndefined();
      expect(c.read_only).toBe(true);
      expect(c.capabilities).toEqual({ drop: ['ALL'] });
      expect(c.entrypoint).toEqual([
        '/bin/sh',
        '-c',
        `umask 077 && printf '%s' "$MCP_CONSUL_ACL_TOKENS" > /consul/config/acl-tokens.json && printf '%s' "$MCP_CONSUL_AGENT_TOKEN" > /consul/secrets/agent-token && unset MCP_CONSUL_ACL_TOKENS MCP_CONSUL_AGENT_TOKEN && exec docker-entrypoint.sh "$@"`,
        'consul-entrypoint',
      ]);
      expect(c.command).toEqual(['agent']);
    }
    // It crosses to the platform stack as a sensitive output, read through remote state by the Consul provider.
    const out = Object.entries(consul.output as Record<string, any>).find(([k]) => k.includes('random_uuid'))!;
    expect(out[1]).toEqual({ value: `\${random_uuid.${uuid}.result}`, sensitive: true });
    expect(platform.provider.consul[0]).toEqual({ address: '127.0.0.1:8500', scheme: 'http', datacenter: 'dc1', token: `\${data.terraform_remote_state.cross-stack-reference-input-test-consul.outputs.${out[0]}}` });
  });

  test('the platform stack depends on the Consul stack (applied after it)', () => {
    const app = Testing.app();
    const stack = new McpRouterStack(app, 'dep', { dockerHost: 'unix:///var/run/docker.sock' });
    expect(stack.dependencies).toContain(stack.consulStack);
    expect(stack.consulStack!.dependencies).toEqual([]);
  });

  test('policies: routers, each MCP server, DNS, operator — rules exactly the least each needs', () => {
    const policies = Object.fromEntries(all(platform, 'consul_acl_policy').map(([, p]) => [p.name, p.rules]));
    expect(policies).toEqual({
      'mcp-router': routerPolicyRules('mcp-router'),
      'mcp-mcp-server-demo': mcpServerPolicyRules('demo'),
      'mcp-dns': dnsPolicyRules('mcp-router', 'mcp-router-agent-'),
      'mcp-operator': operatorPolicyRules(),
    });
    expect(routerPolicyRules('mcp-router')).toBe('service "mcp-router" {\n  policy = "write"\n}\nservice_prefix "" {\n  policy = "read"\n}\nnode_prefix "" {\n  policy = "read"\n}\n');
    expect(mcpServerPolicyRules('demo')).toBe('service "demo" {\n  policy = "write"\n}\n');
    expect(dnsPolicyRules('mcp-router', 'mcp-router-agent-')).toBe('service "mcp-router" {\n  policy = "read"\n}\nnode_prefix "mcp-router-agent-" {\n  policy = "read"\n}\n');
    expect(operatorPolicyRules()).not.toMatch(/acl|key/);
  });

  test('tokens: routers (one), router agents (a node identity each, counted), the demo server and its agent, operator; DNS on the anonymous token', () => {
    const tokens = all(platform, 'consul_acl_token').map(([k, t]) => ({ k, ...t }));
    const router = tokens.find((t) => t.k.includes('RouterToken'))!;
    expect(router.policies).toEqual([expect.stringMatching(/^\$\{consul_acl_policy\..*RouterPolicy.*\.name\}$/)]);
    const agents = tokens.find((t) => t.k.includes('RouterAgentToken'))!;
    expect(agents.count).toBe(2);
    expect(agents.node_identities).toEqual([{ node_name: 'mcp-router-agent-${count.index + 1}', datacenter: 'dc1' }]);
    expect(agents.policies).toBeUndefined();
    expect(tokens.find((t) => t.k.includes('McpServerAgentToken-demo'))!.node_identities).toEqual([{ node_name: 'mcp-demo-agent-demo', datacenter: 'dc1' }]);
    expect(tokens.find((t) => t.k.includes('McpServerToken-demo'))!.policies).toEqual([expect.stringMatching(/McpServerPolicy-demo.*\.name\}$/)]);
    expect(tokens.filter((t) => t.k.includes('OperatorToken'))).toHaveLength(1);
    const attachment = all(platform, 'consul_acl_token_policy_attachment').map(([, a]) => a);
    expect(attachment).toEqual([expect.objectContaining({ token_id: ANONYMOUS, policy: expect.stringMatching(/DnsPolicy.*\.name\}$/) })]);
    expect(platform.output.consul_operator_token_accessor.value).toMatch(/^\$\{consul_acl_token\..*OperatorToken.*\.id\}$/);
  });

  test("every container gets its token as a file whose content is the token secret's reference; no token in any env", () => {
    const routers = byPath(platform, 'docker_container', 'Routers/Router');
    expect(envFile(routers, '/run/mcp-router/consul-token')).toMatch(/^\$\{data\.consul_acl_token_secret_id\..*RouterTokenSecret.*\.secret_id\}$/);
    expect(routers.entrypoint).toEqual(['/bin/sh', '-c', `umask 077 && printf '%s' "$MCP_ROUTER_CONSUL_TOKEN" > /run/mcp-router/consul-token && unset MCP_ROUTER_CONSUL_TOKEN && exec "$@"`, 'router-entrypoint']);
    expect(routers.command).toEqual(['node', '--max-semi-space-size=16', '--max-old-space-size=96', 'dist/main.js']);
    expect(routers.env).toContain('CONSUL_HTTP_TOKEN_FILE=/run/mcp-router/consul-token');
    const agents = byPath(platform, 'docker_container', 'RouterAgents/Container');
    expect(envFile(agents, '/consul/secrets/agent-token')).toMatch(/^\$\{data\.consul_acl_token_secret_id\..*RouterAgentTokenSecret.*\[count\.index\]\.secret_id\}$/);
    expect(envFile(agents, '/consul/config/acl-tokens.json')).toMatch(/^\$\{jsonencode\(\{"acl" = \{"tokens" = \{"agent" = data\.consul_acl_token_secret_id\..*\[count\.index\]\.secret_id\}\}\}\)\}$/);
    const demo = byPath(platform, 'docker_container', 'DemoBackends/Server-demo');
    expect(demo.env).toEqual(expect.arrayContaining(['CONSUL_HOST=mcp-demo-agent-demo', 'CONSUL_HTTP_TOKEN_FILE=/run/mcp-demo/consul-token']));
    expect(envFile(demo, '/run/mcp-demo/consul-token')).toMatch(/McpServerToken-demoSecret.*\.secret_id\}$/);
    expect(demo.command).toEqual(['node', 'dist/main.js']);
    const demoAgent = byPath(platform, 'docker_container', 'DemoAgent-demo/Container');
    expect(demoAgent.name).toBe('mcp-demo-agent-demo');
    expect(envFile(demoAgent, '/consul/secrets/agent-token')).toMatch(/McpServerAgentToken-demoSecret.*\.secret_id\}$/);
    // The secrets are read back from Consul at apply time: data sources of the token accessors.
    const data = platform.data.consul_acl_token_secret_id as Record<string, any>;
    const counted = Object.entries(data).find(([k]) => k.includes('RouterAgentTokenSecret'))![1];
    expect(counted).toMatchObject({ count: 2, accessor_id: expect.stringMatching(/^\$\{consul_acl_token\..*RouterAgentToken.*\[count\.index\]\.id\}$/) });
    for (const [, c] of all(platform, 'docker_container')) for (const e of c.env ?? []) expect(e).not.toMatch(/CONSUL_HTTP_TOKEN=/);
  });

  test('with ACLs on, every container of both stacks: read-only root, no upload, each token a Terraform reference in env, written to a mounted tmpfs', () => {
    const containers = [...all(consul, 'docker_container'), ...all(platform, 'docker_container')];
    // 3 servers; routers, router agents, HAProxy, the demo server and its agent.
    expect(containers).toHaveLength(8);
    let tokenFiles = 0;
    for (const [k, c] of containers) {
      expect({ k, read_only: c.read_only, upload: c.upload }).toEqual({ k, read_only: true, upload: undefined });
      expect(c.capabilities).toEqual({ drop: ['ALL'] });
      for (const [file, variable] of Object.entries(envFilesOf(c))) {
        // The directory the file is written to is a tmpfs of this container.
        expect({ k, file, mounted: Object.keys(c.tmpfs ?? {}).some((dir) => file.startsWith(`${dir}/`)) }).toEqual({ k, file, mounted: true });
        // The script unsets every variable it writes before the exec.
        expect(c.entrypoint[2]).toMatch(new RegExp(`&& unset [A-Z_ ]*\\b${variable}\\b[A-Z_ ]* && exec `));
        const content = envFileContent(c, file)!;
        if (file === '/run/haproxy/haproxy.cfg') continue;
        // A token: an expression over references only, never a literal.
        expect(content).toMatch(/^\$\{.*(secret_id|random_uuid\.[A-Za-z0-9_-]+\.result).*\}$/);
        expect(content).not.toMatch(UUID);
        tokenFiles++;
      }
    }
    // Servers 2 each, router agents 2, demo agent 2, router 1, demo 1.
    expect(tokenFiles).toBe(3 * 2 + 2 + 2 + 1 + 1);
  });

  test('no secret value anywhere: nothing that looks like a token, no pgp-less secret output', () => {
    for (const t of [consulText, platformText]) expect(t.replace(new RegExp(ANONYMOUS, 'g'), '')).not.toMatch(UUID);
    for (const [, o] of Object.entries(platform.output as Record<string, any>)) expect(JSON.stringify(o.value)).not.toMatch(/secret_id|random_uuid/);
  });

  test("an operator's management token file: read by Terraform's file() at plan time, never its content", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgmt-'));
    const file = path.join(dir, 'management-token');
    const secret = '0b9f0c1e-7d4a-4a2b-9a59-3f1f2f0c8d11';
    fs.writeFileSync(file, `${secret}\n`);
    try {
      const { consul: c, consulText: ct, platformText: pt } = synthApp({ consulManagementTokenFile: file });
      expect(ct).not.toContain(secret);
      expect(pt).not.toContain(secret);
      expect(c.resource.random_uuid).toBeUndefined();
      const server = all(c, 'docker_container')[0][1];
      expect(envFile(server, '/consul/config/acl-tokens.json')).toContain(`sensitive(trimspace(file("${file}")))`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ACL off', () => {
  test('one server, no agents: as before (one stack, routers talk to the server)', () => {
    const json = synthStack();
    expect(named(json, 'docker_container', 'Agent')).toEqual([]);
    expect(byPath(json, 'docker_container', 'Routers/Router').env).toContain('CONSUL_HOST=mcp-consul');
    expect(json.resource.random_uuid).toBeUndefined();
    expect(json.provider.consul).toBeUndefined();
  });

  test('3 servers: one stack, a client agent per router and demo server, no ACL anywhere', () => {
    const json = synthStack({ consulServers: 3, demoBackends: ['demo'] });
    expect(named(json, 'docker_container', 'Consul_Server').map((c) => c.name).sort()).toEqual(['mcp-consul-1', 'mcp-consul-2', 'mcp-consul-3']);
    expect(byPath(json, 'docker_container', 'RouterAgents/Container').env).not.toContainEqual(expect.stringMatching(/^CONSUL_HTTP_TOKEN_FILE=/));
    expect(byPath(json, 'docker_container', 'RouterAgents/Container')).toMatchObject({ read_only: true, user: 'consul', memory: 128, tmpfs: { '/consul/config': 'size=1m,uid=100,gid=1000' } });
    expect(byPath(json, 'docker_container', 'Routers/Router').env).toContain('CONSUL_HOST=mcp-router-agent-${count.index + 1}');
    expect(byPath(json, 'docker_container', 'DemoBackends/Server-demo').env).toContain('CONSUL_HOST=mcp-demo-agent-demo');
    // Routers and HAProxy start after the servers they need (one stack: depends_on).
    const lb = byPath(json, 'docker_container', 'LoadBalancer/Container');
    expect(lb.depends_on).toHaveLength(3);
    expect(JSON.stringify(json)).not.toMatch(/"acl"|consul_acl/);
  });

  test('existingConsul still works, with an optional token file for the routers', () => {
    const json = synthStack({ existingConsul: { host: 'consul.internal', routerTokenHostPath: '/etc/mcp/consul-token' } });
    const r = byPath(json, 'docker_container', 'Routers/Router');
    expect(r.env).toEqual(expect.arrayContaining(['CONSUL_HOST=consul.internal', 'CONSUL_HTTP_TOKEN_FILE=/run/mcp-router/consul-token']));
    expect(r.volumes).toEqual([{ host_path: '/etc/mcp/consul-token', container_path: '/run/mcp-router/consul-token', read_only: true }]);
    expect(named(json, 'docker_container', 'Consul')).toEqual([]);
    // McpRouterStack's default: no ACLs of its own with a Consul it does not run, so one stack.
    const app = Testing.app();
    expect(new McpRouterStack(app, 'e', { dockerHost: 'unix:///var/run/docker.sock', existingConsul: { host: 'c' } }).consulStack).toBeUndefined();
  });
});

describe('external MCP servers in the catalogue', () => {
  const { platform } = synthApp({
    acl: false,
    externalMcpServers: [
      { name: 'search', url: 'https://10.0.0.9:8443/mcp', tlsServerName: 'search.internal' },
      { name: 'docs', url: 'http://docs.example.com/v1/mcp', namespace: 'kb', check: { type: ExternalCheckType.HTTP, path: '/health', intervalSeconds: 30, timeoutSeconds: 3 }, initialStatus: ExternalCheckStatus.CRITICAL },
    ],
  });

  test('a consul_node (marked for consul-esm) and a consul_service each: tag mcp-server, meta mcp_path/namespace/mcp_scheme, a check', () => {
    const nodes = Object.fromEntries(all(platform, 'consul_node').map(([, n]) => [n.name, n]));
    expect(nodes['mcp-external-search']).toMatchObject({ address: '10.0.0.9', meta: { 'external-node': 'true', 'external-probe': 'true' } });
    expect(nodes['mcp-external-docs'].address).toBe('docs.example.com');
    const services = Object.fromEntries(all(platform, 'consul_service').map(([, s]) => [s.name, s]));
    expect(services.search).toMatchObject({
      service_id: 'mcp-external-search',
      node: expect.stringMatching(/^\$\{consul_node\..*Node-search.*\.name\}$/),
      address: '10.0.0.9',
      port: 8443,
      tags: ['mcp-server'],
      meta: { mcp_path: '/mcp', namespace: 'search', mcp_scheme: 'https', mcp_tls_server_name: 'search.internal' },
    });
    expect(services.search.check).toEqual([expect.objectContaining({ tcp: '10.0.0.9:8443', interval: '10s', timeout: '5s', status: 'passing' })]);
    expect(services.docs).toMatchObject({ port: 80, meta: { mcp_path: '/v1/mcp', namespace: 'kb', mcp_scheme: 'http' } });
    expect(services.docs.check).toEqual([expect.objectContaining({ http: 'http://docs.example.com:80/health', interval: '30s', timeout: '3s', status: 'critical' })]);
  });

  test('without ACLs the Consul provider needs no token, and no ACL resource is declared', () => {
    expect(platform.provider.consul[0].token).toBeUndefined();
    expect(platform.resource.consul_acl_policy).toBeUndefined();
  });
});

describe('the parts refuse bad props by name', () => {
  const stack = () => {
    const app = Testing.app();
    const s = new TerraformStack(app, 's');
    new DockerProvider(s, 'docker', {});
    return { app, s };
  };
  test.each([
    ['ConsulCluster: an even server count', (s: TerraformStack) => new ConsulCluster(s, 'C', { networkName: 'n', servers: 2 }), /^ConsulCluster: servers must be one of 1, 3, 5 .*received 2$/],
    ['ConsulCluster: a blank management token file', (s: TerraformStack) => new ConsulCluster(s, 'C', { networkName: 'n', acl: { managementTokenFile: ' ' } }), /^ConsulCluster: acl\.managementTokenFile must be a literal path/],
    ['ConsulCluster: a token in the ACL options', (s: TerraformStack) => new ConsulCluster(s, 'C', { networkName: 'n', acl: { options: { tokens: { master: 'x' } } as any } }), /^ConsulCluster: acl\.options\.tokens must be left unset: tokens never go in the rendered config/],
    ['ExternalMcpServers: a duplicate name', (s: TerraformStack) => new ExternalMcpServers(s, 'E', { servers: [{ name: 'a', url: 'https://a/mcp' }, { name: 'a', url: 'https://b/mcp' }] }), /^ExternalMcpServers: servers\[1\]\.name must be distinct/],
    ['ExternalMcpServers: a bad URL', (s: TerraformStack) => new ExternalMcpServers(s, 'E', { servers: [{ name: 'a', url: 'mcp://a/mcp' }] }), /^ExternalMcpServers: servers\[0\]\.url must be an http\(s\) URL .*received "mcp:\/\/a\/mcp"$/],
    ['ExternalMcpServers: a timeout above the interval', (s: TerraformStack) => new ExternalMcpServers(s, 'E', { servers: [{ name: 'a', url: 'https://a/mcp', check: { intervalSeconds: 5, timeoutSeconds: 9 } }] }), /^ExternalMcpServers: servers\[0\]\.check\.timeoutSeconds must be an integer from 1 to the interval \(5\); received 9$/],
    ['ConsulAccessControl: a duplicate MCP server', (s: TerraformStack) => new ConsulAccessControl(s, 'A', { routerAgents: { count: 1, nodeName: 'a-${count.index}' }, routerNodePrefix: 'a-', mcpServers: [{ name: 'x', agentNodeName: 'n1' }, { name: 'x', agentNodeName: 'n2' }] }), /^ConsulAccessControl: mcpServers must be distinct MCP server names; received "x"$/],
    ['RouterFleet: a literal Consul token', (s: TerraformStack) => new RouterFleet(s, 'F', { instanceCount: 1, image: 'i', networkName: 'n', consulHost: 'c', consulToken: 'f0e1d2c3-0000-4000-8000-000000000000' }), /^RouterFleet: consulToken must be a Terraform reference .*received "\(a literal string\)"$/],
    ['McpRouterPlatform: acl without consulStack', (s: TerraformStack) => new McpRouterPlatform(s, 'P', { acl: true }), /^McpRouterPlatform: acl must be false, or true with consulStack \(the Consul provider declares them, and it cannot plan against a Consul created in the same apply/],
    ['McpRouterPlatform: external servers without consulStack', (s: TerraformStack) => new McpRouterPlatform(s, 'P', { externalMcpServers: [{ name: 'a', url: 'https://a/mcp' }] }), /^McpRouterPlatform: externalMcpServers must be given with consulStack/],
    ['McpRouterPlatform: its own stack as consulStack', (s: TerraformStack) => new McpRouterPlatform(s, 'P', { acl: true, consulStack: s }), /^McpRouterPlatform: consulStack must be another stack than the platform's own/],
  ])('%s', (_name, build, message) => {
    const { s } = stack();
    let err: unknown;
    try {
      build(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PropError);
    expect((err as Error).message).toMatch(message);
    // A secret is never echoed.
    expect((err as Error).message).not.toContain('f0e1d2c3-0000-4000-8000-000000000000');
  });

  test('McpRouterPlatform: a consulStack without a Docker provider', () => {
    const app = new App();
    const s = new TerraformStack(app, 's');
    const other = new TerraformStack(app, 'o');
    expect(() => new McpRouterPlatform(s, 'P', { acl: true, consulStack: other })).toThrow(/^McpRouterPlatform: consulStack must be a stack with a DockerProvider .*received "o"$/);
  });
});

describe('the management token for the operator', () => {
  test('the Consul stack outputs it, sensitive, as a reference to the random_uuid made at apply time; no operator file: no such output', () => {
    const { consul, platform } = synthApp({});
    const uuid = Object.keys(consul.resource.random_uuid)[0];
    expect(consul.output.consul_management_token).toEqual({
      description: expect.stringContaining('management token'),
      sensitive: true,
      value: `\${random_uuid.${uuid}.result}`,
    });
    expect(platform.output.consul_management_token).toBeUndefined();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgmt-out-'));
    try {
      fs.writeFileSync(path.join(dir, 'token'), '0b9f0c1e-7d4a-4a2b-9a59-3f1f2f0c8d11\n');
      const withFile = synthApp({ consulManagementTokenFile: path.join(dir, 'token') });
      expect(withFile.consul.output.consul_management_token).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the policy rules as the package exports them', () => {
  test('ConsulAclPolicies statics give the rules the constructs declare; a KV key the routers read is read-only and exact', () => {
    expect(ConsulAclPolicies.routerRules('mcp-router')).toBe(routerPolicyRules('mcp-router'));
    expect(ConsulAclPolicies.mcpServerRules('demo')).toBe(mcpServerPolicyRules('demo'));
    expect(ConsulAclPolicies.dnsRules('mcp-router', 'mcp-router-agent-')).toBe(dnsPolicyRules('mcp-router', 'mcp-router-agent-'));
    expect(ConsulAclPolicies.operatorRules()).toBe(operatorPolicyRules());
    expect(ConsulAclPolicies.routerRules('mcp-router', ['mcp-router/auth-rules'])).toBe(`${routerPolicyRules('mcp-router')}key "mcp-router/auth-rules" {\n  policy = "read"\n}\n`);
    expect(ConsulCluster.SERVER_COUNTS).toEqual([1, 3, 5]);
    expect(ConsulAccessControl.ANONYMOUS_TOKEN_ACCESSOR).toBe(ANONYMOUS);
  });
});

test('auth rules in Consul KV: the routers\' policy reads exactly that key, nothing else of KV', () => {
  const { platform } = synthApp({ auth: { jwt: { jwksUrl: 'https://idp.example.com/.well-known/jwks.json', issuer: 'https://idp.example.com/', audience: ['mcp-router'] }, publicUrl: 'https://mcp.example.com', rulesConsulKey: 'mcp-router/auth-rules' } } as any);
  const router = named(platform, 'consul_acl_policy', 'RouterPolicy')[0];
  expect(router.rules).toBe(routerPolicyRules('mcp-router', ['mcp-router/auth-rules']));
  expect(router.rules).toContain('key "mcp-router/auth-rules" {\n  policy = "read"\n}');
  expect(router.rules).not.toMatch(/key_prefix/);
  const { platform: without } = synthApp({});
  expect(named(without, 'consul_acl_policy', 'RouterPolicy')[0].rules).not.toMatch(/key/);
});
