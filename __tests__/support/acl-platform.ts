/**
 * The platform with a 3-server Consul, ACLs on (default deny), as real
 * processes on loopback, built from the synthesized plans so that what runs is
 * what is deployed:
 *   - the app is synthesized (McpRouterStack: the Consul stack + the platform
 *     stack); the servers run the plan's server agent.json and the plan's ACL
 *     tokens file (its Terraform expression evaluated with a fresh management
 *     token, as random_uuid makes one at apply time);
 *   - the platform plan's consul_* resources (policies, tokens, the anonymous
 *     token's DNS policy, the external MCP server's node and service) are
 *     applied to the cluster by the Consul plan applier (HTTP API);
 *   - every router and the demo server get a client agent running the plan's
 *     client agent.json and the plan's tokens file for it, and the token file
 *     the plan hands their container (each evaluated from the plan);
 *   - HAProxy runs the renderer's config with every server as a nameserver.
 * Each part has its own 127.a.b.c address (default ports), as on the Docker
 * network. Routers and demo server run from their built dist (npm run build).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'cdktf';
import { ExternalMcpServer } from '../../constructs';
import { renderHaproxyConfig, resolveHaproxyConfigOptions } from '../../haproxy-templates';
import { McpRouterStack } from '../../main';
import { PORTS } from '../../router-app/src/contract';
import { DEMO_BACKEND_ENTRY, ROUTER_ENTRY, routerNodeFlags } from '../../scripts/local-platform/platform';
import { describeServers, statsServers, StatsServer } from '../../scripts/local-platform/haproxy-stats';
import { ManagedProcess, waitUntil } from '../../scripts/local-platform/managed-process';
import { locateTool } from '../../scripts/local-platform/tools';
import { ConsulPlanApplier } from './consul-plan/consul-plan-applier';
import { ConsulProcess, LoopbackCluster } from './consul-cluster';
import { envFileContent } from './env-files';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface AclPlatformOptions {
  readonly prefix: string;
  /** @default 2 */
  readonly routers?: number;
  /** External MCP servers declared in the plan. @default [] */
  readonly externalMcpServers?: readonly ExternalMcpServer[];
  /** Extra env of every router (e.g. MCP_BACKEND_CA_FILE). */
  readonly routerEnv?: Readonly<Record<string, string>>;
  /** Per router: a Consul host other than its agent (e.g. a recording proxy in front of it). */
  readonly consulHostOverride?: (router: number, agentAddress: string) => string | undefined;
}

const containersOf = (plan: Json): Array<[string, Json]> => Object.entries((plan.resource?.docker_container ?? {}) as Record<string, Json>);
const byPath = (plan: Json, part: string): Json => {
  const hits = containersOf(plan).filter(([, c]) => String(c['//']?.metadata?.path ?? '').includes(part));
  if (hits.length !== 1) throw new Error(`expected one container at ${part}; found ${hits.length}`);
  return hits[0][1];
};
/**
 * A file the plan gives a container: written at start by its entrypoint from the container's
 * environment (the ACL token files, a router's or demo server's token; support/env-files.ts), or —
 * the agent config of a Consul container — handed over in CONSUL_LOCAL_CONFIG, which the image's
 * entrypoint writes to /consul/config/local.json. No container takes an upload.
 */
const fileOf = (c: Json, file: string): string => {
  if (c.upload !== undefined) throw new Error(`${c.name} takes an upload, which a read-only root refuses`);
  const content = envFileContent(c, file);
  if (content !== undefined) return content;
  const local = ((c.env ?? []) as string[]).find((e) => e.startsWith('CONSUL_LOCAL_CONFIG='));
  if (file === '/consul/config/agent.json' && local !== undefined) return local.slice('CONSUL_LOCAL_CONFIG='.length);
  throw new Error(`no file ${file} in ${c.name}`);
};

export class AclPlatform {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acl-platform-'));
  readonly managementToken = randomUUID();
  readonly sessionKey = randomBytes(32).toString('base64url');
  consulPlan: Json;
  platformPlan: Json;
  cluster!: LoopbackCluster;
  applier!: ConsulPlanApplier;
  readonly routerAgents: ConsulProcess[] = [];
  demoAgent?: ConsulProcess;
  readonly routers = new Map<number, ManagedProcess>();
  demo?: ManagedProcess;
  haproxy?: ManagedProcess;
  /** Token secrets, as the plan gives them to the containers. */
  readonly tokens: { router?: string; demo?: string; routerAgents: string[]; demoAgent?: string } = { routerAgents: [] };
  readonly routerCount: number;
  readonly timings: Record<string, number> = {};

  constructor(readonly options: AclPlatformOptions) {
    this.routerCount = options.routers ?? 2;
    const out = path.join(this.dir, 'cdktf.out');
    const app = new App({ outdir: out });
    new McpRouterStack(app, 'acl-test', {
      dockerHost: 'unix:///var/run/docker.sock',
      consulServers: 3,
      demoBackends: ['demo'],
      externalMcpServers: options.externalMcpServers ? [...options.externalMcpServers] : undefined,
      localStatePath: false,
    });
    app.synth();
    this.consulPlan = JSON.parse(fs.readFileSync(path.join(out, 'stacks', 'acl-test-consul', 'cdk.tf.json'), 'utf8'));
    this.platformPlan = JSON.parse(fs.readFileSync(path.join(out, 'stacks', 'acl-test', 'cdk.tf.json'), 'utf8'));
  }

  address(part: 'haproxy' | 'router' | 'routerAgent' | 'demo' | 'demoAgent', i = 1): string {
    const base = { haproxy: 2, router: 30, routerAgent: 20, demo: 51, demoAgent: 50 }[part];
    return `${this.options.prefix}.${base + (part === 'router' || part === 'routerAgent' ? i : 0)}`;
  }

  get endpoint(): string {
    return `${this.address('haproxy')}:${PORTS.grpc}`;
  }

  routerId(i: number): string {
    return `mcp-router-mcp-router-${i}`;
  }

  private writeSecret(name: string, content: string): string {
    const file = path.join(this.dir, name);
    fs.writeFileSync(file, content, { mode: 0o600 });
    return file;
  }

  async start(): Promise<void> {
    for (const entry of [ROUTER_ENTRY, DEMO_BACKEND_ENTRY]) if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
    let t = Date.now();
    // The servers: the plan's agent.json and the plan's tokens file, its expression evaluated
    // with this run's management token in place of random_uuid's result.
    const uuidName = Object.keys(this.consulPlan.resource.random_uuid)[0];
    const consulEval = new ConsulPlanApplier({ plan: this.consulPlan, consul: { url: '', token: '' }, randoms: { [`random_uuid.${uuidName}`]: { result: this.managementToken } } });
    const server = containersOf(this.consulPlan)[0][1];
    const [serverTokens] = await consulEval.evaluate([{ template: fileOf(server, '/consul/config/acl-tokens.json'), where: 'server acl-tokens.json' }]);
    this.cluster = new LoopbackCluster({
      prefix: this.options.prefix,
      servers: 3,
      serverPlanConfig: JSON.parse(fileOf(server, '/consul/config/agent.json')),
      serverConfig: { 'acl-tokens.json': String(serverTokens) },
    });
    await this.cluster.start();
    await waitUntil('the ACL system to accept the management token', async () => (await this.cluster.servers[0].call('/v1/acl/token/self', { token: this.managementToken })).status === 200, 30_000, 100);
    this.timings.clusterMs = Date.now() - t;

    // The platform stack's consul_* resources, through the HTTP API.
    t = Date.now();
    this.applier = new ConsulPlanApplier({ plan: this.platformPlan, consul: { url: this.cluster.servers[0].url, token: this.managementToken }, variables: { instanceCount: this.routerCount } });
    await this.applier.apply();
    this.timings.aclApplyMs = Date.now() - t;

    // Client agents: the plan's client agent.json and tokens file, per router (count.index) and for the demo server.
    t = Date.now();
    const routerAgent = byPath(this.platformPlan, 'Platform/RouterAgents/Container');
    const demoAgent = byPath(this.platformPlan, 'Platform/DemoAgent-demo/Container');
    const routerC = byPath(this.platformPlan, 'Platform/Routers/Router');
    const demoC = byPath(this.platformPlan, 'Platform/DemoBackends/Server-demo');
    const templates = [
      ...Array.from({ length: this.routerCount }, (_, i) => ({ template: fileOf(routerAgent, '/consul/config/acl-tokens.json'), index: i })),
      ...Array.from({ length: this.routerCount }, (_, i) => ({ template: fileOf(routerAgent, '/consul/secrets/agent-token'), index: i })),
      { template: fileOf(demoAgent, '/consul/config/acl-tokens.json') },
      { template: fileOf(demoAgent, '/consul/secrets/agent-token') },
      { template: fileOf(routerC, '/run/mcp-router/consul-token') },
      { template: fileOf(demoC, '/run/mcp-demo/consul-token') },
    ];
    const values = (await this.applier.evaluate(templates)).map(String);
    const n = this.routerCount;
    this.tokens.routerAgents = values.slice(n, 2 * n);
    this.tokens.demoAgent = values[2 * n + 1];
    this.tokens.router = values[2 * n + 2];
    this.tokens.demo = values[2 * n + 3];
    const agentPlanConfig = (c: Json) => JSON.parse(fileOf(c, '/consul/config/agent.json'));
    for (let i = 1; i <= n; i++) {
      // The node name the plan gives agent i (its node identity names exactly that node).
      this.routerAgents.push(this.cluster.startAgent(`mcp-router-agent-${i}`, this.address('routerAgent', i), { 'acl-tokens.json': values[i - 1] }, agentPlanConfig(routerAgent)));
    }
    this.demoAgent = this.cluster.startAgent('mcp-demo-agent-demo', this.address('demoAgent'), { 'acl-tokens.json': values[2 * n] }, agentPlanConfig(demoAgent));
    await waitUntil(
      'every client agent registered its node (its agent token works)',
      async () => {
        const nodes = (await this.cluster.servers[0].call('/v1/catalog/nodes', { token: this.managementToken })).body as Array<{ Node: string }>;
        const names = new Set((nodes ?? []).map((x) => x.Node));
        return [...this.routerAgents, this.demoAgent!].every((a) => names.has(a.options.name));
      },
      30_000,
      200,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${[...this.routerAgents, this.demoAgent!].map((a) => `--- ${a.options.name}\n${a.tail(20)}`).join('\n')}`);
    });
    this.timings.agentsMs = Date.now() - t;

    t = Date.now();
    const demoToken = this.writeSecret('demo-token', this.tokens.demo!);
    this.demo = new ManagedProcess({
      name: 'demo',
      command: process.execPath,
      args: [DEMO_BACKEND_ENTRY],
      env: { ...process.env, HOST: this.address('demo'), PORT: String(PORTS.demoBackend), SERVER_NAME: 'demo', CONSUL_HOST: this.demoAgent.address, CONSUL_PORT: String(PORTS.consulHttp), CONSUL_HTTP_TOKEN_FILE: demoToken },
    });
    await this.demo.waitForLine((l) => l.includes('registered in Consul'), 20_000, '"registered in Consul" line');
    for (let i = 1; i <= n; i++) await this.startRouter(i);
    await this.startHaproxy();
    this.timings.workloadsMs = Date.now() - t;
  }

  /** Router i: its own address, its agent (or an override), the plan's token file. */
  async startRouter(i: number, extraEnv: Record<string, string> = {}): Promise<ManagedProcess> {
    const tokenFile = this.writeSecret('router-token', this.tokens.router!);
    const agent = this.routerAgents[i - 1].address;
    const proc = new ManagedProcess({
      name: `router-${i}`,
      command: process.execPath,
      args: [...routerNodeFlags(), ROUTER_ENTRY],
      env: {
        ...process.env,
        CONSUL_HOST: this.options.consulHostOverride?.(i, agent) ?? agent,
        CONSUL_PORT: String(PORTS.consulHttp),
        CONSUL_HTTP_TOKEN_FILE: tokenFile,
        CONSUL_HEALTH_INTERVAL_MS: '500',
        CONSUL_REREGISTER_INTERVAL_MS: '1000',
        MCP_ROUTER_BIND_ADDRESS: this.address('router', i),
        MCP_ROUTER_ADVERTISE_ADDRESS: this.address('router', i),
        MCP_ROUTER_HOSTNAME: `mcp-router-${i}`,
        MCP_ROUTER_SESSION_KEYS: `k1=${this.sessionKey}`,
        MCP_ROUTER_DRAIN_DELAY_MS: '2000',
        LOG_LEVEL: 'info',
        ...this.options.routerEnv,
        ...extraEnv,
      },
    });
    this.routers.set(i, proc);
    await proc.waitForLine((l) => l.includes('router started'), 20_000, '"router started" line');
    return proc;
  }

  async startHaproxy(): Promise<void> {
    const at = this.address('haproxy');
    const cfg = renderHaproxyConfig(
      resolveHaproxyConfigOptions({
        frontend: { address: at, port: PORTS.grpc },
        stats: { address: at, port: PORTS.haproxyStats },
        mcpFrontend: { address: at, port: PORTS.mcp },
        // Every Consul server is a nameserver, as the platform's resolvers section has them.
        nameservers: this.cluster.serverAddresses.map((address) => ({ address, port: PORTS.consulDns })),
        healthCheck: { port: PORTS.routerAdmin },
        maxconn: 4000,
      }),
    );
    const file = path.join(this.dir, 'haproxy.cfg');
    fs.writeFileSync(file, cfg);
    this.haproxy = new ManagedProcess({ name: 'haproxy', command: locateTool('haproxy'), args: ['-db', '-f', file] });
    await waitUntil('HAProxy stats page', async () => (await fetch(`http://${at}:${PORTS.haproxyStats}/`)).ok, 15_000, 100, this.haproxy);
  }

  /** HAProxy's view of the gRPC backend's servers. */
  async haproxyServers(): Promise<StatsServer[]> {
    return (await statsServers(`http://${this.address('haproxy')}:${PORTS.haproxyStats}/`)).filter((s) => s.proxy === 'mcp_router_backend');
  }

  /** Routers HAProxy has UP. */
  async upRouters(): Promise<number> {
    return (await this.haproxyServers()).filter((s) => s.status === 'UP').length;
  }

  /**
   * Waits until HAProxy has `n` routers UP; on time-out the error gives HAProxy's
   * view of each server (address from DNS, status, last check) and its log's tail.
   */
  async waitForUpRouters(n: number, timeoutMs: number): Promise<void> {
    let view = '';
    try {
      await waitUntil(`HAProxy has ${n} routers UP`, async () => {
        const servers = await this.haproxyServers();
        view = describeServers(servers);
        return servers.filter((s) => s.status === 'UP').length === n;
      }, timeoutMs, 250, this.haproxy);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nHAProxy's servers: ${view}\nHAProxy's log:\n${this.haproxy?.tail(20) ?? ''}`);
    }
  }

  /** A router's Prometheus metrics text. */
  async metrics(i: number): Promise<string> {
    return (await fetch(`http://${this.address('router', i)}:${PORTS.routerAdmin}/metrics`)).text();
  }

  async close(): Promise<void> {
    await Promise.all([...this.routers.values()].map((p) => p.stop('SIGTERM', 15_000)));
    await this.haproxy?.stop('SIGTERM', 5_000);
    await this.demo?.stop('SIGTERM', 5_000);
    await this.cluster?.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
