/**
 * CI's part of the plan on a real Docker engine: the synthesized plan with one
 * router and a demo MCP server, applied by the test-only plan applier to the
 * engine provisioned by scripts/provision-docker-engine.sh (stand-in images
 * built from Debian packages). Every image builds, every container becomes
 * healthy by its own healthcheck, and a gRPC call through HAProxy's published
 * port reaches the demo server's tools through the router.
 * From inside the containers, the seed's troubleshooting checks pass (nslookup,
 * dig, nc, netstat). The 3-router scenario (spread, drain, scaling) is
 * `npm run test:docker` (__tests__/docker/three-routers.scenario.ts).
 */
import { createRouterClient, unary } from '../../scripts/local-platform/router-client';
import { waitUntil } from '../../scripts/local-platform/managed-process';
import { EnginePlatform } from './engine-platform';

jest.setTimeout(600_000);

let platform: EnginePlatform | undefined;
const timings: Record<string, number> = {};

afterAll(async () => {
  await platform?.destroy();
  process.stdout.write(`[docker] one router: ${JSON.stringify(timings)}\n`);
});

test('one router: the plan applies, every container is healthy by its own healthcheck, a call through HAProxy reaches the demo tools', async () => {
  let t = Date.now();
  // 192 MiB instead of the default 256: the router runs the image's CMD with its heap flags scaled to it (constructs/router-heap.ts).
  platform = await EnginePlatform.create({ stem: 'one', props: { demoBackends: ['demo'], routerMemoryMb: 192 } });
  timings.provisionMs = Date.now() - t;

  t = Date.now();
  const applied = await platform.apply({ instanceCount: 1 });
  timings.applyMs = Date.now() - t;
  expect(applied.created.filter((a) => a.startsWith('docker_container.')).sort()).toEqual(
    [
      expect.stringMatching(/^docker_container\.Platform_Consul_Server_Container_/),
      expect.stringMatching(/^docker_container\.Platform_DemoBackends_Server-demo_/),
      expect.stringMatching(/^docker_container\.Platform_LoadBalancer_Container_/),
      expect.stringMatching(/^docker_container\.Platform_Routers_Router_.*\[0\]$/),
    ].sort(),
  );
  // The two builds (router, demo server) are new for this state; the stand-ins are looked up.
  expect(applied.created.filter((a) => a.startsWith('docker_image.')).sort()).toEqual([
    expect.stringMatching(/^docker_image\.Platform_DemoBackends_Image_/),
    expect.stringMatching(/^docker_image\.Platform_RouterImage_/),
  ]);
  expect(applied.unchanged.filter((a) => a.startsWith('docker_image.')).length).toBe(2);
  expect(applied.outputs[`${platform.prefix}_router_endpoint`]).toBe(platform.endpoint);
  expect(applied.outputs[`${platform.prefix}_router_instance_names`]).toEqual([platform.routerName(1)]);

  t = Date.now();
  const health = await platform.waitAllHealthy(120_000);
  timings.healthyMs = Date.now() - t;
  expect(Object.keys(health).sort()).toEqual([`${platform.prefix}-consul`, `${platform.prefix}-demo-demo`, `${platform.prefix}-haproxy`, platform.routerName(1)].sort());

  t = Date.now();
  const client = createRouterClient(platform.endpoint);
  try {
    await waitUntil('HAProxy has the router UP', async () => (await platform!.upRouters()) === 1, 60_000, 500);
    let tools: string[] = [];
    await waitUntil('the demo tools are listed through HAProxy', async () => {
      tools = (await unary(client, 'ListTools', {}, 5_000).catch(() => ({ tools: [] }))).tools.map((x: { name: string }) => x.name);
      return tools.includes('demo__echo');
    }, 60_000, 500);
    const res = await unary(client, 'CallTool', { name: 'demo__echo', arguments: { fields: { text: { stringValue: 'through the engine' } } } }, 10_000);
    expect(res.isError).toBe(false);
    expect(JSON.stringify(res.content)).toContain('through the engine');
    expect(res.routerInstanceId).toBe(platform.routerId(1));
  } finally {
    client.close();
  }
  timings.firstCallMs = Date.now() - t;

  const haproxy = `${platform.prefix}-haproxy`;
    // Locked down by default (issue 10), as the engine reports it: read-only root filesystem,
  // no capabilities, no-new-privileges, memory and CPU limits, rotated logs; and as the
  // processes see it: a write to / fails, no effective capability, NoNewPrivs set.
  const expected: Record<string, { memoryMb: number; cpus: number; tmpfs: string[] }> = {
    [platform.routerName(1)]: { memoryMb: 192, cpus: 1, tmpfs: ['/tmp'] },
    [`${platform.prefix}-haproxy`]: { memoryMb: 64 + Math.ceil((4000 * 48) / 1024), cpus: 2, tmpfs: ['/run/haproxy'] },
    [`${platform.prefix}-consul`]: { memoryMb: 256, cpus: 1, tmpfs: ['/consul/config'] },
    [`${platform.prefix}-demo-demo`]: { memoryMb: 256, cpus: 1, tmpfs: ['/tmp'] },
  };
  for (const [name, want] of Object.entries(expected)) {
    const host = (await platform.docker.getContainer(name).inspect()).HostConfig as any;
    const seen = {
      ReadonlyRootfs: host.ReadonlyRootfs,
      Tmpfs: Object.keys(host.Tmpfs ?? {}),
      CapDrop: host.CapDrop,
      CapAdd: host.CapAdd ?? [],
      SecurityOpt: host.SecurityOpt,
      MemoryMb: host.Memory / 1024 / 1024,
      Cpus: host.CpuQuota / host.CpuPeriod,
      LogConfig: host.LogConfig,
    };
    process.stdout.write(`[docker] ${name}: ${JSON.stringify(seen)}\n`);
    expect(seen).toEqual({
      ReadonlyRootfs: true,
      Tmpfs: want.tmpfs,
      CapDrop: ['ALL'],
      CapAdd: [],
      SecurityOpt: ['no-new-privileges:true'],
      MemoryMb: want.memoryMb,
      Cpus: want.cpus,
      LogConfig: { Type: 'json-file', Config: { 'max-file': '3', 'max-size': '10m' } },
    });
    const probe = await platform.exec(name, ['sh', '-c', 'touch /lockdown-probe; grep -E "^(CapEff|NoNewPrivs):" /proc/self/status']);
    expect(probe.stderr).toMatch(/Read-only file system/);
    expect(probe.stdout).toMatch(/CapEff:\s+0000000000000000/);
    expect(probe.stdout).toMatch(/NoNewPrivs:\s+1/);
  }

  // The router's node runs with the heap flags of its 192 MiB limit (3/8 of it for the old space).
  const cmdline = (await platform.exec(platform.routerName(1), ['sh', '-c', 'tr "\\0" " " < /proc/1/cmdline'])).stdout.trim();
  process.stdout.write(`[docker] router command: ${cmdline}\n`);
  expect(cmdline).toBe('node --max-semi-space-size=12 --max-old-space-size=72 dist/main.js');

  // HAProxy logs what went wrong, not every call: the calls above left no line; a request it
  // cannot parse (sent from inside its container to the MCP listener) is logged.
  const haproxyLog = async () => (await platform!.docker.getContainer(haproxy).logs({ stdout: true, stderr: true })).toString('utf8');
  expect(await haproxyLog()).not.toMatch(/mcp_router_frontend/);
  await platform.exec(haproxy, ['sh', '-c', "printf 'NOT HTTP\\r\\n\\r\\n' | nc -w 3 127.0.0.1 8080"]);
  let errorLine = '';
  await waitUntil('HAProxy logs the bad request', async () => {
    errorLine = (await haproxyLog()).split('\n').find((l) => l.includes('mcp_http_frontend')) ?? '';
    return errorLine !== '';
  }, 10_000, 250);
  process.stdout.write(`[docker] HAProxy's error line: ${errorLine.replace(/[\x00-\x08]/g, '').trim()}\n`);
  expect(errorLine).toMatch(/ 400 .*PR--|BADREQ/);

  // The seed's troubleshooting, from inside the containers: Consul DNS from HAProxy
  // (nslookup, dig), the router's ports from HAProxy (nc) and in the router (netstat).
  const consul = `${platform.prefix}-consul`;
  const routerInfo = await platform.docker.getContainer(platform.routerName(1)).inspect();
  const ip = Object.values(routerInfo.NetworkSettings.Networks)[0].IPAddress;
  const srv = await platform.exec(haproxy, ['nslookup', '-port=8600', '-type=SRV', '_mcp-router._tcp.service.consul', consul]);
  expect(srv.stdout.match(/service = \d+ \d+ 50051 /g)?.length).toBe(1);
  expect((await platform.exec(haproxy, ['dig', `@${consul}`, '-p', '8600', '+short', 'mcp-router.service.consul'])).stdout.trim()).toBe(ip);
  expect((await platform.exec(haproxy, ['nc', '-zv', '-w', '3', platform.routerName(1), '50051'])).code).toBe(0);
  expect((await platform.exec(platform.routerName(1), ['netstat', '-tln'])).stdout).toMatch(/0\.0\.0\.0:50051\s+0\.0\.0\.0:\*\s+LISTEN/);
});
