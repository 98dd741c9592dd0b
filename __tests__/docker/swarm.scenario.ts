/**
 * `npm run test:docker`: the Swarm target's plan on a real single-node swarm
 * (`docker swarm init --advertise-addr 127.0.0.1`, stand-in images built from
 * Debian packages, the test-only plan applier). A 3-replica router service
 * behind HAProxy; every router registered in Consul with its task's overlay
 * address; calls through HAProxy's published port spread over the 3 replicas; a
 * rolling update of the router image with 0 failed calls; a scale of the
 * replica count 3 -> 5 -> 3 by re-applying the plan, with 0 failed calls.
 *
 * HAProxy is published in host mode here: the routing mesh (ingress) needs IPVS,
 * which this sandbox's kernel lacks (dockerd: "/proc/sys/net/ipv4/vs/...: no such
 * file"), so an ingress port never answers; the plan's default stays INGRESS.
 * The swarm is created for the run and left at its end (unless one was already
 * active: then only what the run created is removed).
 */
import { execFileSync } from 'node:child_process';
import Docker from 'dockerode';
import { DeploymentTarget, SwarmPublishMode } from '../../constructs';
import { sleep, waitUntil } from '../../scripts/local-platform/managed-process';
import { SteadyLoad } from '../../scripts/local-platform/steady-load';
import { parseStatsCsv } from '../../scripts/local-platform/haproxy-stats';
import { EnginePlatform, provisionEngine } from './engine-platform';

jest.setTimeout(1_200_000);

const docker = new Docker();
let platform: EnginePlatform | undefined;
let swarmCreated = false;
let gwbridgeBefore = true;
let v2Image: string | undefined;
let subnet = '';
const figures: Record<string, unknown> = {};
const report = (name: string, value: unknown) => {
  figures[name] = value;
  process.stdout.write(`[docker swarm] ${name}: ${JSON.stringify(value)}\n`);
};

const svcName = (part: string) => `${platform!.prefix}-${part}`;

/** Running task containers of a service, with their health and overlay address. */
async function tasks(part: string): Promise<{ id: string; name: string; image: string; health: string; ip: string }[]> {
  const list = await docker.listContainers({ filters: { label: [`com.docker.swarm.service.name=${svcName(part)}`], status: ['running'] } });
  return Promise.all(
    list.map(async (c) => {
      const info = await docker.getContainer(c.Id).inspect();
      const net = info.NetworkSettings.Networks[`${platform!.prefix}-net`];
      return { id: c.Id, name: c.Names[0].slice(1), image: info.Image, health: info.State.Health?.Status ?? 'none', ip: net?.IPAddress ?? '' };
    }),
  );
}

async function exec(container: string, cmd: string[]): Promise<string> {
  return platform!.exec(container, cmd).then((r) => r.stdout);
}

/** HAProxy's router slots, from its stats CSV read inside the HAProxy task (the stats port is not published). */
async function haproxyServers(): Promise<{ name: string; addr: string; status: string }[]> {
  const [h] = await tasks('haproxy');
  if (!h) return [];
  const csv = await exec(h.id, ['wget', '-q', '-O', '-', 'http://127.0.0.1:8404/;csv']);
  return parseStatsCsv(csv).filter((s) => s.proxy === 'mcp_router_backend').map((s) => ({ name: s.name, addr: s.address, status: s.status }));
}
const upRouters = async () => (await haproxyServers()).filter((s) => s.status === 'UP');

/** Waits until the router service runs exactly `n` healthy tasks and HAProxy has exactly those UP. */
async function waitRouters(n: number, what: string, timeoutMs = 180_000): Promise<number> {
  return waitUntil(
    what,
    async () => {
      const t = await tasks('router');
      if (t.length !== n || t.some((x) => x.health !== 'healthy')) return false;
      const up = await upRouters();
      return up.length === n && up.every((s) => t.some((x) => s.addr === `${x.ip}:50051`));
    },
    timeoutMs,
    500,
  ).catch(async (err) => {
    throw new Error(`${(err as Error).message}\nrouter tasks: ${JSON.stringify(await tasks('router'))}\nHAProxy: ${JSON.stringify(await haproxyServers().catch((e) => String(e)))}\n${await serviceLogs()}`);
  });
}

async function serviceLogs(): Promise<string> {
  const out: string[] = [];
  for (const part of ['consul', 'haproxy', 'router']) {
    const ps = await docker.listTasks({ filters: { service: [svcName(part)] } }).catch(() => []);
    out.push(`--- ${part} tasks: ${JSON.stringify(ps.map((t: any) => [t.Slot, t.Status?.State, t.Status?.Err ?? t.Status?.Message]))}`);
    const list = await docker.listContainers({ all: true, filters: { label: [`com.docker.swarm.service.name=${svcName(part)}`] } });
    for (const c of list.slice(0, 3)) {
      const logs = await docker.getContainer(c.Id).logs({ stdout: true, stderr: true, tail: 8 }).catch(() => Buffer.from(''));
      out.push(`--- ${c.Names[0]} (${c.State})\n${logs.toString('utf8').replace(/[\x00-\x08]/g, '')}`);
    }
  }
  return out.join('\n');
}

const routerIds = (records: readonly { routerId?: string; start: number }[], after = 0) => [...new Set(records.filter((r) => r.start >= after).map((r) => r.routerId ?? ''))].sort();

beforeAll(async () => {
  provisionEngine();
  const info = await docker.info();
  gwbridgeBefore = (await docker.listNetworks({ filters: { name: ['docker_gwbridge'] } })).some((n) => n.Name === 'docker_gwbridge');
  if (info.Swarm?.LocalNodeState !== 'active') {
    await docker.swarmInit({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1', ForceNewCluster: false });
    swarmCreated = true;
  }
  // A subnet of its own (a leftover network of an interrupted run must not overlap it).
  subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}.0/24`;
  platform = await EnginePlatform.create({
    stem: 'sw',
    props: {
      target: DeploymentTarget.SWARM,
      publicBindAddress: '0.0.0.0',
      // The gRPC door is what this run measures; a second port published on every address is not needed.
      enableMcp: false,
      swarm: { subnet, publishMode: SwarmPublishMode.HOST, routerUpdate: { delaySeconds: 2, monitorSeconds: 5 } },
    },
  });
  let t = Date.now();
  const applied = await platform.apply({ instanceCount: 3 });
  report('apply (ms)', Date.now() - t);
  expect(applied.created.filter((a) => a.startsWith('docker_service.')).sort()).toEqual([
    expect.stringMatching(/^docker_service\.Platform_Consul_Service_/),
    expect.stringMatching(/^docker_service\.Platform_LoadBalancer_Service_/),
    expect.stringMatching(/^docker_service\.Platform_Routers_Service_/),
  ]);
  expect(applied.outputs[`${platform.prefix}_router_service_name`]).toBe(svcName('router'));
  t = Date.now();
  await waitRouters(3, '3 healthy router tasks, all UP in HAProxy');
  report('3 tasks healthy and UP in HAProxy after apply (ms)', Date.now() - t);
});

afterAll(async () => {
  try {
    await platform?.destroy();
    if (v2Image) await docker.getImage(v2Image).remove({ force: true }).catch(() => undefined);
  } finally {
    if (swarmCreated) {
      await docker.swarmLeave({ force: true }).catch(() => undefined);
      if (!gwbridgeBefore) await docker.getNetwork('docker_gwbridge').remove().catch(() => undefined);
    }
    process.stdout.write(`[docker swarm] figures: ${JSON.stringify(figures)}\n`);
  }
});

test('every router task registers in Consul with its overlay address, and HAProxy resolves exactly those', async () => {
  const t = await tasks('router');
  const [consul] = await tasks('consul');
  expect(consul.health).toBe('healthy');
  const [h] = await tasks('haproxy');
  expect(h.health).toBe('healthy');
  // Consul's API, asked from inside the HAProxy task over the overlay network.
  const catalog = JSON.parse(await exec(h.id, ['wget', '-q', '-O', '-', `http://${svcName('consul')}:8500/v1/health/service/mcp-router?passing=1`]));
  const registered = catalog.map((e: any) => e.Service.Address).sort();
  expect(registered).toEqual(t.map((x) => x.ip).sort());
  // The overlay's subnet: not the docker_gwbridge address the task also has.
  const prefix = subnet.replace(/\.0\/24$/, '.');
  for (const ip of registered) expect(ip.startsWith(prefix)).toBe(true);
  expect(catalog.map((e: any) => e.Service.ID).every((id: string) => id.startsWith(`mcp-router-${svcName('router')}.`))).toBe(true);
  // `nslookup` of the SRV record from inside HAProxy, as the seed's troubleshooting does.
  const srv = await exec(h.id, ['nslookup', '-port=8600', '-type=SRV', '_mcp-router._tcp.service.consul', svcName('consul')]);
  expect(srv.match(/service = \d+ \d+ 50051 /g)?.length).toBe(3);
});

test('every task runs locked down: read-only root, no capabilities, memory and CPU limits, rotated logs', async () => {
  const seen: Record<string, unknown> = {};
  for (const part of ['consul', 'haproxy', 'router']) {
    const [t] = await tasks(part);
    const info = await docker.getContainer(t.id).inspect();
    const hc = info.HostConfig;
    seen[part] = { readOnly: hc.ReadonlyRootfs, capDrop: hc.CapDrop, memoryMiB: (hc.Memory ?? 0) / 1048576, nanoCpus: hc.NanoCpus, log: hc.LogConfig };
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(hc.CapDrop).toEqual(['ALL']);
    expect(hc.Memory).toBeGreaterThan(0);
    expect(hc.NanoCpus).toBeGreaterThan(0);
    expect(hc.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } });
    // The root really is read-only, and the process holds no capability.
    const probe = await platform!.exec(t.id, ['sh', '-c', 'touch /locked-down-probe']);
    expect(probe.code).not.toBe(0);
    expect(probe.stderr).toMatch(/Read-only file system/);
    const status = await exec(t.id, ['cat', '/proc/1/status']);
    expect(/^CapEff:\s*0+$/m.test(status)).toBe(true);
  }
  report('lockdown', seen);
});

test('calls through HAProxy spread over the 3 replicas', async () => {
  const load = new SteadyLoad({ target: platform!.endpoint, method: 'ListTools', concurrency: 4, maxCalls: 300, maxDurationMs: 60_000, pauseMs: 0 });
  await waitUntil('300 calls', () => load.count >= 300 || load.now() >= 60_000, 70_000, 100);
  const result = await load.stop();
  report('spread', { calls: result.records.length, failed: result.failed, byRouter: result.byRouter });
  expect(result.failed).toBe(0);
  expect(Object.keys(result.byRouter)).toHaveLength(3);
  for (const n of Object.values(result.byRouter)) expect(n / result.ok).toBeGreaterThan(0.2);
});

test('a rolling update of the router image: every task replaced, 0 failed calls', async () => {
  // A new image: the built router image plus a label (a new image ID, the same code).
  const [first] = await tasks('router');
  v2Image = `${platform!.prefix}-router:v2`;
  execFileSync('docker', ['build', '-q', '-t', v2Image, '--label', 'org.mcp-router-platform.test=rolling-update', '-'], { input: `FROM ${first.image}\n`, stdio: ['pipe', 'ignore', 'pipe'], timeout: 120_000 });
  const v2Id = (await docker.getImage(v2Image).inspect()).Id;
  expect(v2Id).not.toBe(first.image);
  const before = (await tasks('router')).map((x) => x.id);

  const load = new SteadyLoad({ target: platform!.endpoint, method: 'ListTools', concurrency: 4, maxCalls: 400_000, maxDurationMs: 300_000, pauseMs: 5 });
  try {
    await sleep(1_000);
    const t = Date.now();
    const startedAt = load.now();
    // The plan with routerImage: the service's image changes, the applier updates it in place.
    platform!.resynth({ routerImage: v2Image });
    const applied = await platform!.apply({ instanceCount: 3 });
    expect(applied.updated).toEqual([expect.stringMatching(/^docker_service\.Platform_Routers_Service_/)]);
    expect(applied.replaced).toEqual([]);
    expect(applied.created).toEqual([]);
    const service = docker.getService(svcName('router'));
    await waitUntil('the rolling update completed', async () => (await service.inspect()).UpdateStatus?.State === 'completed', 300_000, 500).catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify((await service.inspect()).UpdateStatus)}\n${await serviceLogs()}`);
    });
    const updateMs = Date.now() - t;
    await waitRouters(3, '3 new tasks healthy and UP');
    const after = await tasks('router');
    expect(after.every((x) => x.image === v2Id)).toBe(true);
    expect(after.some((x) => before.includes(x.id))).toBe(false);
    await sleep(2_000);
    const result = await load.stop();
    const newIds = routerIds(result.records, load.now() - 1_500);
    report('rolling update', { updateMs, calls: result.records.length, failed: result.failed, byRouter: result.byRouter, routersServingAtTheEnd: newIds.length, failures: result.failures.slice(0, 5) });
    expect(result.failed).toBe(0);
    expect(result.records.filter((r) => r.start > startedAt).length).toBeGreaterThan(100);
    // Old and new instance IDs both served: 3 before + 3 after.
    expect(Object.keys(result.byRouter).length).toBeGreaterThanOrEqual(6);
  } finally {
    await load.stop();
  }
});

test('scaling the replica count 3 -> 5 -> 3 by re-applying the plan, 0 failed calls', async () => {
  const load = new SteadyLoad({ target: platform!.endpoint, method: 'ListTools', concurrency: 4, maxCalls: 400_000, maxDurationMs: 300_000, pauseMs: 5 });
  try {
    await sleep(1_000);
    let t = Date.now();
    const up = await platform!.apply({ instanceCount: 5 });
    expect(up.updated).toEqual([expect.stringMatching(/^docker_service\.Platform_Routers_Service_/)]);
    const upMs = await waitRouters(5, '5 healthy router tasks, all UP in HAProxy');
    const scaleUpMs = Date.now() - t;
    const at5 = load.now();
    await waitUntil('5 routers answer', () => routerIds(load.snapshot().records, at5).length === 5, 60_000, 200);
    t = Date.now();
    const down = await platform!.apply({ instanceCount: 3 });
    expect(down.updated).toEqual([expect.stringMatching(/^docker_service\.Platform_Routers_Service_/)]);
    await waitRouters(3, 'back to 3 healthy router tasks, all UP in HAProxy');
    const scaleDownMs = Date.now() - t;
    await sleep(2_000);
    const result = await load.stop();
    report('scale 3->5->3', { scaleUpMs, upAppliedToAllUpMs: upMs, scaleDownMs, calls: result.records.length, failed: result.failed, byRouter: result.byRouter, failures: result.failures.slice(0, 5) });
    expect(result.failed).toBe(0);
    expect(routerIds(result.records, load.now() - 1_500)).toHaveLength(3);
  } finally {
    await load.stop();
  }
});
