/**
 * ACLs on (the default layout): every container that takes a Consul token keeps a read-only
 * root on the real engine. The token reaches it in its environment; the entrypoint
 * (constructs/env-files.ts) writes it to a tmpfs file and unsets the variable before the exec.
 *
 * - The Consul stack of the ACL layout (network, server, random_uuid) is applied as synthesized,
 *   with the test plan applier (random_uuid made by the applier): the server is healthy only if
 *   its initial management token came through (its healthcheck asks the leader with the agent
 *   token, which is that token), and the API accepts the management token and refuses no token.
 * - A client agent: the platform plan's router agent container (entrypoint, env, lockdown,
 *   healthcheck), its two token variables given a value as Terraform would (the management
 *   token, in place of the node-identity token the Consul provider makes), joins that server.
 * - A router and the demo server: the platform plan's container (entrypoint, env, lockdown) on the
 *   node:20-slim stand-in, the image's "node" user, with a probe as the command.
 * - The real router image, built from the plan's docker_image, run as the plan's container runs it
 *   (entrypoint, command, env with the token filled in, lockdown, memory): it registers in Consul
 *   with the token from its file and passes Consul's checks; no process keeps the variable.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import { App } from 'cdktf';
import { McpRouterStack } from '../../main';
import { DockerPlanApplier } from '../support/docker-plan/docker-plan-applier';
import { envFileContent, envFilesOf } from '../support/env-files';
import { waitUntil } from '../../scripts/local-platform/managed-process';
import { dockerExec, freePort, provisionEngine } from './engine-platform';

jest.setTimeout(300_000);

const REPO = path.resolve(__dirname, '..', '..');
const PLANS_DIR = path.join(REPO, 'cdktf.out.docker-tests');
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const docker = new Docker();
const prefix = `acltok${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 5)}`;
let consulPlan: Json;
let platformPlan: Json;
let applier: DockerPlanApplier;
let httpPort: number;
let managementToken: string;
let networkName: string;
const started: string[] = [];

const containerAt = (plan: Json, part: string): Json => {
  const hits = Object.entries((plan.resource.docker_container ?? {}) as Record<string, Json>).filter(([, c]) => String(c['//']?.metadata?.path ?? '').includes(part));
  if (hits.length !== 1) throw new Error(`expected one container at ${part}; found ${hits.length}`);
  return hits[0][1];
};

/** The plan's lockdown of a container, as the Docker API takes it. */
const lockdownOf = (c: Json) => ({
  ReadonlyRootfs: c.read_only === true,
  Tmpfs: c.tmpfs,
  CapDrop: c.capabilities?.drop ?? [],
  SecurityOpt: c.security_opts ?? [],
});

/** The plan's env with each token variable given `values[variable]` (what Terraform fills in at apply time). */
const envWith = (c: Json, values: Record<string, string>): string[] =>
  (c.env as string[]).map((e) => {
    const name = e.slice(0, e.indexOf('='));
    return name in values ? `${name}=${values[name]}` : e;
  });

const health = async (name: string) => (await docker.getContainer(name).inspect()).State.Health?.Status ?? 'none';

/** PID 1 and its children: their command line and how many MCP_*TOKEN* variables their environment holds. */
const PROCESS_ENV_PROBE = `for p in 1 $(cat /proc/1/task/1/children); do printf '%s|' "$(tr '\\0' ' ' < /proc/$p/cmdline)"; tr '\\0' '\\n' < /proc/$p/environ | grep -c '^MCP_[A-Z_]*TOKEN'; done; true`;

beforeAll(async () => {
  provisionEngine();
  httpPort = await freePort();
  let dnsPort = await freePort();
  while (dnsPort === httpPort) dnsPort = await freePort();
  fs.mkdirSync(path.join(PLANS_DIR, 'stacks'), { recursive: true });
  const app = new App({ outdir: PLANS_DIR });
  // The default layout: ACLs on, two stacks. Only the Consul stack is applied (the platform stack
  // holds the Consul provider's resources, which this applier does not apply).
  new McpRouterStack(app, prefix, {
    dockerHost: 'unix:///var/run/docker.sock',
    namePrefix: prefix,
    consulHttpPort: httpPort,
    consulDnsPort: dnsPort,
    demoBackends: ['demo'],
    nodeBaseImage: 'node:20-slim',
    localStatePath: false,
  });
  app.synth();
  const consulFile = path.join(PLANS_DIR, 'stacks', `${prefix}-consul`, 'cdk.tf.json');
  consulPlan = JSON.parse(fs.readFileSync(consulFile, 'utf8'));
  platformPlan = JSON.parse(fs.readFileSync(path.join(PLANS_DIR, 'stacks', prefix, 'cdk.tf.json'), 'utf8'));
  applier = new DockerPlanApplier({ planFile: consulFile, stateId: prefix, docker });
  const result = await applier.apply();
  // The output is named with the prefix (<namePrefix>_consul_management_token).
  const output = Object.keys(result.outputs).find((k) => k.endsWith('consul_management_token'));
  if (output === undefined) throw new Error(`no consul_management_token output: ${Object.keys(result.outputs).join(', ')}`);
  managementToken = String(result.outputs[output]);
  const server = containerAt(consulPlan, 'Consul/Server/Container');
  networkName = Object.keys((await docker.getContainer(server.name).inspect()).NetworkSettings.Networks)[0];
});

afterAll(async () => {
  for (const name of started) await docker.getContainer(name).remove({ force: true, v: true }).catch(() => undefined);
  await applier?.destroy();
  for (const id of [prefix, `${prefix}-consul`]) fs.rmSync(path.join(PLANS_DIR, 'stacks', id), { recursive: true, force: true });
});

test('the Consul server: read-only root, token files from env on tmpfs (0600, its user), the management token works, no process keeps the variables', async () => {
  const server = containerAt(consulPlan, 'Consul/Server/Container');
  expect(server.upload).toBeUndefined();
  const info = await docker.getContainer(server.name).inspect();
  expect(info.HostConfig.ReadonlyRootfs).toBe(true);
  expect(Object.keys(info.HostConfig.Tmpfs ?? {}).sort()).toEqual(['/consul/config', '/consul/secrets']);
  expect(managementToken).toMatch(/^[0-9a-f-]{36}$/);
  // Healthy: `consul operator raft list-peers` with the agent token from CONSUL_HTTP_TOKEN_FILE (the management token).
  await waitUntil('the Consul server healthy', async () => (await health(server.name)) === 'healthy', 120_000, 500);
  const api = (token?: string) => fetch(`http://127.0.0.1:${httpPort}/v1/acl/token/self`, { headers: token ? { 'X-Consul-Token': token } : {} });
  expect((await api(managementToken)).status).toBe(200);
  expect((await api()).status).toBe(403);
  const files = await dockerExec(docker, server.name, ['sh', '-c', 'stat -c "%n %a %U" /consul/config/acl-tokens.json /consul/secrets/agent-token && cat /consul/secrets/agent-token']);
  expect(files.stdout).toBe(`/consul/config/acl-tokens.json 600 consul\n/consul/secrets/agent-token 600 consul\n${managementToken}`);
  const procs = (await dockerExec(docker, server.name, ['sh', '-c', PROCESS_ENV_PROBE])).stdout.trim().split('\n');
  // dumb-init (PID 1) and the consul agent under it; neither holds the token variables.
  expect(procs.some((l) => /consul agent/.test(l))).toBe(true);
  for (const l of procs) expect(l).toMatch(/\|0$/);
  // The root is read-only for real.
  expect((await dockerExec(docker, server.name, ['sh', '-c', 'touch /consul/x'])).code).not.toBe(0);
});

test("a client agent: the plan's router agent container with its token variables filled joins, healthy, on a read-only root", async () => {
  const agent = containerAt(platformPlan, 'RouterAgents/Container');
  expect(agent.upload).toBeUndefined();
  expect(Object.keys(envFilesOf(agent)).sort()).toEqual(['/consul/config/acl-tokens.json', '/consul/secrets/agent-token']);
  // What Terraform fills in: the jsonencode expression's value, and the raw token.
  expect(envFileContent(agent, '/consul/config/acl-tokens.json')).toMatch(/^\$\{jsonencode\(\{"acl" = \{"tokens" = \{"agent" = data\.consul_acl_token_secret_id\.[^}]+\}\}\}\)\}$/);
  const name = `${prefix}-agent-t`;
  const c = await docker.createContainer({
    name,
    Hostname: name,
    Image: 'hashicorp/consul:1.20',
    User: agent.user,
    Entrypoint: agent.entrypoint,
    Cmd: (agent.command as string[]).map((a) => a.replace(/^-node=.*/, `-node=${name}`)),
    Env: envWith(agent, { MCP_CONSUL_ACL_TOKENS: JSON.stringify({ acl: { tokens: { agent: managementToken } } }), MCP_CONSUL_AGENT_TOKEN: managementToken }),
    Healthcheck: { Test: agent.healthcheck.test, Interval: 2e9, Timeout: 5e9, Retries: 3 },
    HostConfig: { ...lockdownOf(agent), NetworkMode: networkName },
  });
  started.push(name);
  await c.start();
  await waitUntil('the client agent healthy (it joined the server)', async () => (await health(name)) === 'healthy', 90_000, 500);
  // Its node is in the catalogue: it registered with the agent token it was given.
  const nodes = (await (await fetch(`http://127.0.0.1:${httpPort}/v1/catalog/nodes`, { headers: { 'X-Consul-Token': managementToken } })).json()) as Array<{ Node: string }>;
  expect(nodes.map((n) => n.Node)).toContain(name);
  expect((await c.inspect()).HostConfig.ReadonlyRootfs).toBe(true);
  const procs = (await dockerExec(docker, name, ['sh', '-c', PROCESS_ENV_PROBE])).stdout.trim().split('\n');
  expect(procs.some((l) => /consul agent/.test(l))).toBe(true);
  for (const l of procs) expect(l).toMatch(/\|0$/);
});

/** What the process started by the entrypoint sees: printed as one JSON line. */
const NODE_PROBE = `
const fs = require('node:fs');
const file = process.env.CONSUL_HTTP_TOKEN_FILE;
const st = fs.statSync(file);
let rootWritable = true;
try { fs.writeFileSync('/probe', 'x'); } catch { rootWritable = false; }
const mount = fs.readFileSync('/proc/self/mounts', 'utf8').split('\\n').find((l) => l.split(' ')[1] === require('node:path').dirname(file));
console.log('probe ' + JSON.stringify({
  token: fs.readFileSync(file, 'utf8'),
  mode: (st.mode & 0o777).toString(8),
  uid: st.uid,
  envVars: Object.keys(process.env).filter((k) => /^MCP_.*TOKEN/.test(k)),
  environ: fs.readFileSync('/proc/self/environ', 'utf8').split('\\0').filter((e) => /^MCP_.*TOKEN/.test(e)).length,
  rootWritable,
  fsType: mount && mount.split(' ')[2],
}));`;

test.each([
  ['a router', 'Routers/Router', 'MCP_ROUTER_CONSUL_TOKEN'],
  ['the demo server', 'DemoBackends/Server-demo', 'MCP_DEMO_CONSUL_TOKEN'],
])("%s: the plan's entrypoint writes the token to its tmpfs (0600, node's), unsets it, and the process starts without it", async (_label, part, variable) => {
  const plan = containerAt(platformPlan, part);
  expect(plan.upload).toBeUndefined();
  expect(plan.read_only).toBe(true);
  const token = randomUUID();
  const name = `${prefix}-${variable.toLowerCase().replace(/_/g, '-')}`;
  const c = await docker.createContainer({
    name,
    Image: 'node:20-slim',
    // The router and demo images' user (their Dockerfiles' USER node).
    User: 'node',
    Tty: true,
    Entrypoint: plan.entrypoint,
    Cmd: ['node', '-e', NODE_PROBE],
    Env: envWith(plan, { [variable]: token }),
    HostConfig: { ...lockdownOf(plan), NetworkMode: 'none' },
  });
  started.push(name);
  await c.start();
  const exit = await c.wait();
  const logs = (await c.logs({ stdout: true, stderr: true })).toString().trim();
  expect({ exit: exit.StatusCode, logs }).toEqual({ exit: 0, logs: expect.any(String) });
  // "probe " first: the engine client would parse a body that is JSON by itself.
  expect(JSON.parse(logs.split('\n').pop()!.replace(/^probe /, ''))).toEqual({ token, mode: '600', uid: 1000, envVars: [], environ: 0, rootWritable: false, fsType: 'tmpfs' });
});

test("the real router image, as the plan runs it with a Consul token: it reads the token from its tmpfs file, registers with it and passes Consul's checks; no process keeps the variable", async () => {
  const plan = containerAt(platformPlan, 'Routers/Router');
  // The router image, built from the plan's own docker_image (its build context is relative to the platform stack's directory).
  const images = Object.entries((platformPlan.resource.docker_image ?? {}) as Record<string, Json>).filter(([, i]) => String(i['//']?.metadata?.path ?? '').includes('RouterImage'));
  expect(images).toHaveLength(1);
  const imagePlan = path.join(PLANS_DIR, 'stacks', prefix, 'cdk.router-image.tf.json');
  fs.writeFileSync(imagePlan, JSON.stringify({ terraform: platformPlan.terraform, provider: { docker: platformPlan.provider.docker }, resource: { docker_image: Object.fromEntries(images) } }));
  const imageApplier = new DockerPlanApplier({ planFile: imagePlan, stateId: `${prefix}-router-image`, docker });
  try {
    await imageApplier.apply();
    const server = containerAt(consulPlan, 'Consul/Server/Container');
    const name = `${prefix}-router-t`;
    // CONSUL_HOST: the server (the plan's router talks to its node's client agent, which this test does not run).
    // The values Terraform fills in: the token (here the management token), the session key (a random_password).
    const env = envWith(plan, { MCP_ROUTER_CONSUL_TOKEN: managementToken, MCP_ROUTER_SESSION_KEYS: `k1=${randomUUID()}${randomUUID()}` }).map((e) => (e.startsWith('CONSUL_HOST=') ? `CONSUL_HOST=${server.name}` : e));
    expect(env.filter((e) => e.includes('${'))).toEqual([]);
    const c = await docker.createContainer({
      name,
      Hostname: name,
      Image: String(images[0][1].name),
      Entrypoint: plan.entrypoint,
      Cmd: plan.command,
      Env: env,
      Healthcheck: { Test: plan.healthcheck.test, Interval: 2e9, Timeout: 5e9, Retries: 3 },
      HostConfig: { ...lockdownOf(plan), Memory: plan.memory * 1024 * 1024, NetworkMode: networkName },
    });
    started.push(name);
    await c.start();
    // Registered under its own instance ID with the token from the file, and every check of it passing (Consul reaches its gRPC health).
    const passing = async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/v1/health/service/mcp-router?passing=true`, { headers: { 'X-Consul-Token': managementToken } });
      return ((await res.json()) as Array<{ Service: { ID: string } }>).map((e) => e.Service.ID);
    };
    let ids: string[] = [];
    await waitUntil('the router registered and passing in Consul', async () => (ids = await passing()).length === 1, 90_000, 500);
    expect(ids[0]).toMatch(/^mcp-router-/);
    await waitUntil('the router container healthy', async () => (await health(name)) === 'healthy', 60_000, 500);
    // Without a token Consul shows nothing of it (ACLs deny by default): the router's own token did the registering.
    expect(((await (await fetch(`http://127.0.0.1:${httpPort}/v1/health/service/mcp-router`)).json()) as unknown[]).length).toBe(0);
    const procs = (await dockerExec(docker, name, ['sh', '-c', PROCESS_ENV_PROBE])).stdout.trim().split('\n');
    process.stdout.write(`[docker] router with a Consul token: ${JSON.stringify({ id: ids[0], procs })}\n`);
    expect(procs[0]).toMatch(/^node --max-semi-space-size=16 --max-old-space-size=96 dist\/main\.js \|0$/);
    for (const l of procs) expect(l).toMatch(/\|0$/);
    expect((await dockerExec(docker, name, ['sh', '-c', 'stat -c "%a %U" /run/mcp-router/consul-token'])).stdout.trim()).toBe('600 node');
  } finally {
    await docker.getContainer(`${prefix}-router-t`).remove({ force: true }).catch(() => undefined);
    await imageApplier.destroy().catch(() => undefined);
    fs.rmSync(imagePlan, { force: true });
  }
});
