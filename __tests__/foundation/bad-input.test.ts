/** Bad props fail at synth with a message naming the prop, the value and what is allowed. */
import * as fc from 'fast-check';
import { Testing } from 'cdktf';
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
    ['negative memory', { routerMemoryMb: -5 }, /memoryMb must be an integer from 6 to .*received -5/],
    ['zero cpus', { routerCpus: 0 }, /cpus must be a number from 0\.01 to 1024; received 0/],
    ['reserved env', { routerEnvironment: { CONSUL_HOST: 'x' } }, /environment\.CONSUL_HOST must be left unset/],
    ['health check interval', { haproxy: { healthCheck: { interMs: 5 } } }, /healthCheck\.interMs must be an integer from 100 to 3600000; received 5/],
  ])('%s', (_name, props, message) => {
    expect(() => synth(props as McpRouterStackProps)).toThrow(message);
  });
});

describe('property: no input crashes synth without a prop-naming message', () => {
  const anyNumber = fc.oneof(fc.integer({ min: -5, max: 1200 }), fc.double(), fc.constant(NaN), fc.constant(Infinity), fc.constant(-0));
  const anyString = fc.oneof(fc.string(), fc.constantFrom('', 'mcp', 'a-b', 'UPPER', 'x'.repeat(60), '0.0.0.0', '127.0.0.1', 'roundrobin', 'leastconn', 'source', 'http', 'tcp'));
  const props = fc.record(
    {
      instanceCount: anyNumber,
      maxInstances: anyNumber,
      namePrefix: anyString,
      mode: anyString,
      balance: anyString,
      publicPort: fc.oneof(anyNumber, fc.constantFrom(50051, 8404, 8500, 8600)),
      statsPort: fc.oneof(anyNumber, fc.constantFrom(50051, 8404, 8500, 8600)),
      consulHttpPort: fc.oneof(anyNumber, fc.constantFrom(50051, 8404, 8500, 8600)),
      consulDnsPort: fc.oneof(anyNumber, fc.constantFrom(50051, 8404, 8500, 8600)),
      adminBindAddress: anyString,
      publicBindAddress: anyString,
      routerCpus: anyNumber,
      routerMemoryMb: anyNumber,
    },
    { requiredKeys: [] },
  );
  const PROP_NAMES = /(instanceCount|maxInstances|namePrefix|mode|balance|publicPort|statsPort|consulHttpPort|consulDnsPort|adminBindAddress|publicBindAddress|cpus|memoryMb|containerName|hostnamePrefix|httpHostPort|dnsHostPort)/;

  test('synth succeeds or throws an Error naming the prop and the value received', () => {
    fc.assert(
      fc.property(props, (p) => {
        try {
          synth(p as McpRouterStackProps);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          expect((err as Error).constructor.name).not.toMatch(/^(TypeError|RangeError|ReferenceError|SyntaxError)$/);
          expect((err as Error).message).toMatch(PROP_NAMES);
          expect((err as Error).message).toMatch(/must be .*; received /);
        }
      }),
      { numRuns: 300 },
    );
  });
});
