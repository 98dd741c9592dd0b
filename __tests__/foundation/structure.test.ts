/** Structural assertions on the synthesized plan: every promise of the foundation issue. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Testing } from 'cdktf';
import { Container } from '@cdktf/provider-docker/lib/container';
import { Network } from '@cdktf/provider-docker/lib/network';
import { Image } from '@cdktf/provider-docker/lib/image';
import { HaproxyMode } from '../../constructs';
import { McpRouterStack } from '../../main';
import { byPath, consulCfgOf, haproxyCfgOf, synthStack, synthString } from './synth-helpers';

describe('default app', () => {
  const json = synthStack();
  const routers = byPath(json, 'docker_container', 'Routers/Router');
  const haproxy = byPath(json, 'docker_container', 'LoadBalancer/Container');
  const consul = byPath(json, 'docker_container', 'Consul/Server/Container');

  test('the docker provider targets the given host', () => {
    expect(json.provider.docker[0].host).toBe('unix:///var/run/docker.sock');
  });

  test('has its own bridge network that every container joins', () => {
    const str = synthString();
    expect(Testing.toHaveResourceWithProperties(str, Network.tfResourceType, { name: 'mcp-net', driver: 'bridge' })).toBe(true);
    for (const c of [routers, haproxy, consul]) expect(c.networks_advanced[0].name).toMatch(/^\$\{docker_network\..+\.name\}$/);
  });

  test('instanceCount is a number variable with a range validation, and drives the router count', () => {
    const v = json.variable.instanceCount;
    expect(v.type).toBe('number');
    expect(v.default).toBe(1);
    expect(v.validation[0].condition).toContain('var.instanceCount >= 1');
    expect(v.validation[0].condition).toContain('var.instanceCount <= 10');
    expect(v.validation[0].condition).toContain('floor(var.instanceCount)');
    expect(routers.count).toBe('${var.instanceCount}');
  });

  test('routers: hostnames mcp-router-1..N, the seed env, restart policy, healthcheck, no host ports', () => {
    expect(routers.hostname).toBe('mcp-router-${count.index + 1}');
    expect(routers.name).toBe('mcp-router-${count.index + 1}');
    expect(routers.env).toEqual(expect.arrayContaining(['CONSUL_HOST=mcp-consul', 'CONSUL_PORT=8500', 'MCP_ROUTER_PORT=50051', 'MCP_ROUTER_METRICS_PORT=9464']));
    expect(routers.restart).toBe('unless-stopped');
    expect(routers.healthcheck.test).toEqual(['CMD', 'node', 'dist/healthcheck.js']);
    expect(routers.ports).toBeUndefined();
    expect(routers.image).toMatch(/^\$\{docker_image\..*RouterImage.*\.image_id\}$/);
  });

  test('router image is built from router-app with a source-hash trigger and no absolute path', () => {
    const img = byPath(json, 'docker_image', 'RouterImage');
    expect(img.build.context).toBe('${path.module}/../../../router-app');
    expect(img.build.dockerfile).toBe('Dockerfile');
    expect(img.triggers.source_sha1).toContain('filesha1(');
    expect(img.triggers.source_sha1).toContain('fileset(');
    expect(img.triggers.source_sha1).toContain('"src/**"');
  });

  test('consul: config in CONSUL_LOCAL_CONFIG (a read-only container takes no upload), UI/API and DNS published on 127.0.0.1 only', () => {
    // The image's entrypoint adds -data-dir/-config-dir and drops to the consul user.
    expect(consul.command).toEqual(['agent']);
    expect(consul.upload).toBeUndefined();
    const cfg = JSON.parse(consulCfgOf(consul));
    expect(cfg.server).toBe(true);
    expect(cfg.ui).toBe(true);
    expect(cfg.ports.http).toBe(8500);
    expect(cfg.ports.dns).toBe(8600);
    expect(cfg.dns_config.udp_answer_limit).toBeGreaterThanOrEqual(10);
    expect(consul.ports).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ internal: 8500, external: 8500, ip: '127.0.0.1', protocol: 'tcp' }),
        expect.objectContaining({ internal: 8600, external: 8600, ip: '127.0.0.1', protocol: 'udp' }),
      ]),
    );
    expect(consul.ports.every((p: any) => p.ip === '127.0.0.1')).toBe(true);
  });

  test('haproxy: generated haproxy.cfg in the environment, written to /run/haproxy/haproxy.cfg by the entrypoint; without auth the public 50051 and 8080 stay on 127.0.0.1, as does 8404 stats', () => {
    expect(haproxy.upload).toBeUndefined();
    expect(haproxy.command).toEqual(['haproxy', '-f', '/run/haproxy/haproxy.cfg']);
    const cfg: string = haproxyCfgOf(haproxy);
    expect(cfg).toContain('bind 0.0.0.0:50051 proto h2');
    expect(cfg).toContain('server-template mcp-router 10 _mcp-router._tcp.service.consul resolvers consul');
    expect(cfg).toContain('nameserver consul1 mcp-consul:8600');
    expect(cfg).toContain('init-addr none');
    expect(haproxy.ports).toEqual([
      expect.objectContaining({ internal: 50051, external: 50051, ip: '127.0.0.1' }),
      expect.objectContaining({ internal: 8404, external: 8404, ip: '127.0.0.1' }),
      expect.objectContaining({ internal: 8080, external: 8080, ip: '127.0.0.1' }),
    ]);
  });

  test('outputs: router endpoint, stats URL, Consul UI URL, router instance names', () => {
    expect(json.output.router_endpoint.value).toBe('127.0.0.1:50051');
    expect(json.output.stats_url.value).toBe('http://127.0.0.1:8404/');
    expect(json.output.consul_ui_url.value).toBe('http://127.0.0.1:8500/ui/dc1/services/mcp-router');
    expect(json.output.router_instance_names.value).toMatch(/^\$\{docker_container\..*Router.*\[\*\]\.name\}$/);
  });

  test('no secrets and no absolute paths in the plan; the session key is made at apply time and only referenced', () => {
    const text = synthString();
    const json = JSON.parse(text);
    // The one secret, the MCP session key, is a random_password made at apply time: the plan holds
    // the resource (no value) and references to its result, never a value.
    expect(Object.keys(json.resource.random_password ?? {})).toHaveLength(1);
    const [keyId, key] = Object.entries(json.resource.random_password)[0] as [string, Record<string, unknown>];
    expect(Object.keys(key).sort()).toEqual(['//', 'length', 'special'].filter((k) => k in key).sort());
    const routerEnv: string[] = byPath(json, 'docker_container', 'Routers/Router').env;
    expect(routerEnv).toContain(`MCP_ROUTER_SESSION_KEYS=k1=\${random_password.${keyId}.result}`);
    const withoutKeyRefs = text.replace(new RegExp(`random_password\\.${keyId}\\.result|"random_password"|"${keyId}"`, 'g'), '');
    expect(withoutKeyRefs).not.toMatch(/password|secret|token|encrypt/i);
    expect(text).not.toMatch(/"\/(home|root|work|tmp)\//);
  });

  test('a session-keys file on the Docker host instead: mounted read-only, no random key', () => {
    const json = synthStack({ sessionKeysHostPath: '/etc/mcp-router/session-keys' });
    expect(json.resource.random_password).toBeUndefined();
    const routers = byPath(json, 'docker_container', 'Routers/Router');
    expect(routers.env).toContain('MCP_ROUTER_SESSION_KEYS_FILE=/run/mcp-router/session-keys');
    expect(routers.volumes).toEqual([{ host_path: '/etc/mcp-router/session-keys', container_path: '/run/mcp-router/session-keys', read_only: true }]);
  });
});

describe('props', () => {
  test('a fixed instanceCount gives a fixed count and no variable', () => {
    const json = synthStack({ instanceCount: 3 });
    expect(byPath(json, 'docker_container', 'Routers/Router').count).toBe(3);
    expect(json.variable).toBeUndefined();
  });

  test('maxInstances sets the HAProxy slots and the variable bound', () => {
    const json = synthStack({ maxInstances: 25 });
    expect(haproxyCfgOf(byPath(json, 'docker_container', 'LoadBalancer/Container'))).toContain('server-template mcp-router 25 ');
    expect(json.variable.instanceCount.validation[0].condition).toContain('<= 25');
  });

  test('adminBindAddress opens the admin ports; publicBindAddress moves the public one', () => {
    const json = synthStack({ adminBindAddress: '0.0.0.0', publicBindAddress: '127.0.0.1' });
    const haproxy = byPath(json, 'docker_container', 'LoadBalancer/Container');
    expect(haproxy.ports[0].ip).toBe('127.0.0.1');
    expect(haproxy.ports[1].ip).toBe('0.0.0.0');
    expect(byPath(json, 'docker_container', 'Consul/Server/Container').ports.every((p: any) => p.ip === '0.0.0.0')).toBe(true);
  });

  test('vertical scaling: routerCpus and routerMemoryMb become container limits', () => {
    const r = byPath(synthStack({ routerCpus: 1.5, routerMemoryMb: 512 }), 'docker_container', 'Routers/Router');
    // A CFS quota (1.5 CPUs = 150 ms per 100 ms), not `cpus`, on which provider 3.6.2 panics.
    expect(r.cpus).toBeUndefined();
    expect(r.cpu_period).toBe(100000);
    expect(r.cpu_quota).toBe(150000);
    expect(r.memory).toBe(512);
  });

  test('the containers that need Consul at start depend on its container (depends_on in the plan)', () => {
    const json = synthStack({ demoBackends: ['demo'] });
    const consul = Object.keys(json.resource.docker_container).find((k) => k.includes('Consul_Server_Container'));
    for (const part of ['LoadBalancer/Container', 'Routers/Router', 'DemoBackends/Server-demo']) {
      expect(byPath(json, 'docker_container', part).depends_on).toEqual([`${'$'}{docker_container.${consul}}`]);
    }
    expect(byPath(json, 'docker_container', 'Consul/Server/Container').depends_on).toBeUndefined();
    // With existingConsul there is no container to wait for.
    const own = synthStack({ existingConsul: { host: 'consul.internal' } });
    expect(byPath(own, 'docker_container', 'LoadBalancer/Container').depends_on).toBeUndefined();
  });

  test('routers removed by a lower count or a replacement stop as gracefully as `docker stop`', () => {
    const r = byPath(synthStack(), 'docker_container', 'Routers/Router');
    expect(r.stop_signal).toBe('SIGTERM');
    expect(r.destroy_grace_seconds).toBe(r.stop_timeout);
    expect(r.destroy_grace_seconds).toBe(20);
  });

  test('HAProxy asks for the file descriptors its maxconn needs (ulimit nofile)', () => {
    const lb = (props: object) => byPath(synthStack(props), 'docker_container', 'LoadBalancer/Container');
    expect(lb({}).ulimit).toEqual([{ name: 'nofile', soft: 2 * 10000 + 2 * 10 + 1024, hard: 2 * 10000 + 2 * 10 + 1024 }]);
    expect(lb({ haproxy: { maxconn: 4000 }, maxInstances: 20 }).ulimit[0].hard).toBe(2 * 4000 + 2 * 20 + 1024);
    expect(lb({ haproxy: { maxconn: 5_000_000 } }).ulimit[0].hard).toBe(1_048_576);
  });

  test('routerHostPortBase publishes each router on its own loopback port', () => {
    const r = byPath(synthStack({ routerHostPortBase: 51000 }), 'docker_container', 'Routers/Router');
    expect(r.ports).toEqual([{ internal: 50051, external: '${(count.index + 51000)}', ip: '127.0.0.1' }]);
  });

  test('tcp mode renders a tcp frontend and backend', () => {
    const cfg: string = haproxyCfgOf(byPath(synthStack({ mode: HaproxyMode.TCP }), 'docker_container', 'LoadBalancer/Container'));
    expect(cfg).toContain('mode tcp');
    expect(cfg).not.toContain('proto h2');
  });

  test('bring your own network, Consul and image: nothing of those is created', () => {
    const json = synthStack({ existingNetworkName: 'shared', existingConsul: { host: 'consul.internal', uiUrl: 'http://consul.internal:8500/ui' }, routerImage: 'registry.example/mcp-router:1.2.3' });
    expect(json.resource.docker_network).toBeUndefined();
    expect(Object.keys(json.resource.docker_image)).toHaveLength(1); // haproxy only
    const r = byPath(json, 'docker_container', 'Routers/Router');
    expect(r.image).toBe('registry.example/mcp-router:1.2.3');
    expect(r.env).toContain('CONSUL_HOST=consul.internal');
    expect(r.networks_advanced[0].name).toBe('shared');
    expect(json.output.consul_ui_url.value).toBe('http://consul.internal:8500/ui');
  });

  test('dockerHost accepts unix://, ssh://, tcp:// and falls back to DOCKER_HOST', () => {
    for (const host of ['unix:///run/user/1000/docker.sock', 'ssh://deploy@docker-1', 'tcp://10.1.2.3:2376']) {
      expect(synthStack({ dockerHost: host }).provider.docker[0].host).toBe(host);
    }
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'tcp://docker.example:2375';
    try {
      const app = Testing.app();
      const stack = new McpRouterStack(app, 's');
      expect(JSON.parse(Testing.synth(stack)).provider.docker[0].host).toBe('tcp://docker.example:2375');
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  test('serviceName reaches the routers\' registration, HAProxy\'s SRV lookup and the Consul UI output together', () => {
    const json = synthStack({ serviceName: 'mcp-edge' });
    expect(byPath(json, 'docker_container', 'Routers/Router').env).toContain('MCP_ROUTER_SERVICE_NAME=mcp-edge');
    expect(haproxyCfgOf(byPath(json, 'docker_container', 'LoadBalancer/Container'))).toContain('server-template mcp-edge 10 _mcp-edge._tcp.service.consul ');
    expect(json.output.consul_ui_url.value).toBe('http://127.0.0.1:8500/ui/dc1/services/mcp-edge');
  });

  test('the HAProxy check always targets the routers\' admin port and /readyz, whatever is passed', () => {
    const cfg: string = haproxyCfgOf(byPath(synthStack({ haproxy: { healthCheck: { interMs: 1000, port: 1234, path: '/x' } as any } }), 'docker_container', 'LoadBalancer/Container'));
    expect(cfg).toContain('http-check connect port 9464 proto h1');
    expect(cfg).toContain('http-check send meth GET uri /readyz');
    expect(cfg).toContain('check inter 1000 rise 2 fall 3');
  });

  test('HAProxy\'s server and tunnel timeouts follow the routers\' MCP_ROUTER_MAX_CALL_MS; a bad value fails synth by name', () => {
    const json = synthStack({ routerEnvironment: { MCP_ROUTER_MAX_CALL_MS: '120000' } });
    expect(byPath(json, 'docker_container', 'Routers/Router').env).toContain('MCP_ROUTER_MAX_CALL_MS=120000');
    const cfg: string = haproxyCfgOf(byPath(json, 'docker_container', 'LoadBalancer/Container'));
    expect(cfg).toContain('timeout server 125000ms');
    expect(cfg).toContain('timeout tunnel 125000ms');
    expect(() => synthStack({ routerEnvironment: { MCP_ROUTER_MAX_CALL_MS: '2 min' } })).toThrow(
      'McpRouterPlatform: routerEnvironment.MCP_ROUTER_MAX_CALL_MS must be an integer from 1000 to 86400000 (ms; HAProxy\'s timeouts derive from it); received "2 min"',
    );
  });

  test('TLS: the PEM is mounted read-only from the Docker host and the listener terminates TLS; no key in the plan', () => {
    const text = synthString({ tlsCertificateHostPath: '/etc/mcp/tls/server.pem' });
    const lb = byPath(JSON.parse(text), 'docker_container', 'LoadBalancer/Container');
    expect(lb.volumes).toEqual([{ host_path: '/etc/mcp/tls/server.pem', container_path: '/usr/local/etc/haproxy/certs/server.pem', read_only: true }]);
    expect(haproxyCfgOf(lb)).toContain('bind 0.0.0.0:50051 ssl crt /usr/local/etc/haproxy/certs/server.pem alpn h2 proto h2');
    expect(text).not.toContain('PRIVATE KEY');
    expect(byPath(synthStack(), 'docker_container', 'LoadBalancer/Container').volumes).toBeUndefined();
  });

  test('resource types used are the docker provider\'s', () => {
    const str = synthString();
    expect(Testing.toHaveResource(str, Container.tfResourceType)).toBe(true);
    expect(Testing.toHaveResource(str, Image.tfResourceType)).toBe(true);
  });
});

describe('the MCP endpoint', () => {
  test('enableMcp: false leaves it out: no MCP listener in haproxy.cfg, no published MCP port, no mcp_url output', () => {
    const json = synthStack({ enableMcp: false });
    const lb = byPath(json, 'docker_container', 'LoadBalancer/Container');
    expect(haproxyCfgOf(lb)).not.toContain('mcp_http');
    expect(lb.ports.map((p: any) => p.internal)).toEqual([50051, 8404]);
    expect(json.output.mcp_url).toBeUndefined();
    expect(json.output.router_endpoint.value).toBe('127.0.0.1:50051');
  });
  test('mcpPort moves the published port; the listener inside stays 8080 (on 127.0.0.1 without auth)', () => {
    const lb = byPath(synthStack({ mcpPort: 18080 }), 'docker_container', 'LoadBalancer/Container');
    expect(lb.ports).toEqual(expect.arrayContaining([expect.objectContaining({ internal: 8080, external: 18080, ip: '127.0.0.1' })]));
  });
});

describe('demo backends', () => {
  test('demoBackends deploys the example MCP server per name, registering itself in Consul', () => {
    const json = synthStack({ demoBackends: ['demo', 'tools'] });
    const img = byPath(json, 'docker_image', 'DemoBackends_Image');
    expect(img.build.context).toBe('${path.module}/../../../examples/demo-mcp-server');
    expect(img.triggers.source_sha1).toContain('filesha1(');
    const demo = byPath(json, 'docker_container', 'DemoBackends_Server-demo');
    expect(demo.name).toBe('mcp-demo-demo');
    expect(demo.env).toEqual(['SERVER_NAME=demo', 'PORT=3000', 'CONSUL_HOST=mcp-consul', 'CONSUL_PORT=8500']);
    expect(demo.ports).toBeUndefined();
    expect(byPath(json, 'docker_container', 'DemoBackends_Server-tools').env).toContain('SERVER_NAME=tools');
  });
  test('none by default', () => {
    expect(Object.keys(synthStack().resource.docker_container).some((k) => k.includes('Demo'))).toBe(false);
  });
  test('bad names are refused', () => {
    expect(() => synthStack({ demoBackends: ['Bad Name'] })).toThrow(/McpRouterPlatform: demoBackends must be distinct names matching .*received \["Bad Name"\]/);
  });
});

describe('default build contexts: the package\'s own router-app/ and examples/demo-mcp-server/', () => {
  const REPO = path.resolve(__dirname, '..', '..');
  const contexts = (json: any) => ({ router: byPath(json, 'docker_image', 'RouterImage').build.context as string, demo: byPath(json, 'docker_image', 'DemoBackends_Image').build.context as string });
  const dirs = { router: path.join(REPO, 'router-app'), demo: path.join(REPO, 'examples', 'demo-mcp-server') };

  test.each([
    ['a temporary directory', () => fs.mkdtempSync(path.join(os.tmpdir(), 'ctx-out-'))],
    ['a deeper directory in the repo', () => path.join(fs.mkdtempSync(path.join(REPO, 'cdktf.out.ctx-')), 'nested', 'out')],
  ])('relative from the stack dir, computed at synth: written to %s, the plan still names them', (_name, outdirOf) => {
    const outdir = outdirOf();
    fs.mkdirSync(outdir, { recursive: true });
    try {
      const stack = new McpRouterStack(Testing.app({ outdir }), 'ctx', { dockerHost: 'unix:///var/run/docker.sock', demoBackends: ['demo'] });
      const text = Testing.synth(stack);
      const stackDir = path.join(outdir, 'stacks', 'ctx');
      for (const [which, context] of Object.entries(contexts(JSON.parse(text)))) {
        expect(context).toMatch(/^\$\{path\.module\}\/\.\.\//);
        expect(path.resolve(context.replace('${path.module}', stackDir))).toBe(dirs[which as keyof typeof dirs]);
      }
      expect(text).not.toMatch(/"\/(home|root|work|tmp)\//);
    } finally {
      fs.rmSync(outdir.includes('cdktf.out.ctx-') ? path.dirname(path.dirname(outdir)) : outdir, { recursive: true, force: true });
    }
  });

  test('under a jsii host (JSII_AGENT set: Python), whose package copy does not outlive the synth, they are copied into the stack\'s assets', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctx-jsii-'));
    const saved = process.env.JSII_AGENT;
    process.env.JSII_AGENT = 'Python/3.12.3';
    try {
      const app = new App({ outdir });
      new McpRouterStack(app, 'py', { dockerHost: 'unix:///var/run/docker.sock', demoBackends: ['demo'] });
      app.synth();
      const stackDir = path.join(outdir, 'stacks', 'py');
      const json = JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
      for (const [which, context] of Object.entries(contexts(json))) {
        expect(context).toMatch(/^\$\{path\.module\}\/assets\/[^./][^"]*$/);
        const copy = context.replace('${path.module}', stackDir);
        for (const f of ['Dockerfile', '.dockerignore', 'package.json', 'package-lock.json', 'tsconfig.json', 'src/main.ts']) {
          expect({ which, file: f, same: fs.readFileSync(path.join(copy, f), 'utf8') === fs.readFileSync(path.join(dirs[which as keyof typeof dirs], f), 'utf8') }).toEqual({ which, file: f, same: true });
        }
      }
      // The rebuild trigger hashes the copy.
      expect(byPath(json, 'docker_image', 'RouterImage').triggers.source_sha1).toContain(`fileset("${contexts(json).router}", "src/**")`);
    } finally {
      if (saved === undefined) delete process.env.JSII_AGENT;
      else process.env.JSII_AGENT = saved;
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
