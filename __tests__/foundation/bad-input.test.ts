/** Bad props fail at synth with a message naming the prop, the value and what is allowed. */
import * as fc from 'fast-check';
import { TerraformStack, Testing } from 'cdktf';
import { ConsulServer, HaproxyLoadBalancer, PropError, RouterFleet, RouterImage } from '../../constructs';
import { McpRouterStack, McpRouterStackProps } from '../../main';

function synth(props: McpRouterStackProps): void {
  const app = Testing.app();
  Testing.synth(new McpRouterStack(app, 'bad', { dockerHost: 'unix:///var/run/docker.sock', ...props }));
}

describe('invalid props throw at synth with prop, value and what is allowed', () => {
  test.each([
    ['instanceCount 0', { instanceCount: 0 }, /instanceCount must be an integer from 1 to 10 .*received 0/],
    ['instanceCount -1', { instanceCount: -1 }, /instanceCount must be an integer from 1 to 10 .*received -1/],
    ['instanceCount 2.5', { instanceCount: 2.5 }, /instanceCount must be an integer from 1 to 10 .*received 2\.5/],
    ['instanceCount NaN', { instanceCount: NaN }, /instanceCount must be an integer from 1 to 10 .*received NaN/],
    ['instanceCount above maxInstances', { instanceCount: 11 }, /instanceCount must be an integer from 1 to 10 \(maxInstances\).*received 11/],
    ['instanceCount above a custom maxInstances', { instanceCount: 6, maxInstances: 5 }, /instanceCount must be an integer from 1 to 5 .*received 6/],
    ['unknown balance', { balance: 'random' as any }, /balance must be one of roundrobin, leastconn, source; received "random"/],
    ['unknown mode', { mode: 'udp' as any }, /mode must be one of http, tcp; received "udp"/],
    ['clashing ports', { statsPort: 50051 }, /statsPort must be different from publicPort \(50051\).*received 50051/],
    ['clashing consul port', { consulHttpPort: 8404 }, /consulHttpPort must be different from statsPort \(8404\).*received 8404/],
    ['port out of range', { publicPort: 70000 }, /publicPort must be an integer from 1 to 65535; received 70000/],
    ['empty name', { namePrefix: '' }, /namePrefix must be a non-empty name .*received ""/],
    ['bad name', { namePrefix: 'My_Platform' }, /namePrefix must be .*received "My_Platform"/],
    ['bad admin address', { adminBindAddress: 'localhost' }, /adminBindAddress must be an IPv4 address .*received "localhost"/],
    ['bad docker host', { dockerHost: 'http://docker:2375' }, /dockerHost must be a Docker endpoint URL starting with unix:\/\/, ssh:\/\/, tcp:\/\/.*received "http:\/\/docker:2375"/],
    ['maxInstances 0', { maxInstances: 0 }, /maxInstances must be an integer from 1 to 1000; received 0/],
    ['negative memory', { routerMemoryMb: -5 }, /McpRouterPlatform: routerMemoryMb must be an integer from 6 to .*received -5/],
    ['too few cpus', { routerCpus: 0.001 }, /McpRouterPlatform: routerCpus must be a number of CPUs from 0\.01 to 1024, or 0 for no limit; received 0\.001/],
    ['router memory below Docker\'s minimum', { routerMemoryMb: 4 }, /McpRouterPlatform: routerMemoryMb must be an integer from 6 to 1048576 \(MiB; Docker's minimum is 6\), or 0 for no limit; received 4/],
    ['routerCpus and routerSecurity.cpus', { routerCpus: 1, routerSecurity: { cpus: 2 } }, /McpRouterPlatform: routerCpus must be left unset when security\.cpus is set \(one CPU limit\); received 1/],
    ['a typo in containerSecurity', { containerSecurity: { readOnlyRootFs: false } as any }, /McpRouterPlatform: containerSecurity\.readOnlyRootFs must be left out: readOnlyRootFs is not a container security setting \(known: readOnlyRootFilesystem, /],
    ['an unknown capability', { haproxySecurity: { addCapabilities: ['NET_BIND'] } }, /McpRouterPlatform: haproxySecurity\.addCapabilities\[0\] must be a Linux capability name \(AUDIT_CONTROL, .*received "NET_BIND"/],
    ['ALL added back', { consulSecurity: { addCapabilities: ['ALL'] } }, /McpRouterPlatform: consulSecurity\.addCapabilities\[0\] must be a single capability; to keep Docker's default set, set dropAllCapabilities: false; received "ALL"/],
    ['a relative tmpfs path', { containerSecurity: { tmpfs: { 'var/cache': 'size=1m' } } }, /McpRouterPlatform: containerSecurity\.tmpfs must be absolute container paths \(not "\/", no "\.\."\) as keys; received "var\/cache"/],
    ['tmpfs options with a space', { routerSecurity: { tmpfs: { '/cache': 'size=1m; rm' } } }, /McpRouterPlatform: routerSecurity\.tmpfs\.\/cache must be tmpfs mount options such as "size=16m" .*received "size=1m; rm"/],
    ['log files without rotation', { containerSecurity: { logMaxSizeMb: 0, logMaxFiles: 5 } }, /McpRouterPlatform: containerSecurity\.logMaxFiles must be left unset when logMaxSizeMb is 0 \(no rotation\); received 5/],
    ['readOnlyRootFilesystem as a string', { containerSecurity: { readOnlyRootFilesystem: 'no' as any } }, /McpRouterPlatform: containerSecurity\.readOnlyRootFilesystem must be true or false; received "no"/],
    ['a base image with a space', { nodeBaseImage: 'node 20' }, /McpRouterPlatform: nodeBaseImage must be an image reference such as node:20-slim .*received "node 20"/],
    ['an unknown access log choice', { haproxy: { accessLog: 'some' as any } }, /McpRouterPlatform: haproxy\.accessLog must be one of errors, all; received "some"/],
    ['reserved env', { routerEnvironment: { CONSUL_HOST: 'x' } }, /McpRouterPlatform: routerEnvironment\.CONSUL_HOST must be left unset/],
    ['health check interval', { haproxy: { healthCheck: { interMs: 5 } } }, /healthCheck\.interMs must be an integer from 100 to 3600000; received 5/],
    ['instanceCount Infinity', { instanceCount: Infinity }, /instanceCount must be an integer from 1 to 10 .*received Infinity/],
    ['maxInstances 2.5', { maxInstances: 2.5 }, /maxInstances must be an integer from 1 to 1000; received 2\.5/],
    ['bad serviceName', { serviceName: 'MCP Router' }, /McpRouterPlatform: serviceName must be a non-empty name .*received "MCP Router"/],
    ['empty existingConsul.host', { existingConsul: { host: '' } }, /existingConsul\.host must be the host name or IP of a Consul agent .*received ""/],
    ['existingConsul.dnsPort out of range', { existingConsul: { host: 'c', dnsPort: 0 } }, /existingConsul\.dnsPort must be an integer from 1 to 65535; received 0/],
    ['routerEnvironment not a map', { routerEnvironment: ['A=1'] as any }, /routerEnvironment must be a map of variable names to string values; received \["A=1"\]/],
    ['routerEnvironment non-string value', { routerEnvironment: { LOG_LEVEL: 3 } as any }, /McpRouterPlatform: routerEnvironment\.LOG_LEVEL must be a string; received 3/],
    ['routerEnvironment bad key', { routerEnvironment: { 'log-level': 'x' } }, /McpRouterPlatform: routerEnvironment must be variable names of capital letters.*received "log-level"/],
    ['routerHostPortBase too high', { routerHostPortBase: 65530 }, /McpRouterPlatform: routerHostPortBase must be an integer from 1 to 65526 .*received 65530/],
    ['empty routerImage', { routerImage: '' }, /routerImage must be a non-empty image reference; received ""/],
    ['nbthread above 64', { haproxy: { nbthread: 128 } }, /McpRouterPlatform: haproxy\.nbthread must be an integer from 1 to 64; received 128/],
    ['unknown retry condition', { haproxy: { retryOn: ['always'] as any } }, /McpRouterPlatform: haproxy\.retryOn must be a list of distinct conditions .*received \["always"\]/],
    ['relative TLS host path', { tlsCertificateHostPath: 'certs/server.pem' }, /tlsCertificateHostPath must be an absolute path of a PEM file on the Docker host; received "certs\/server.pem"/],
    ['clashing Consul DNS and stats ports', { consulDnsPort: 8404 }, /consulDnsPort must be different from statsPort \(8404\).*received 8404/],
    ['an even Consul server count', { consulServers: 2 }, /McpRouterPlatform: consulServers must be one of 1, 3, 5 \(an odd number.*received 2/],
    ['4 Consul servers', { consulServers: 4 }, /McpRouterPlatform: consulServers must be one of 1, 3, 5 .*received 4/],
    ['7 Consul servers', { consulServers: 7 }, /McpRouterPlatform: consulServers must be one of 1, 3, 5 .*received 7/],
    ['0 Consul servers', { consulServers: 0, acl: false }, /McpRouterPlatform: consulServers must be one of 1, 3, 5 .*received 0/],
    ['Consul servers as a string', { consulServers: '3' as any }, /McpRouterPlatform: consulServers must be one of 1, 3, 5 .*received "3"/],
    ['acl not a boolean', { acl: 'yes' as any }, /McpRouterPlatform: acl must be true or false; received "yes"/],
    ['acl with existingConsul', { acl: true, existingConsul: { host: 'consul.internal' } }, /McpRouterPlatform: acl must be false with existingConsul .*received true/],
    ['consulServers with existingConsul', { consulServers: 3, existingConsul: { host: 'consul.internal' } }, /McpRouterPlatform: consulServers must be left unset with existingConsul .*received 3/],
    ['a management token file without ACLs', { acl: false, consulManagementTokenFile: '/etc/consul/mgmt' }, /McpRouterPlatform: consulManagementTokenFile must be left unset without acl .*received "\/etc\/consul\/mgmt"/],
    ['a duplicate external server name', { externalMcpServers: [{ name: 'search', url: 'https://a.example/mcp' }, { name: 'search', url: 'https://b.example/mcp' }] }, /McpRouterPlatform: externalMcpServers\[1\]\.name must be distinct from the other external servers' names \("search" appears twice\); received "search"/],
    ['an external server URL with another scheme', { externalMcpServers: [{ name: 'search', url: 'ftp://a.example/mcp' }] }, /McpRouterPlatform: externalMcpServers\[0\]\.url must be an http\(s\) URL .*received "ftp:\/\/a.example\/mcp"/],
    ['an external server URL that is not a URL', { externalMcpServers: [{ name: 'search', url: 'search.example/mcp' }] }, /McpRouterPlatform: externalMcpServers\[0\]\.url must be an http\(s\) URL .*received "search.example\/mcp"/],
    ['an external server URL with credentials', { externalMcpServers: [{ name: 'search', url: 'https://user:pw@a.example/mcp' }] }, /externalMcpServers\[0\]\.url must be an http\(s\) URL .*no credentials/],
    ['an external server URL with a query', { externalMcpServers: [{ name: 'search', url: 'https://a.example/mcp?key=1' }] }, /externalMcpServers\[0\]\.url must be an http\(s\) URL .*received "https:\/\/a.example\/mcp\?key=1"/],
    ['an external server URL with a dot segment', { externalMcpServers: [{ name: 'search', url: 'https://a.example/x/%2e%2e/mcp' }] }, /externalMcpServers\[0\]\.url must be an http\(s\) URL/],
    ['an external server name that is no DNS label', { externalMcpServers: [{ name: 'Search Tool', url: 'https://a.example/mcp' }] }, /McpRouterPlatform: externalMcpServers\[0\]\.name must be a DNS label .*received "Search Tool"/],
    ['an external server check of an unknown type', { externalMcpServers: [{ name: 's', url: 'https://a.example/mcp', check: { type: 'grpc' as any } }] }, /McpRouterPlatform: externalMcpServers\[0\]\.check\.type must be one of tcp, http; received "grpc"/],
    ['an external server TLS name for an http URL', { externalMcpServers: [{ name: 's', url: 'http://10.0.0.7/mcp', tlsServerName: 'mcp.internal' }] }, /externalMcpServers\[0\]\.tlsServerName must be left unset for an http URL/],
    ['external servers with existingConsul', { existingConsul: { host: 'c' }, externalMcpServers: [{ name: 's', url: 'https://a.example/mcp' }] }, /McpRouterPlatform: externalMcpServers must be empty with existingConsul/],
    ['a relative router token path', { acl: false, existingConsul: { host: 'c', routerTokenHostPath: 'token' } }, /McpRouterPlatform: existingConsul\.routerTokenHostPath must be an absolute path of a file on the Docker host; received "token"/],
    ['mcpPort false (the form before enableMcp)', { mcpPort: false as any }, /^McpRouterPlatform: mcpPort must be a port from 1 to 65535; to leave the MCP endpoint out, set enableMcp: false; received false$/],
    ['mcpPort with enableMcp false', { enableMcp: false, mcpPort: 8081 }, /^McpRouterPlatform: mcpPort must be left unset when enableMcp is false; received 8081$/],
    ['enableMcp not a boolean', { enableMcp: 'no' as any }, /^McpRouterPlatform: enableMcp must be true or false; received "no"$/],
    ['mcpPort clashing with statsPort', { mcpPort: 8404 }, /McpRouterPlatform: mcpPort must be different from statsPort \(8404\).*received 8404/],
  ])('%s', (_name, props, message) => {
    expect(() => synth(props as McpRouterStackProps)).toThrow(message);
  });
});

describe('property: no input crashes synth without a prop-naming message', () => {
  const anyNumber = fc.oneof(fc.integer({ min: -5, max: 1200 }), fc.double(), fc.constant(NaN), fc.constant(Infinity), fc.constant(-0));
  const anyString = fc.oneof(fc.string(), fc.constantFrom('', 'mcp', 'a-b', 'UPPER', 'x'.repeat(60), '0.0.0.0', '127.0.0.1', 'roundrobin', 'leastconn', 'source', 'http', 'tcp', '${var.x}'));
  const anyValue = fc.oneof(anyNumber, anyString, fc.constantFrom(null, true, [], {}, ['a']));
  const port = fc.oneof(anyNumber, fc.constantFrom(50051, 8404, 8500, 8600));
  const props = fc.record(
    {
      instanceCount: anyNumber,
      maxInstances: anyNumber,
      namePrefix: anyString,
      serviceName: anyString,
      mode: anyString,
      balance: anyString,
      publicPort: port,
      statsPort: port,
      mcpPort: port,
      enableMcp: anyValue,
      consulHttpPort: port,
      consulDnsPort: port,
      adminBindAddress: anyString,
      publicBindAddress: anyString,
      routerCpus: anyNumber,
      routerMemoryMb: anyNumber,
      routerHostPortBase: anyNumber,
      routerImage: fc.oneof(anyString, anyValue),
      routerEnvironment: fc.oneof(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string(), anyValue), { maxKeys: 3 }), anyValue),
      existingNetworkName: fc.oneof(anyString, anyValue),
      existingConsul: fc.oneof(fc.record({ host: fc.oneof(anyString, anyValue), httpPort: port, dnsPort: port, uiUrl: fc.oneof(anyString, anyValue) }, { requiredKeys: [] }), anyValue),
      demoBackends: fc.oneof(fc.array(anyString, { maxLength: 3 }), anyValue),
      tlsCertificateHostPath: anyString,
      consulServers: fc.oneof(anyNumber, fc.constantFrom(1, 3, 5)),
      acl: fc.oneof(fc.boolean(), anyValue),
      externalMcpServers: fc.oneof(
        fc.array(fc.record({ name: fc.oneof(anyString, fc.constantFrom('search', 'docs')), url: fc.oneof(anyString, fc.constantFrom('https://a.example/mcp', 'http://10.0.0.7:3000/mcp', 'https://x@y/mcp')), namespace: anyValue, check: anyValue, initialStatus: anyValue }, { requiredKeys: ['name', 'url'] }), { maxLength: 3 }),
        anyValue,
      ),
      consulImage: fc.oneof(anyString, anyValue),
      haproxyImage: fc.oneof(anyString, anyValue),
      dockerHost: fc.oneof(anyString, fc.constantFrom('unix:///var/run/docker.sock', 'ssh://u@h', 'tcp://h:2376')),
      haproxy: fc.oneof(
        fc.record(
          {
            healthCheck: fc.oneof(fc.record({ type: anyString, interMs: anyNumber, rise: anyNumber, fall: anyNumber }, { requiredKeys: [] }), anyValue),
            timeouts: fc.oneof(fc.record({ connectMs: anyNumber, clientMs: anyNumber, serverMs: anyNumber, tunnelMs: anyNumber }, { requiredKeys: [] }), anyValue),
            maxconn: anyNumber,
            nbthread: anyNumber,
            stickySessions: anyValue,
            rateLimitConnectionsPer10s: anyNumber,
            retryOn: fc.oneof(fc.array(anyString, { maxLength: 3 }), anyValue),
            prometheusExporter: anyValue,
            dnsHoldObsoleteMs: anyNumber,
            dnsHoldFailureMs: anyNumber,
          },
          { requiredKeys: [] },
        ),
        anyValue,
      ),
    },
    { requiredKeys: [] },
  );
  const PROP_KEYS = ['instanceCount', 'maxInstances', 'namePrefix', 'serviceName', 'mode', 'balance', 'publicPort', 'statsPort', 'mcpPort', 'enableMcp', 'consulHttpPort', 'consulDnsPort', 'adminBindAddress', 'publicBindAddress', 'routerCpus', 'routerMemoryMb', 'routerHostPortBase', 'routerImage', 'routerEnvironment', 'existingNetworkName', 'existingConsul', 'demoBackends', 'tlsCertificateHostPath', 'consulImage', 'haproxyImage', 'dockerHost', 'haproxy', 'consulServers', 'acl', 'externalMcpServers'];
  // A few props at a time, so that some inputs get through to the later stages of synth.
  const someProps = fc
    .tuple(props, fc.shuffledSubarray(PROP_KEYS, { minLength: 1, maxLength: 4 }))
    .map(([p, keys]) => Object.fromEntries(Object.entries(p).filter(([k]) => keys.includes(k))));

  test('synth succeeds or throws a PropError naming the construct, the prop and the value received', () => {
    let ok = 0;
    fc.assert(
      fc.property(someProps, (p) => {
        try {
          synth(p as McpRouterStackProps);
          ok++;
        } catch (err) {
          expect(err).toBeInstanceOf(PropError);
          expect((err as Error).message).toMatch(/^(McpRouterPlatform|McpRouterStack|ConsulServer|RouterFleet|RouterImage|HaproxyLoadBalancer|DemoBackends): [A-Za-z.[\]0-9_-]+ must be .+; received /s);
        }
      }),
      { numRuns: 500 },
    );
    expect(ok).toBeGreaterThan(0);
  }, 120_000);

  test('with only well-typed values, most inputs synthesize (the property exercises the success path too)', () => {
    let ok = 0;
    const sane = fc.record(
      {
        instanceCount: fc.integer({ min: 1, max: 10 }),
        mode: fc.constantFrom('http', 'tcp'),
        balance: fc.constantFrom('roundrobin', 'leastconn', 'source'),
        publicPort: fc.integer({ min: 1, max: 65535 }),
        routerCpus: fc.double({ min: 0.01, max: 8, noNaN: true }),
        routerMemoryMb: fc.integer({ min: 128, max: 4096 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(sane, (p) => {
        try {
          synth(p as McpRouterStackProps);
          ok++;
        } catch (err) {
          // Only a port clash with another default port may refuse these.
          expect((err as Error).message).toMatch(/publicPort must be different from|must be different from publicPort/);
        }
      }),
      { numRuns: 100 },
    );
    expect(ok).toBeGreaterThan(90);
  });
});

describe('property: the parts on their own refuse bad props by name', () => {
  const v = fc.oneof(fc.integer({ min: -3, max: 70000 }), fc.double(), fc.string({ maxLength: 5 }), fc.constantFrom(undefined, null, NaN, '', [], {}, 'ok-name', 'img:1'));
  test('RouterFleet, HaproxyLoadBalancer, ConsulServer, RouterImage', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('fleet', 'lb', 'consul', 'image'),
        fc.record({ a: v, b: v, c: v, d: v, e: v }),
        (kind, x) => {
          const app = Testing.app();
          const stack = new TerraformStack(app, 's');
          try {
            if (kind === 'fleet') new RouterFleet(stack, 'F', { instanceCount: x.a, image: x.b, networkName: x.c, consulHost: x.d, cpus: x.e } as any);
            if (kind === 'lb') new HaproxyLoadBalancer(stack, 'L', { networkName: x.a, consulDnsAddress: x.b, publicPort: x.c, statsPort: x.d, image: x.e } as any);
            if (kind === 'consul') new ConsulServer(stack, 'C', { networkName: 'n', containerName: x.a, httpHostPort: x.b, dnsHostPort: x.c, adminBindAddress: x.d, image: x.e } as any);
            if (kind === 'image') new RouterImage(stack, 'I', { contextPath: x.a, imageName: x.b, sourceGlobs: x.c } as any);
            Testing.synth(stack);
          } catch (err) {
            expect(err).toBeInstanceOf(PropError);
            expect((err as Error).message).toMatch(/^(RouterFleet|HaproxyLoadBalancer|ConsulServer|RouterImage): [A-Za-z.[\]0-9_-]+ must be .+; received /s);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
