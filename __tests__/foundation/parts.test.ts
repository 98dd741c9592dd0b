/**
 * Each part works on its own in someone else's stack, with the network, Consul
 * address or image the caller brings (no McpRouterPlatform around it).
 */
import 'cdktf/lib/testing/adapters/jest';
import { Container } from '@cdktf/provider-docker/lib/container';
import { Image } from '@cdktf/provider-docker/lib/image';
import { Network } from '@cdktf/provider-docker/lib/network';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { TerraformOutput, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { Construct } from 'constructs';
import * as index from '../../constructs';
import { consulCfgOf, haproxyCfgOf } from './synth-helpers';
import { BalanceAlgorithm, ConsulLogLevel, ConsulServer, HaproxyLoadBalancer, HaproxyMode, McpRouterPlatform, RestartPolicy, RouterFleet, RouterImage } from '../../constructs';

Testing.setupJest();

/** Synthesizes a bare stack (a Docker provider and whatever `build` adds). */
function stackWith(build: (scope: Construct) => void): { text: string; json: any; stack: TerraformStack } {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'user-stack');
  new DockerProvider(stack, 'docker', { host: 'ssh://deploy@docker-1' });
  build(stack);
  const text = Testing.synth(stack);
  return { text, json: JSON.parse(text), stack };
}
const only = (json: any, type: string) => {
  const all = Object.values(json.resource?.[type] ?? {});
  expect(all).toHaveLength(1);
  return all[0] as any;
};

test('constructs/index.ts exports the composite, every part and both renderers', () => {
  for (const name of ['McpRouterPlatform', 'ConsulServer', 'RouterFleet', 'RouterImage', 'HaproxyLoadBalancer', 'DemoBackends', 'HaproxyConfig', 'ConsulAgentConfig', 'DockerHost', 'PropError']) {
    expect(index).toHaveProperty(name);
  }
  expect(index.HaproxyConfig.render(index.HaproxyConfig.resolve({ maxInstances: 3 }))).toContain('server-template mcp-router 3 _mcp-router._tcp.service.consul');
  expect(index.HaproxyConfig.DEFAULTS.mode).toBe(index.HaproxyMode.HTTP);
  expect(JSON.parse(index.ConsulAgentConfig.render(index.ConsulAgentConfig.resolve({ datacenter: 'eu1' }))).datacenter).toBe('eu1');
  expect(index.ConsulAgentConfig.DEFAULT_PORTS.dns).toBe(8600);
  expect(index.DockerHost.resolve('ssh://deploy@docker-1')).toBe('ssh://deploy@docker-1');
  expect(index.HaproxyLoadBalancer.nofileFor(10000, 10)).toBe(2 * 10000 + 2 * 10 + 1024);
  expect(index.RouterFleet.GRPC_PORT).toBe(50051);
});

describe('ConsulServer on a network the caller owns', () => {
  let server!: ConsulServer;
  const { text, json } = stackWith((s) => {
    const net = new Network(s, 'net', { name: 'shared-net' });
    server = new ConsulServer(s, 'Consul', { networkName: net.name, containerName: 'registry', agentConfig: { datacenter: 'eu1', logLevel: ConsulLogLevel.WARN } });
  });

  test('one container on that network, config in CONSUL_LOCAL_CONFIG, admin ports on 127.0.0.1', () => {
    expect(text).toHaveResourceWithProperties(Container, { name: 'registry', command: ['agent'] });
    const c = only(json, 'docker_container');
    expect(c.networks_advanced[0].name).toMatch(/^\$\{docker_network\.net\.name\}$/);
    expect(c.networks_advanced[0].aliases).toEqual(['consul']);
    expect(JSON.parse(consulCfgOf(c))).toMatchObject({ datacenter: 'eu1', log_level: 'WARN', node_name: 'registry' });
    expect(c.ports.map((p: any) => p.ip)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    expect(c.healthcheck.test).toEqual(['CMD', 'consul', 'members']);
  });

  test('handles: address, ports, datacenter-aware UI URL, rendered config', () => {
    expect(server.address).toBe('registry');
    expect(server.httpPort).toBe(8500);
    expect(server.dnsPort).toBe(8600);
    expect(server.uiUrl).toBe('http://127.0.0.1:8500/ui/eu1/services/mcp-router');
    expect(server.container).toBeInstanceOf(Container);
    expect(server.image).toBeInstanceOf(Image);
    expect(JSON.parse(server.agentConfig).datacenter).toBe('eu1');
  });

  test('a bad agent option names the construct and the option', () => {
    expect(() => stackWith((s) => new ConsulServer(s, 'C', { networkName: 'n', agentConfig: { bootstrapExpect: 0 } }))).toThrow(
      /^ConsulServer: agentConfig\.bootstrapExpect must be an integer from 1 to 7; received 0$/,
    );
  });
});

describe('RouterFleet with the caller\'s image, Consul and network', () => {
  let fleet!: RouterFleet;
  const { text, json } = stackWith((s) => {
    fleet = new RouterFleet(s, 'Routers', {
      instanceCount: 4,
      image: 'registry.example/mcp-router:1.2.3',
      networkName: 'prod-net',
      consulHost: '10.0.0.5',
      consulPort: 8501,
      serviceName: 'mcp-edge',
      hostnamePrefix: 'edge',
      environment: { LOG_LEVEL: 'debug', MCP_BACKENDS: '[{"name":"a","url":"http://a:3000/mcp"}]' },
      restartPolicy: RestartPolicy.ALWAYS,
    });
    new TerraformOutput(s, 'names', { value: fleet.instanceNames });
  });

  test('one resource with count 4, hostnames edge-1..4, the brought image/network/Consul', () => {
    expect(text).toHaveResourceWithProperties(Container, { count: 4, name: 'edge-${count.index + 1}', hostname: 'edge-${count.index + 1}', image: 'registry.example/mcp-router:1.2.3', restart: 'always' });
    const c = only(json, 'docker_container');
    expect(c.networks_advanced).toEqual([{ name: 'prod-net' }]);
    expect(c.env).toEqual([
      'CONSUL_HOST=10.0.0.5',
      'CONSUL_PORT=8501',
      'MCP_ROUTER_PORT=50051',
      'MCP_ROUTER_METRICS_PORT=9464',
      'MCP_ROUTER_MCP_PORT=8080',
      'MCP_ROUTER_SERVICE_NAME=mcp-edge',
      'MCP_ROUTER_AUTH=none',
      'LOG_LEVEL=debug',
      'MCP_BACKENDS=[{"name":"a","url":"http://a:3000/mcp"}]',
    ]);
    expect(c.ports).toBeUndefined();
    expect(c.stop_signal).toBe('SIGTERM');
    expect(c.stop_timeout).toBe(20);
    expect(json.resource.docker_image).toBeUndefined();
  });

  test('handles: containers, instance names expression, ports', () => {
    expect(fleet.containers).toBeInstanceOf(Container);
    expect(json.output.names.value).toMatch(/^\$\{docker_container\.Routers_Router_[0-9A-F]+\[\*\]\.name\}$/);
    expect(fleet.grpcPort).toBe(50051);
    expect(fleet.adminPort).toBe(9464);
  });

  test('a token count (a variable) becomes Terraform count, and a token host-port base still gives one port per router', () => {
    const { json: j } = stackWith((s) => {
      const n = new TerraformVariable(s, 'routers', { type: 'number', default: 2 });
      const base = new TerraformVariable(s, 'base', { type: 'number', default: 52000 });
      new RouterFleet(s, 'R', { instanceCount: n.numberValue, hostPortBase: base.numberValue, image: 'img', networkName: 'n', consulHost: 'consul' });
    });
    const c = only(j, 'docker_container');
    expect(c.count).toBe('${var.routers}');
    expect(c.ports).toEqual([{ internal: 50051, external: '${(count.index + var.base)}', ip: '127.0.0.1' }]);
  });
});

describe('HaproxyLoadBalancer in front of the caller\'s Consul', () => {
  let lb!: HaproxyLoadBalancer;
  const { text, json } = stackWith((s) => {
    lb = new HaproxyLoadBalancer(s, 'Lb', {
      networkName: 'prod-net',
      consulDnsAddress: '10.0.0.5',
      consulDnsPort: 8600,
      containerName: 'edge-lb',
      publicPort: 443,
      statsPort: 9000,
      config: { mode: HaproxyMode.TCP, balance: BalanceAlgorithm.LEAST_CONN, maxInstances: 20, serviceName: 'mcp-edge' },
    });
  });

  test('container with the rendered config in its environment and the three listeners published (gRPC, stats, MCP)', () => {
    expect(text).toHaveResourceWithProperties(Container, { name: 'edge-lb', networks_advanced: [{ name: 'prod-net' }] });
    const c = only(json, 'docker_container');
    expect(c.upload).toBeUndefined();
    expect(haproxyCfgOf(c)).toBe(lb.configText);
    expect(c.ports).toEqual([
      { internal: 50051, external: 443, ip: '0.0.0.0', protocol: 'tcp' },
      { internal: 8404, external: 9000, ip: '127.0.0.1', protocol: 'tcp' },
      { internal: 8080, external: 8080, ip: '0.0.0.0', protocol: 'tcp' },
    ]);
    expect(lb.configText).toContain('nameserver consul1 10.0.0.5:8600');
    expect(lb.configText).toContain('server-template mcp-edge-mcp 20 mcp-edge.service.consul:8080 ');
    expect(lb.configText).toContain('server-template mcp-edge 20 _mcp-edge._tcp.service.consul ');
    expect(lb.configText).toContain('balance leastconn');
    expect(lb.configText).toMatch(/^defaults\n(?:.*\n)*?    mode tcp$/m);
  });

  test('handles: endpoint and stats URL as published, resolved options', () => {
    expect(lb.endpoint).toBe('127.0.0.1:443');
    expect(lb.statsUrl).toBe('http://127.0.0.1:9000/');
    expect(lb.mcpUrl).toBe('http://127.0.0.1:8080/mcp');
    expect(lb.options.mode).toBe('tcp');
    expect(lb.options.maxInstances).toBe(20);
    expect(lb.image).toBeInstanceOf(Image);
  });

  test('renderer errors are reported as this construct\'s config prop', () => {
    expect(() => stackWith((s) => new HaproxyLoadBalancer(s, 'Lb', { networkName: 'n', consulDnsAddress: 'c', config: { balance: 'random' as any } }))).toThrow(
      /^HaproxyLoadBalancer: config\.balance must be one of roundrobin, leastconn, source; received "random"$/,
    );
  });

  test('enableMcp: false: no MCP listener, port or URL; an mcpPort with it is refused by name', () => {
    let off!: HaproxyLoadBalancer;
    const { json } = stackWith((s) => (off = new HaproxyLoadBalancer(s, 'Lb', { networkName: 'n', consulDnsAddress: '10.0.0.5', enableMcp: false })));
    expect(off.mcpUrl).toBeUndefined();
    expect(off.options.mcpFrontend).toBeUndefined();
    expect(off.configText).not.toContain('mcp_http');
    expect(only(json, 'docker_container').ports.map((p: any) => p.internal)).toEqual([50051, 8404]);
    expect(() => stackWith((s) => new HaproxyLoadBalancer(s, 'Lb', { networkName: 'n', consulDnsAddress: 'c', enableMcp: false, mcpPort: 8081 }))).toThrow(
      /^HaproxyLoadBalancer: mcpPort must be left unset when enableMcp is false; received 8081$/,
    );
  });

  test('the Consul DNS address goes into haproxy.cfg, so a token is refused at synth', () => {
    expect(() =>
      stackWith((s) => {
        const v = new TerraformVariable(s, 'consul', { type: 'string' });
        new HaproxyLoadBalancer(s, 'Lb', { networkName: 'n', consulDnsAddress: v.stringValue });
      }),
    ).toThrow(/HaproxyLoadBalancer: consulDnsAddress must be a literal value known at synth \(not a Terraform token\)/);
  });
});

describe('RouterImage on its own', () => {
  let img!: RouterImage;
  const { json } = stackWith((s) => {
    img = new RouterImage(s, 'Img', { contextPath: 'services/router', imageName: 'me/router:dev', sourceGlobs: ['src/**', 'Dockerfile'] });
    new TerraformOutput(s, 'ref', { value: img.imageRef });
  });
  test('a docker_image build with a plan-time source hash over the given globs', () => {
    const i = only(json, 'docker_image');
    expect(i.name).toBe('me/router:dev');
    // The base image is a build argument, pinned by digest unless given (baseImage).
    expect(i.build).toEqual({ context: '${path.module}/services/router', dockerfile: 'Dockerfile', build_args: { NODE_IMAGE: expect.stringMatching(/^node:20-slim@sha256:[0-9a-f]{64}$/) } });
    expect(i.triggers.source_sha1).toBe(img.sourceHash);
    expect(img.sourceHash).toContain('fileset("${path.module}/services/router", "src/**")');
    expect(img.sourceHash).toContain('fileset("${path.module}/services/router", "Dockerfile")');
    expect(json.output.ref.value).toMatch(/^\$\{docker_image\.Img_Image_[0-9A-F]+\.image_id\}$/);
  });
});

describe('the composite with everything brought', () => {
  test('existing network, Consul and image: only routers and HAProxy are created, wired to what was brought', () => {
    let p!: McpRouterPlatform;
    const { json } = stackWith((s) => {
      p = new McpRouterPlatform(s, 'Mcp', {
        instanceCount: 2,
        existingNetworkName: 'shared',
        existingConsul: { host: 'consul.internal', dnsPort: 53, httpPort: 8501 },
        routerImage: 'registry.example/mcp-router:1',
        serviceName: 'mcp-b',
      });
    });
    expect(Object.keys(json.resource)).toEqual(expect.arrayContaining(['docker_container', 'docker_image']));
    expect(json.resource.docker_network).toBeUndefined();
    expect(Object.keys(json.resource.docker_container)).toHaveLength(2);
    expect(p.consul).toBeUndefined();
    expect(p.network).toBeUndefined();
    expect(p.routerImage).toBeUndefined();
    expect(p.routers!.containers).toBeInstanceOf(Container);
    const cfg = p.loadBalancer!.configText;
    expect(cfg).toContain('nameserver consul1 consul.internal:53');
    expect(cfg).toContain('_mcp-b._tcp.service.consul');
    const routers = Object.values(json.resource.docker_container).find((c: any) => c.count !== undefined) as any;
    expect(routers.env).toEqual(expect.arrayContaining(['CONSUL_HOST=consul.internal', 'CONSUL_PORT=8501', 'MCP_ROUTER_SERVICE_NAME=mcp-b']));
  });
});
