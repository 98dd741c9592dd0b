/** Configuration from the environment: defaults, and invalid values stopping the router at start. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, ENV_VARIABLES, loadConfig } from '../../router-app/src/config';

const ENTRY = path.resolve(__dirname, '..', '..', 'router-app', 'dist', 'main.js');

describe('loadConfig', () => {
  test('defaults follow the seed (CONSUL_HOST=consul, CONSUL_PORT=8500, MCP_ROUTER_PORT=50051) but bound a call: 4 MiB messages, 256 calls in flight', () => {
    const c = loadConfig({ MCP_ROUTER_HOSTNAME: 'mcp-router-3' });
    expect(c.consul).toEqual({ host: 'consul', port: 8500, register: true });
    expect(c.port).toBe(50051);
    expect(c.metricsPort).toBe(9464);
    expect(c.instanceId).toBe('mcp-router-mcp-router-3');
    expect(c.serviceName).toBe('mcp-router');
    expect(c.grpc.maxReceiveBytes).toBe(4 * 1024 * 1024);
    expect(c.grpc.maxSendBytes).toBe(4 * 1024 * 1024);
    expect(c.backends.maxResponseBytes).toBe(4 * 1024 * 1024);
    expect(c.limits).toEqual({ maxConcurrentCalls: 256, maxCallMs: 3_600_000 });
    expect(c.checks).toMatchObject({ tcpInterval: '10s', grpcInterval: '2s' });
  });

  test('GRPC_HTTP2_GC_WORKAROUND: on unless set to false; anything else is refused, naming the variable', () => {
    expect(loadConfig({}).grpc.http2GcWorkaround).toBe(true);
    expect(loadConfig({ GRPC_HTTP2_GC_WORKAROUND: 'false' }).grpc.http2GcWorkaround).toBe(false);
    expect(() => loadConfig({ GRPC_HTTP2_GC_WORKAROUND: 'off' })).toThrow(/GRPC_HTTP2_GC_WORKAROUND="off": must be true or false/);
  });

  test('overrides are parsed and typed', () => {
    const c = loadConfig({
      CONSUL_HOST: 'consul.internal',
      CONSUL_PORT: '18500',
      MCP_ROUTER_PORT: '6000',
      MCP_ROUTER_ADVERTISE_ADDRESS: '10.0.0.7',
      MCP_ROUTER_INSTANCE_ID: 'custom-id',
      MCP_BACKENDS: '[{"name":"demo","url":"http://demo:3000/mcp"}]',
      CONSUL_REGISTER: 'false',
      LOG_LEVEL: 'debug',
    });
    expect(c).toMatchObject({ port: 6000, advertiseAddress: '10.0.0.7', instanceId: 'custom-id', logLevel: 'debug' });
    expect(c.consul).toEqual({ host: 'consul.internal', port: 18500, register: false });
    expect(c.staticBackends).toEqual([{ name: 'demo', url: 'http://demo:3000/mcp' }]);
  });

  test('every problem is reported at once, each naming the variable and the value', () => {
    let err: ConfigError | undefined;
    try {
      loadConfig({ MCP_ROUTER_PORT: 'abc', CONSUL_PORT: '70000', MCP_BACKENDS: 'not json', LOG_LEVEL: 'loud', CONSUL_REGISTER: 'maybe' });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^MCP_ROUTER_PORT="abc": must be an integer from 0 to 65535/),
        expect.stringMatching(/^CONSUL_PORT="70000": must be an integer from 1 to 65535/),
        expect.stringMatching(/^MCP_BACKENDS="not json": must be a JSON array/),
        expect.stringMatching(/^LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent/),
        expect.stringMatching(/^CONSUL_REGISTER="maybe": must be true or false/),
      ]),
    );
    expect(err!.problems).toHaveLength(5);
  });

  test('the hardening bounds: allowed ranges and namespaces, calls in flight, the maximum call time, listing bounds', () => {
    const c = loadConfig({ MCP_ROUTER_BACKEND_ALLOWED_CIDRS: '10.1.0.0/16, fd00::/8', MCP_ROUTER_BACKEND_ALLOWED_NAMESPACES: 'demo@10.1.2.0/24,demo@10.1.3.4,team-*,other', MCP_ROUTER_LISTING_MAX_PAGES: '7' });
    expect(c.backends.allowedCidrs).toEqual([
      { address: '10.1.0.0', prefix: 16, family: 'ipv4' },
      { address: 'fd00::', prefix: 8, family: 'ipv6' },
    ]);
    expect(c.backends.allowedNamespaces).toEqual([
      { name: 'demo', prefix: false, cidrs: [{ address: '10.1.2.0', prefix: 24, family: 'ipv4' }, { address: '10.1.3.4', prefix: 32, family: 'ipv4' }] },
      { name: 'team-', prefix: true, cidrs: [] },
      { name: 'other', prefix: false, cidrs: [] },
    ]);
    expect(c.listing).toEqual({ maxPages: 7, maxItems: 10_000, maxBytes: 8 * 1024 * 1024, timeoutMs: 30_000 });
    // The default ranges: loopback and private, not link-local (the metadata address).
    const d = loadConfig({}).backends.allowedCidrs.map((x) => `${x.address}/${x.prefix}`);
    expect(d).toEqual(['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '::1/128', 'fc00::/7']);
    expect(loadConfig({}).backends.allowedNamespaces).toBeUndefined();
    // A maximum below the default call time lowers it, unless that is set too.
    expect(loadConfig({ MCP_ROUTER_MAX_CALL_MS: '10000' }).timeouts.defaultCallMs).toBe(10_000);

    let err: ConfigError | undefined;
    try {
      loadConfig({
        MCP_ROUTER_BACKEND_ALLOWED_CIDRS: '10.0.0.0/33',
        MCP_ROUTER_BACKEND_ALLOWED_NAMESPACES: 'bad name@10.0.0.0/8',
        MCP_ROUTER_MAX_CONCURRENT_CALLS: '0',
        MCP_ROUTER_DEFAULT_TIMEOUT_MS: '60000',
        MCP_ROUTER_MAX_CALL_MS: '30000',
      });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err!.problems).toHaveLength(4);
    expect(err!.problems).toEqual(expect.arrayContaining([
      'MCP_ROUTER_BACKEND_ALLOWED_CIDRS="10.0.0.0/33": "10.0.0.0/33": the prefix length must be 0 to 32',
      'MCP_ROUTER_BACKEND_ALLOWED_NAMESPACES="bad name@10.0.0.0/8": "bad name@10.0.0.0/8": a namespace rule is a name of letters, digits, "_", "." or "-" (a trailing "*" matches a prefix), optionally followed by @<cidr>',
      'MCP_ROUTER_MAX_CONCURRENT_CALLS="0": must be an integer from 1 to 100000',
      'MCP_ROUTER_DEFAULT_TIMEOUT_MS="60000": must not exceed MCP_ROUTER_MAX_CALL_MS (30000)',
    ]));
  });

  test('backend entries are validated too', () => {
    expect(() => loadConfig({ MCP_BACKENDS: '[{"name":"bad name!","url":"ftp://x"}]' })).toThrow(/MCP_BACKENDS=.*backend name must be/);
  });

  test('MCP_ROUTER_ADVERTISE_CIDR picks the interface address inside the range (a Swarm task has one per network, in no promised order)', () => {
    const iface = (address: string) => ({ address, family: 'IPv4' as const, internal: false, netmask: '255.255.255.0', mac: '02:42:0a:00:00:04', cidr: `${address}/24` });
    // As on a real task: ingress first, the overlay second, docker_gwbridge third.
    const interfaces = { lo: [{ ...iface('127.0.0.1'), internal: true }], eth0: [iface('10.0.0.4')], eth1: [iface('10.213.0.3')], eth2: [iface('172.19.0.3')] };
    expect(loadConfig({ MCP_ROUTER_ADVERTISE_CIDR: '10.213.0.0/20' }, interfaces).advertiseAddress).toBe('10.213.0.3');
    expect(() => loadConfig({ MCP_ROUTER_ADVERTISE_CIDR: '10.99.0.0/16' }, interfaces)).toThrow(
      'MCP_ROUTER_ADVERTISE_CIDR="10.99.0.0/16": no interface of this container has an IPv4 address in that range (it has: lo 127.0.0.1, eth0 10.0.0.4, eth1 10.213.0.3, eth2 172.19.0.3)',
    );
    expect(() => loadConfig({ MCP_ROUTER_ADVERTISE_CIDR: '10.213.0.3' }, interfaces)).toThrow(/MCP_ROUTER_ADVERTISE_CIDR="10\.213\.0\.3": must be an IPv4 range such as 10\.213\.0\.0\/20/);
    expect(() => loadConfig({ MCP_ROUTER_ADVERTISE_CIDR: '10.213.0.0/20', MCP_ROUTER_ADVERTISE_ADDRESS: '10.213.0.9' }, interfaces)).toThrow(/set it or MCP_ROUTER_ADVERTISE_ADDRESS, not both/);
  });

  test('ENV_VARIABLES lists the seed variables', () => {
    expect(ENV_VARIABLES).toEqual(expect.arrayContaining(['CONSUL_HOST', 'CONSUL_PORT', 'MCP_ROUTER_PORT']));
  });

  test("router-app/README.md's environment table lists every variable the router reads, and no other", () => {
    const readme = fs.readFileSync(path.resolve(__dirname, '..', '..', 'router-app', 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('\n## Environment\n'), readme.indexOf('\n## ', readme.indexOf('\n## Environment\n') + 5));
    const documented = [...table.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.filter((v) => !ENV_VARIABLES.includes(v))).toEqual([]);
    expect(ENV_VARIABLES.filter((v) => !documented.includes(v))).toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
  });
});

describe('the router process', () => {
  test.each([
    ['MCP_ROUTER_PORT', 'abc'],
    ['CONSUL_PORT', '70000'],
    ['MCP_BACKENDS', 'not json'],
    ['LOG_LEVEL', 'loud'],
    ['MCP_ROUTER_BIND_ADDRESS', '999.1.1.1'],
    ['MCP_ROUTER_BACKEND_ALLOWED_CIDRS', 'metadata'],
  ])('%s=%s stops it at start: exit 2, message names the variable and the value', (name, value) => {
    const r = spawnSync(process.execPath, [ENTRY], { env: { PATH: process.env.PATH, [name]: value }, encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(2);
    const line = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(line.level).toBe('fatal');
    expect(line.problems.join('\n')).toContain(`${name}=${JSON.stringify(value)}`);
  });
});
