/**
 * The Swarm target's plan: snapshots, its structure (services, overlay network,
 * rolling update and rollback, restart policy, resources, placement, publishing,
 * Consul and HAProxy configs) and every new prop refused by name when wrong.
 * The HOST plans are the snapshots of snapshots.test.ts, unchanged by `target`.
 */
import { TerraformStack, Testing } from 'cdktf';
import {
  DeploymentTarget,
  HaproxyMode,
  McpRouterPlatform,
  RouterService,
  SwarmFailureAction,
  SwarmPublishMode,
  SwarmRestartCondition,
  SwarmUpdateOrder,
} from '../../constructs';
import { McpRouterStackProps } from '../../main';
import { byPath, synthStack, synthString } from './synth-helpers';

/** An open Swarm platform: without auth the public ports must be opened knowingly. */
const SWARM: McpRouterStackProps = { target: DeploymentTarget.SWARM, publicBindAddress: '0.0.0.0' };
const decode = (config: any) => Buffer.from(config.data, 'base64').toString('utf8');
const service = (json: any, part: string) => byPath(json, 'docker_service', `Platform/${part}/Service`);
const configOf = (json: any, svc: any) => {
  const ref = /^\$\{docker_config\.([A-Za-z0-9_]+)\.id\}$/.exec(svc.task_spec.container_spec.configs[0].config_id)![1];
  return json.resource.docker_config[ref];
};

describe('Swarm plan snapshots', () => {
  test.each([
    ['swarm, default app (variable instanceCount)', SWARM],
    ['swarm, 3 routers, host publishing, every Swarm prop', {
      ...SWARM,
      instanceCount: 3,
      adminBindAddress: '0.0.0.0',
      mode: HaproxyMode.TCP,
      swarm: {
        subnet: '10.50.0.0/24',
        publishMode: SwarmPublishMode.HOST,
        routerUpdate: { parallelism: 2, delaySeconds: 3, order: SwarmUpdateOrder.STOP_FIRST, failureAction: SwarmFailureAction.PAUSE, monitorSeconds: 30, maxFailureRatio: 0.2 },
        routerRollback: { parallelism: 0, order: SwarmUpdateOrder.START_FIRST },
        routerRestart: { condition: SwarmRestartCondition.ON_FAILURE, delaySeconds: 2, maxAttempts: 5, windowSeconds: 120 },
        routerResources: { limitCpus: 1, limitMemoryMb: 512, reserveCpus: 0.5, reserveMemoryMb: 256 },
        routerPlacement: { constraints: ['node.role==worker'], spreadOver: ['node.labels.zone'], maxReplicasPerNode: 2 },
        routerStopGraceSeconds: 30,
        haproxyReplicas: 2,
        haproxyPlacement: { constraints: ['node.labels.edge==true'] },
      },
      consulServers: 3,
    }],
  ])('%s', (_name, props) => {
    const text = synthString(props as McpRouterStackProps);
    expect(text).not.toMatch(/\/(home|root|tmp|work|Users)\//);
    expect(JSON.parse(text)).toMatchSnapshot();
  });
});

describe('Swarm plan structure', () => {
  const json = synthStack(SWARM);

  test('every service is locked down like the containers: read-only root, no capabilities, log rotation, limits (no-new-privileges: not available)', () => {
    const expected = {
      Routers: { tmpfs: [{ type: 'tmpfs', target: '/tmp', tmpfs_options: { size_bytes: 16 * 1024 * 1024 } }], memory: 256, nanoCpus: 1e9 },
      LoadBalancer: { tmpfs: [], memory: 533, nanoCpus: 2e9 }, // 64 MiB + 48 KiB x maxconn 10,000, as the container
      Consul: { tmpfs: [], memory: 256, nanoCpus: 1e9 },
    } as const;
    for (const [part, want] of Object.entries(expected)) {
      const svc = service(json, part);
      const cs = svc.task_spec.container_spec;
      expect({ part, read_only: cs.read_only, cap_drop: cs.cap_drop, cap_add: cs.cap_add }).toEqual({ part, read_only: true, cap_drop: ['ALL'], cap_add: undefined });
      expect((cs.mounts ?? []).filter((m: any) => m.type === 'tmpfs')).toEqual(want.tmpfs);
      expect(svc.task_spec.log_driver).toEqual({ name: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } });
      expect(svc.task_spec.resources.limits).toEqual({ memory_bytes: want.memory * 1024 * 1024, nano_cpus: want.nanoCpus });
      expect(JSON.stringify(cs)).not.toMatch(/no-new-privileges/);
    }
    // Consul runs as its unprivileged user from the start (no capabilities to switch users), its data dir a volume.
    const consul = service(json, 'Consul').task_spec.container_spec;
    expect(consul.user).toBe('consul');
    expect(consul.env).toMatchObject({ CONSUL_DISABLE_PERM_MGMT: 'true' });
    expect(consul.mounts).toContainEqual({ type: 'volume', target: '/consul/data' });
  });

  test('the lockdown relaxed per part, and resources limits winning where they are set', () => {
    const relaxed = synthStack({ ...SWARM, containerSecurity: { readOnlyRootFilesystem: false, dropAllCapabilities: false, logMaxSizeMb: 0 }, routerSecurity: { memoryMb: 0, cpus: 0 }, swarm: { routerResources: { reserveCpus: 0.5 } } });
    const r = service(relaxed, 'Routers');
    expect(r.task_spec.container_spec.read_only).toBeUndefined();
    expect(r.task_spec.container_spec.cap_drop).toBeUndefined();
    expect(r.task_spec.container_spec.mounts).toBeUndefined();
    expect(r.task_spec.log_driver).toBeUndefined();
    expect(r.task_spec.resources).toEqual({ reservation: { nano_cpus: 5e8 } });
    const sized = service(synthStack({ ...SWARM, routerCpus: 2, routerMemoryMb: 512 }), 'Routers');
    expect(sized.task_spec.resources.limits).toEqual({ memory_bytes: 512 * 1024 * 1024, nano_cpus: 2e9 });
  });

  test('only services, configs, the overlay network, the router image and the session key; no container', () => {
    expect(Object.keys(json.resource).sort()).toEqual(['docker_config', 'docker_image', 'docker_network', 'docker_service', 'random_password']);
    const net = byPath(json, 'docker_network', 'Platform/Network');
    expect(net).toEqual({ name: 'mcp-net', driver: 'overlay', attachable: true, ipam_config: [{ subnet: '10.213.0.0/20' }] });
    expect(Object.values(json.resource.docker_service).map((s: any) => s.name).sort()).toEqual(['mcp-consul', 'mcp-haproxy', 'mcp-router']);
    for (const s of Object.values(json.resource.docker_service) as any[]) expect(s.task_spec.networks_advanced).toEqual([{ name: '${docker_network.Platform_Network_1C72AF19.name}' }]);
    expect(Object.keys(json.output).sort()).toEqual(['consul_ui_url', 'mcp_url', 'router_endpoint', 'router_service_name', 'stats_url']);
  });

  test('routers: replicas = the instanceCount variable, zero-downtime rolling update, rollback, restart policy, drain time', () => {
    const r = service(json, 'Routers');
    expect(r.mode).toEqual({ replicated: { replicas: '${var.instanceCount}' } });
    expect(r.update_config).toEqual({ parallelism: 1, delay: '5s', order: 'start-first', failure_action: 'rollback', monitor: '15s', max_failure_ratio: '0' });
    expect(r.rollback_config).toEqual({ parallelism: 1, delay: '0s', order: 'start-first', failure_action: 'pause', monitor: '5s', max_failure_ratio: '0' });
    expect(r.task_spec.restart_policy).toEqual({ condition: 'any', delay: '5s', max_attempts: 0, window: '0s' });
    expect(r.task_spec.container_spec).toMatchObject({ stop_signal: 'SIGTERM', stop_grace_period: '20s', image: '${docker_image.Platform_RouterImage_A9F0244B.image_id}' });
    // The update waits for a new task to be healthy by this check before it stops an old one.
    expect(r.task_spec.container_spec.healthcheck.test).toEqual(['CMD', 'node', 'dist/healthcheck.js']);
    expect(r.endpoint_spec).toEqual({ mode: 'dnsrr' });
    expect(r.task_spec.resources).toEqual({ limits: { memory_bytes: 256 * 1024 * 1024, nano_cpus: 1e9 } }); // the lockdown's defaults
    expect(r.task_spec.placement).toBeUndefined();
  });

  test('routers register with their overlay address and a per-task instance ID; the session key is a reference', () => {
    const env = service(json, 'Routers').task_spec.container_spec.env;
    expect(env).toMatchObject({
      CONSUL_HOST: 'mcp-consul',
      MCP_ROUTER_ADVERTISE_CIDR: '10.213.0.0/20',
      MCP_ROUTER_INSTANCE_ID: 'mcp-router-{{.Task.Name}}',
      MCP_ROUTER_HOSTNAME: '{{.Service.Name}}-{{.Task.Slot}}',
      MCP_ROUTER_SERVICE_NAME: 'mcp-router',
      MCP_ROUTER_SESSION_KEYS: 'k1=${random_password.Platform_SessionKey_7DF9C957.result}',
    });
  });

  test("HAProxy: the same haproxy.cfg as on one host, as a Docker config; public ports through the routing mesh, stats not published", () => {
    const h = service(json, 'LoadBalancer');
    const cfg = decode(configOf(json, h));
    expect(cfg).toContain('nameserver consul1 mcp-consul:8600');
    expect(cfg).toContain('server-template mcp-router 10 _mcp-router._tcp.service.consul resolvers consul');
    expect(cfg).toContain('http-check send meth GET uri /readyz');
    expect(configOf(json, h).lifecycle).toEqual({ create_before_destroy: true });
    expect(configOf(json, h).name).toMatch(/^mcp-haproxy-cfg-[0-9a-f]{12}$/);
    expect(h.task_spec.container_spec.configs[0]).toMatchObject({ file_name: '/usr/local/etc/haproxy/haproxy.cfg', file_mode: 0o444 });
    expect(h.endpoint_spec).toEqual({
      mode: 'vip',
      ports: [
        { target_port: 50051, published_port: 50051, protocol: 'tcp', publish_mode: 'ingress' },
        { target_port: 8080, published_port: 8080, protocol: 'tcp', publish_mode: 'ingress' },
      ],
    });
    expect(h.depends_on).toEqual(['${docker_service.Platform_Consul_Service_A72CC1B0}']);
    expect(json.output.stats_url.value).toBe('');
  });

  test('Consul: one server, bound to its overlay address, node name from the task, no published port', () => {
    const c = service(json, 'Consul');
    const agent = JSON.parse(decode(configOf(json, c)));
    expect(agent.bind_addr).toBe('{{ GetAllInterfaces | include "network" "10.213.0.0/20" | attr "address" }}');
    expect(agent.node_name).toBeUndefined();
    expect(agent.bootstrap_expect).toBe(1);
    expect(agent.retry_join).toBeUndefined();
    expect(c.mode).toEqual({ replicated: { replicas: 1 } });
    expect(c.task_spec.container_spec.hostname).toBe('{{.Service.Name}}-{{.Task.Slot}}');
    expect(c.endpoint_spec).toEqual({ mode: 'dnsrr' });
    expect(c.update_config.order).toBe('stop-first');
  });

  test('every Swarm prop reaches the plan: resources, placement, update, host publishing, 3 Consul servers one per node, admin published', () => {
    const j = synthStack({
      ...SWARM,
      instanceCount: 3,
      adminBindAddress: '0.0.0.0',
      routerCpus: 1.5,
      swarm: {
        subnet: '10.50.0.0/24',
        publishMode: SwarmPublishMode.HOST,
        routerUpdate: { parallelism: 2, order: SwarmUpdateOrder.STOP_FIRST, failureAction: SwarmFailureAction.CONTINUE, maxFailureRatio: 0.5 },
        routerResources: { limitMemoryMb: 512, reserveCpus: 0.25, reserveMemoryMb: 128 },
        routerPlacement: { constraints: ['node.role==worker', 'node.labels.mcp!=no'], spreadOver: ['node.labels.zone', 'node.labels.rack'] },
        haproxyReplicas: 2,
      },
      consulServers: 3,
    });
    const r = service(j, 'Routers');
    expect(r.mode.replicated.replicas).toBe(3);
    expect(r.update_config).toMatchObject({ parallelism: 2, order: 'stop-first', failure_action: 'continue', max_failure_ratio: '0.5' });
    expect(r.task_spec.resources).toEqual({ limits: { nano_cpus: 1_500_000_000, memory_bytes: 512 * 1024 * 1024 }, reservation: { nano_cpus: 250_000_000, memory_bytes: 128 * 1024 * 1024 } });
    expect(r.task_spec.placement).toEqual({ constraints: ['node.role==worker', 'node.labels.mcp!=no'], prefs: ['spread=node.labels.zone', 'spread=node.labels.rack'] });
    expect(r.task_spec.container_spec.env.MCP_ROUTER_ADVERTISE_CIDR).toBe('10.50.0.0/24');
    const h = service(j, 'LoadBalancer');
    expect(h.mode.replicated.replicas).toBe(2);
    expect(h.endpoint_spec.mode).toBe('dnsrr');
    expect(h.endpoint_spec.ports.map((p: any) => [p.published_port, p.publish_mode])).toEqual([[50051, 'host'], [8080, 'host'], [8404, 'host']]);
    expect(h.task_spec.placement).toEqual({ max_replicas: 1 });
    expect(h.update_config.order).toBe('stop-first'); // a host port cannot be bound twice on a node
    const c = service(j, 'Consul');
    expect(c.mode.replicated.replicas).toBe(3);
    expect(c.task_spec.placement).toEqual({ max_replicas: 1 });
    expect(c.endpoint_spec.ports.map((p: any) => `${p.published_port}/${p.protocol}`)).toEqual(['8500/tcp', '8600/udp', '8600/tcp']);
    const agent = JSON.parse(decode(configOf(j, c)));
    expect(agent).toMatchObject({ bootstrap_expect: 3, retry_join: ['mcp-consul'] });
    expect(j.output.stats_url.value).toBe('http://127.0.0.1:8404/');
    expect(j.output.consul_ui_url.value).toBe('http://127.0.0.1:8500/ui/dc1/services/mcp-router');
  });

  test('tokens keep working: a variable count and a variable CPU limit', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 's');
    const cpus = new (require('cdktf').TerraformVariable)(stack, 'cpus', { type: 'number' }).numberValue;
    const count = new (require('cdktf').TerraformVariable)(stack, 'n', { type: 'number' }).numberValue;
    new McpRouterPlatform(stack, 'Platform', { ...SWARM, instanceCount: count, swarm: { routerResources: { limitCpus: cpus } } } as any);
    const j = JSON.parse(Testing.synth(stack));
    const r = Object.values(j.resource.docker_service).find((s: any) => s.name === 'mcp-router') as any;
    expect(r.mode.replicated.replicas).toBe('${var.n}');
    expect(r.task_spec.resources.limits.nano_cpus).toBe("${floor((var.cpus * 1000000000))}");
  });

  test('nodeBaseImage reaches the router image build on Swarm as on one host (a mirror, or a stand-in without the digest)', () => {
    const image = byPath(synthStack({ ...SWARM, nodeBaseImage: 'mirror.example/node:20-slim' }), 'docker_image', 'Platform/RouterImage');
    expect(image.build.build_args).toEqual({ NODE_IMAGE: 'mirror.example/node:20-slim' });
    const byDefault = byPath(synthStack(SWARM), 'docker_image', 'Platform/RouterImage');
    expect(byDefault.build.build_args.NODE_IMAGE).toMatch(/^node:20-slim@sha256:[0-9a-f]{64}$/);
  });

  test('a prefixed platform names its services, network and configs after the prefix', () => {
    const j = synthStack({ ...SWARM, namePrefix: 'blue' });
    expect(Object.values(j.resource.docker_service).map((s: any) => s.name).sort()).toEqual(['blue-consul', 'blue-haproxy', 'blue-router']);
    expect(byPath(j, 'docker_network', 'Platform/Network').name).toBe('blue-net');
    expect(Object.keys(j.output)).toContain('blue_router_service_name');
  });

  test('the platform exposes the services; the host parts are undefined', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 's');
    const p = new McpRouterPlatform(stack, 'Platform', { ...SWARM, instanceCount: 2 });
    expect(p.routerService).toBeInstanceOf(RouterService);
    expect(p.consulService?.address).toBe('mcp-consul');
    expect(p.haproxyService?.endpoint).toBe('127.0.0.1:50051');
    expect(p.routers).toBeUndefined();
    expect(p.loadBalancer).toBeUndefined();
    expect(p.consul).toBeUndefined();
  });
});

describe('Swarm props are refused by name, with the value and what is allowed', () => {
  test.each([
    ['unknown target', { target: 'k8s' as any }, /McpRouterPlatform: target must be one of host, swarm; received "k8s"/],
    ['swarm settings on a host', { swarm: {} }, /McpRouterPlatform: swarm must be unset unless target is DeploymentTarget\.SWARM; received \{\}/],
    ['no auth, public ports not opened knowingly', { target: DeploymentTarget.SWARM }, /McpRouterPlatform: publicBindAddress must be set with target SWARM and no auth: .*Set auth, or set publicBindAddress: '0\.0\.0\.0'.*received undefined/],
    ['public bind to loopback', { target: DeploymentTarget.SWARM, publicBindAddress: '127.0.0.1' }, /publicBindAddress must be '0\.0\.0\.0' or unset with target SWARM .*received "127\.0\.0\.1"/],
    ['admin bind elsewhere', { ...SWARM, adminBindAddress: '10.0.0.1' }, /adminBindAddress must be '127\.0\.0\.1' \(not published.*received "10\.0\.0\.1"/],
    ['router host ports', { ...SWARM, routerHostPortBase: 51000 }, /routerHostPortBase must be unset with target SWARM.*received 51000/],
    ['demo containers', { ...SWARM, demoBackends: ['demo'] }, /demoBackends must be unset with target SWARM.*received \["demo"\]/],
    ['two CPU limits', { ...SWARM, routerCpus: 1, swarm: { routerResources: { limitCpus: 2 } } }, /swarm\.routerResources\.limitCpus must be unset when routerCpus is set.*received 2/],
    ['two memory limits', { ...SWARM, routerMemoryMb: 256, swarm: { routerResources: { limitMemoryMb: 512 } } }, /swarm\.routerResources\.limitMemoryMb must be unset when routerMemoryMb is set.*received 512/],
    ['swarm not an object', { ...SWARM, swarm: 'yes' as any }, /McpRouterPlatform: swarm must be an object of Swarm settings \(SwarmProps\); received "yes"/],
    ['subnet', { ...SWARM, swarm: { subnet: '10.213.0.1/20' } }, /swarm\.subnet must be an IPv4 subnet such as 10\.213\.0\.0\/20 \(prefix 8 to 28, host bits zero\); received "10\.213\.0\.1\/20"/],
    ['subnet prefix', { ...SWARM, swarm: { subnet: '10.0.0.0/30' } }, /swarm\.subnet must be an IPv4 subnet .*received "10\.0\.0\.0\/30"/],
    ['publishMode', { ...SWARM, swarm: { publishMode: 'mesh' as any } }, /swarm\.publishMode must be one of ingress, host; received "mesh"/],
    ['update parallelism', { ...SWARM, swarm: { routerUpdate: { parallelism: -1 } } }, /swarm\.routerUpdate\.parallelism must be an integer from 0 to 1000; received -1/],
    ['update delay', { ...SWARM, swarm: { routerUpdate: { delaySeconds: 1.5 } } }, /swarm\.routerUpdate\.delaySeconds must be an integer from 0 to 86400; received 1\.5/],
    ['update order', { ...SWARM, swarm: { routerUpdate: { order: 'random' as any } } }, /swarm\.routerUpdate\.order must be one of start-first, stop-first; received "random"/],
    ['update failure action', { ...SWARM, swarm: { routerUpdate: { failureAction: 'retry' as any } } }, /swarm\.routerUpdate\.failureAction must be one of rollback, pause, continue; received "retry"/],
    ['update monitor', { ...SWARM, swarm: { routerUpdate: { monitorSeconds: -5 } } }, /swarm\.routerUpdate\.monitorSeconds must be an integer from 0 to 86400; received -5/],
    ['update failure ratio', { ...SWARM, swarm: { routerUpdate: { maxFailureRatio: 2 } } }, /swarm\.routerUpdate\.maxFailureRatio must be a number from 0 to 1; received 2/],
    ['rollback order', { ...SWARM, swarm: { routerRollback: { order: 'x' as any } } }, /swarm\.routerRollback\.order must be one of start-first, stop-first; received "x"/],
    ['restart condition', { ...SWARM, swarm: { routerRestart: { condition: 'always' as any } } }, /swarm\.routerRestart\.condition must be one of any, on-failure, none; received "always"/],
    ['restart attempts', { ...SWARM, swarm: { routerRestart: { maxAttempts: 1.5 } } }, /swarm\.routerRestart\.maxAttempts must be an integer from 0 to 1000; received 1\.5/],
    ['restart window', { ...SWARM, swarm: { routerRestart: { windowSeconds: -1 } } }, /swarm\.routerRestart\.windowSeconds must be an integer from 0 to 86400; received -1/],
    ['restart delay', { ...SWARM, swarm: { routerRestart: { delaySeconds: 'soon' as any } } }, /swarm\.routerRestart\.delaySeconds must be an integer from 0 to 86400; received "soon"/],
    ['limit cpus', { ...SWARM, swarm: { routerResources: { limitCpus: 0 } } }, /swarm\.routerResources\.limitCpus must be a number from 0\.01 to 1024; received 0/],
    ['limit memory', { ...SWARM, swarm: { routerResources: { limitMemoryMb: 2 } } }, /swarm\.routerResources\.limitMemoryMb must be an integer from 6 to 1048576; received 2/],
    ['reservation above limit', { ...SWARM, swarm: { routerResources: { limitCpus: 1, reserveCpus: 2 } } }, /swarm\.routerResources\.reserveCpus must be at most limitCpus \(1\); received 2/],
    ['memory reservation above limit', { ...SWARM, swarm: { routerResources: { limitMemoryMb: 256, reserveMemoryMb: 512 } } }, /swarm\.routerResources\.reserveMemoryMb must be at most limitMemoryMb \(256\); received 512/],
    ['constraint', { ...SWARM, swarm: { routerPlacement: { constraints: ['node.role=worker'] } } }, /swarm\.routerPlacement\.constraints\[0\] must be constraint expressions such as node\.role==worker.*received "node\.role=worker"/],
    ['constraints not a list', { ...SWARM, swarm: { routerPlacement: { constraints: 'node.role==worker' as any } } }, /swarm\.routerPlacement\.constraints must be a list of constraint expressions/],
    ['spread', { ...SWARM, swarm: { routerPlacement: { spreadOver: ['spread=node.labels.zone'] } } }, /swarm\.routerPlacement\.spreadOver\[0\] must be node attributes such as node\.labels\.zone; received "spread=node\.labels\.zone"/],
    ['max per node', { ...SWARM, swarm: { routerPlacement: { maxReplicasPerNode: -1 } } }, /swarm\.routerPlacement\.maxReplicasPerNode must be an integer from 0 to 1000; received -1/],
    ['stop grace', { ...SWARM, swarm: { routerStopGraceSeconds: 0 } }, /swarm\.routerStopGraceSeconds must be an integer from 1 to 3600; received 0/],
    ['haproxy replicas', { ...SWARM, swarm: { haproxyReplicas: 0 } }, /swarm\.haproxyReplicas must be an integer from 1 to 100; received 0/],
    ['haproxy placement', { ...SWARM, swarm: { haproxyPlacement: { constraints: ['zone'] } } }, /swarm\.haproxyPlacement\.constraints\[0\] must be constraint expressions/],
    ['consul servers', { ...SWARM, consulServers: 2 }, /McpRouterPlatform: consulServers must be 1, 3 or 5 \(a Raft quorum\); received 2/],
    ['Consul ACLs (not built for Swarm yet)', { ...SWARM, acl: true }, /McpRouterPlatform: acl must be false or unset with target SWARM \(Consul ACLs, the Consul stack and external MCP servers are built for target HOST only so far\); received true/],
    ['external MCP servers', { ...SWARM, externalMcpServers: [{ name: 'x', url: 'https://x.example/mcp' }] } as any, /McpRouterPlatform: externalMcpServers must be empty or unset with target SWARM .*received "1 server\(s\)"/],
    ['no-new-privileges (a docker_service has no such field)', { ...SWARM, containerSecurity: { noNewPrivileges: true } }, /McpRouterPlatform: containerSecurity\.noNewPrivileges must be false or unset with target SWARM: the pinned provider's docker_service .* has no no-new-privileges setting.*received true/],
    ['a tmpfs option Swarm cannot take', { ...SWARM, routerSecurity: { tmpfs: { '/var/cache': 'size=8m,uid=1000' } } }, /McpRouterPlatform: routerSecurity\.tmpfs\.\/var\/cache must be size=<n>\[k\|m\|g\] and mode=<octal> only with target SWARM .*received "size=8m,uid=1000"/],
    ['two CPU limits for the routers', { ...SWARM, routerCpus: 2, routerSecurity: { cpus: 1 } }, /McpRouterPlatform: routerSecurity\.cpus must be unset when routerCpus or swarm\.routerResources\.limitCpus is set \(one CPU limit\); received 1/],
    ['two memory limits for the routers', { ...SWARM, swarm: { routerResources: { limitMemoryMb: 512 } }, routerSecurity: { memoryMb: 300 } }, /McpRouterPlatform: routerSecurity\.memoryMb must be unset when routerMemoryMb or swarm\.routerResources\.limitMemoryMb is set \(one memory limit\); received 300/],
    ['a lockdown typo', { ...SWARM, haproxySecurity: { readOnly: true } as any }, /McpRouterPlatform: haproxySecurity\.readOnly must be left out: readOnly is not a container security setting/],
    ['consul placement', { ...SWARM, swarm: { consulPlacement: { maxReplicasPerNode: 0.5 } } }, /swarm\.consulPlacement\.maxReplicasPerNode must be an integer from 0 to 1000; received 0\.5/],
    ['the parts\' errors as platform props', { ...SWARM, routerEnvironment: { MCP_ROUTER_ADVERTISE_CIDR: '10.0.0.0/8' } }, /McpRouterPlatform: routerEnvironment\.MCP_ROUTER_ADVERTISE_CIDR must be left unset/],
    ['the parts\' errors as platform props (image)', { ...SWARM, haproxyImage: ' ' }, /McpRouterPlatform: haproxyImage must be a non-empty image reference/],
  ])('%s', (_name, props, message) => {
    expect(() => synthStack(props as McpRouterStackProps)).toThrow(message);
  });
});
