/**
 * `npm run test:docker` (not in `npm test`: about 2 minutes on 2 cores, and its
 * zero-failure load checks want a machine not busy with other suites).
 * The synthesized plan with 3 routers on a real Docker engine (stand-in images,
 * test-only plan applier): every container healthy by its own healthcheck;
 * HAProxy's DNS resolves every router through Consul, checked from inside the
 * containers as the seed's troubleshooting does (nslookup, dig, nc, netstat);
 * calls through the published port spread over the routers; `docker stop` of a
 * router drains it with 0 failed calls; changing the count and re-applying
 * scales 3 -> 5 -> 3 under load with 0 failed calls.
 */
import { SteadyLoad } from '../../scripts/local-platform/steady-load';
import { createRouterClient, unary } from '../../scripts/local-platform/router-client';
import { sleep, waitUntil } from '../../scripts/local-platform/managed-process';
import { EnginePlatform } from './engine-platform';

jest.setTimeout(900_000);

let platform: EnginePlatform;
const figures: Record<string, unknown> = {};
const report = (name: string, value: unknown) => {
  figures[name] = value;
  process.stdout.write(`[docker] ${name}: ${JSON.stringify(value)}\n`);
};
const routerIp = async (i: number) => {
  const info = await platform.docker.getContainer(platform.routerName(i)).inspect();
  return Object.values(info.NetworkSettings.Networks)[0].IPAddress;
};
const echo = { name: 'demo__echo', arguments: { fields: { text: { stringValue: 'hi' } } } };

beforeAll(async () => {
  let t = Date.now();
  platform = await EnginePlatform.create({ stem: 'three', props: { demoBackends: ['demo'] } });
  const applied = await platform.apply({ instanceCount: 3 });
  report('apply 3 routers (ms)', Date.now() - t);
  expect(applied.outputs[`${platform.prefix}_router_instance_names`]).toEqual([1, 2, 3].map((i) => platform.routerName(i)));
  t = Date.now();
  await platform.waitAllHealthy(180_000);
  report('all healthy after apply (ms)', Date.now() - t);
  await waitUntil('HAProxy has 3 routers UP', async () => (await platform.upRouters()) === 3, 60_000, 500);
  const client = createRouterClient(platform.endpoint);
  try {
    await waitUntil('demo tools listed through HAProxy', async () => {
      const tools = await unary(client, 'ListTools', {}, 5_000).catch(() => ({ tools: [] }));
      return tools.tools.some((x: { name: string }) => x.name === 'demo__echo');
    }, 60_000, 500);
  } finally {
    client.close();
  }
});

afterAll(async () => {
  await platform?.destroy();
  process.stdout.write(`[docker] three routers: ${JSON.stringify(figures)}\n`);
});

test('every container is healthy by its own healthcheck', async () => {
  const names = (await platform.containers()).map((c) => c.Names[0].slice(1)).sort();
  expect(names).toEqual([`${platform.prefix}-consul`, `${platform.prefix}-demo-demo`, `${platform.prefix}-haproxy`, ...[1, 2, 3].map((i) => platform.routerName(i))].sort());
  for (const name of names) expect(await platform.health(name)).toBe('healthy');
  // The users the images promise: HAProxy and Consul unprivileged, the router as node (uid 1000).
  expect((await platform.exec(`${platform.prefix}-haproxy`, ['id', '-un'])).stdout.trim()).toBe('haproxy');
  expect((await platform.exec(platform.routerName(1), ['id', '-u'])).stdout.trim()).toBe('1000');
  const consulPs = await platform.exec(`${platform.prefix}-consul`, ['ps', '-o', 'user=', '-C', 'consul']);
  expect(consulPs.stdout.trim()).toBe('consul');
});

test("HAProxy's DNS resolves every router through Consul (nslookup, dig, nc, netstat from inside the containers)", async () => {
  const haproxy = `${platform.prefix}-haproxy`;
  const consul = `${platform.prefix}-consul`;
  const ips = (await Promise.all([1, 2, 3].map(routerIp))).sort();

  // The seed: `docker exec haproxy-lb nslookup mcp-router consul` (Consul DNS is on 8600).
  const srv = await platform.exec(haproxy, ['nslookup', '-port=8600', '-type=SRV', '_mcp-router._tcp.service.consul', consul]);
  expect(srv.code).toBe(0);
  expect(srv.stdout.match(/service = \d+ \d+ 50051 /g)?.length).toBe(3);
  const a = await platform.exec(haproxy, ['dig', `@${consul}`, '-p', '8600', '+short', 'mcp-router.service.consul', 'A']);
  expect(a.stdout.trim().split('\n').sort()).toEqual(ips);

  // HAProxy filled 3 of its server-template slots with exactly those addresses, all UP.
  const servers = await platform.haproxyServers();
  expect(servers.filter((s) => s.status === 'UP').map((s) => s.addr.replace(/:50051$/, '')).sort()).toEqual(ips);
  expect(servers.filter((s) => s.status !== 'UP').every((s) => /MAINT/.test(s.status))).toBe(true);

  // `docker exec haproxy-lb nc -zv <router-hostname> 50051` and the admin port HAProxy checks.
  for (const i of [1, 2, 3]) {
    for (const port of ['50051', '9464']) {
      const nc = await platform.exec(haproxy, ['nc', '-zv', '-w', '3', platform.routerName(i), port]);
      expect({ router: i, port, code: nc.code }).toEqual({ router: i, port, code: 0 });
    }
  }
  // `docker exec <router-container> netstat -tlnp | grep 50051`
  const netstat = await platform.exec(platform.routerName(1), ['netstat', '-tln']);
  expect(netstat.stdout).toMatch(/0\.0\.0\.0:50051\s+0\.0\.0\.0:\*\s+LISTEN/);
  expect(netstat.stdout).toMatch(/0\.0\.0\.0:9464\s+0\.0\.0\.0:\*\s+LISTEN/);
});

test('calls through the published port spread over the 3 routers', async () => {
  const since = Date.now();
  const result = await runToCompletion({ target: platform.endpoint, method: 'CallTool', request: echo, concurrency: 4, maxCalls: 300, maxDurationMs: 60_000, pauseMs: 0 });
  report('spread', { calls: result.records.length, failed: result.failed, byRouter: result.byRouter, failures: failureSummary(result.failures) });
  if (result.failed) report('spread: events', await platform.events(since));
  expect(result.failed).toBe(0);
  expect(Object.keys(result.byRouter).sort()).toEqual([1, 2, 3].map((i) => platform.routerId(i)).sort());
  for (const n of Object.values(result.byRouter)) expect(n / result.ok).toBeGreaterThan(0.2);
});

test('`docker stop` of a router drains it: 0 failed calls, and it stops answering', async () => {
  const since = Date.now();
  const load = new SteadyLoad({ target: platform.endpoint, method: 'CallTool', request: echo, concurrency: 4, maxCalls: 100_000, maxDurationMs: 90_000, pauseMs: 5 });
  await sleep(1_000);
  const t = Date.now();
  await platform.docker.getContainer(platform.routerName(2)).stop(); // Docker's default timeout: the container's stop_timeout
  const stopMs = Date.now() - t;
  const stoppedAt = load.now();
  await waitUntil('HAProxy has 2 routers UP', async () => (await platform.upRouters()) === 2, 30_000, 250);
  await sleep(2_000);
  const result = await load.stop();
  const info = await platform.docker.getContainer(platform.routerName(2)).inspect();
  const afterStop = result.records.filter((r) => r.start > stoppedAt && r.routerId === platform.routerId(2)).length;
  report('docker stop drain', { stopMs, exitCode: info.State.ExitCode, calls: result.records.length, failed: result.failed, byRouter: result.byRouter, router2CallsAfterStop: afterStop, failures: failureSummary(result.failures) });
  if (result.failed) report('docker stop drain: events', await platform.events(since));
  expect(info.State.Running).toBe(false);
  expect(info.State.ExitCode).toBe(0); // drained and exited by itself, not killed at the timeout
  expect(stopMs).toBeLessThan(20_000);
  expect(result.records.length).toBeGreaterThan(100);
  expect(result.failed).toBe(0);
  expect(afterStop).toBe(0);
});

test('re-applying the same plan recreates the stopped router (must_run) and leaves the rest alone', async () => {
  const applied = await platform.apply({ instanceCount: 3 });
  expect(applied.replaced).toEqual([expect.stringMatching(/^docker_container\.Platform_Routers_Router_[A-Z0-9]+\[1\]$/)]);
  expect(applied.created).toEqual([]);
  expect(applied.destroyed).toEqual([]);
  expect(applied.unchanged.filter((a) => a.startsWith('docker_container.'))).toHaveLength(5);
  // Rebuilding unchanged sources gives the same image IDs: nothing else is replaced.
  expect(applied.unchanged.filter((a) => a.startsWith('docker_image.'))).toHaveLength(4);
  await platform.waitAllHealthy(120_000);
  await waitUntil('HAProxy has 3 routers UP', async () => (await platform.upRouters()) === 3, 60_000, 500);
});

test('changing the count and re-applying scales 3 -> 5 -> 3 under load with 0 failed calls', async () => {
  const since = Date.now();
  const load = new SteadyLoad({ target: platform.endpoint, method: 'CallTool', request: echo, concurrency: 4, maxCalls: 300_000, maxDurationMs: 240_000, pauseMs: 5 });
  try {
    await sleep(1_000);
    let t = Date.now();
    const up = await platform.apply({ instanceCount: 5 });
    const scaleUpApplyMs = Date.now() - t;
    expect(up.created.sort()).toEqual([expect.stringMatching(/Router_[A-Z0-9]+\[3\]$/), expect.stringMatching(/Router_[A-Z0-9]+\[4\]$/)]);
    expect(up.replaced).toEqual([]);
    expect(up.destroyed).toEqual([]);
    expect(up.outputs[`${platform.prefix}_router_instance_names`]).toEqual([1, 2, 3, 4, 5].map((i) => platform.routerName(i)));
    const newIds = [platform.routerId(4), platform.routerId(5)];
    const servingMs = await waitUntil('routers 4 and 5 answer calls through HAProxy', () => newIds.every((id) => (load.snapshot().byRouter[id] ?? 0) > 0), 90_000, 200);
    await waitUntil('HAProxy has 5 routers UP', async () => (await platform.upRouters()) === 5, 30_000, 250);

    t = Date.now();
    const down = await platform.apply({ instanceCount: 3 });
    const scaleDownApplyMs = Date.now() - t;
    const downAt = load.now();
    expect(down.destroyed.sort()).toEqual([expect.stringMatching(/Router_[A-Z0-9]+\[3\]$/), expect.stringMatching(/Router_[A-Z0-9]+\[4\]$/)]);
    expect(down.created).toEqual([]);
    expect(down.replaced).toEqual([]);
    expect(await platform.docker.listContainers({ filters: { name: [platform.routerName(4)] } })).toEqual([]);
    await waitUntil('HAProxy back to 3 routers', async () => (await platform.upRouters()) === 3, 30_000, 250);
    await sleep(2_000);
    const result = await load.stop();
    const lateOnRemoved = result.records.filter((r) => r.start > downAt && newIds.includes(r.routerId ?? '')).length;
    report('scale 3->5->3', { scaleUpApplyMs, newRoutersServingAfterMs: servingMs, scaleDownApplyMs, calls: result.records.length, failed: result.failed, byRouter: result.byRouter, callsOnRemovedAfterApply: lateOnRemoved, failures: failureSummary(result.failures) });
    if (result.failed) report('scale 3->5->3: events', await platform.events(since));
    expect(result.failed).toBe(0);
    expect(lateOnRemoved).toBe(0);
  } finally {
    await load.stop();
  }
});

/** A bounded load run to its own end (count or time). */
async function runToCompletion(options: ConstructorParameters<typeof SteadyLoad>[0]) {
  const load = new SteadyLoad(options);
  await waitUntil('load finished', () => load.count >= (options.maxCalls ?? 0) || load.now() >= (options.maxDurationMs ?? 0), (options.maxDurationMs ?? 60_000) + 10_000, 100);
  return load.stop();
}

/** Failed calls grouped by status code and message, with the first and last start time. */
function failureSummary(failures: readonly { code: number; error?: string; start: number }[]) {
  const groups: Record<string, { n: number; first: number; last: number }> = {};
  for (const f of failures) {
    const key = `${f.code} ${f.error ?? ''}`.slice(0, 160);
    const g = (groups[key] ??= { n: 0, first: f.start, last: f.start });
    g.n++;
    g.last = f.start;
  }
  return groups;
}
