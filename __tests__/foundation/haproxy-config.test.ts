/** Every mode x algorithm (and the optional features) renders a config that real HAProxy accepts. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { PropError } from '../../constructs/validation';
import { BALANCE_ALGORITHMS, HAPROXY_DEFAULTS, HAPROXY_MODES, HaproxyAccessLog, HaproxyConfigOptions, HaproxyMode, HealthCheckType, renderHaproxyConfig as renderResolved, resolveHaproxyConfigOptions, RetryCondition } from '../../haproxy-templates';
/** One section of a rendered config: from its header line to the next blank line. */
const section = (cfg: string, header: string) => {
  const at = cfg.indexOf(`\n${header}\n`);
  if (at < 0) throw new Error(`no section ${header}`);
  const start = at + 1;
  const end = cfg.indexOf('\n\n', start);
  return cfg.slice(start, end < 0 ? undefined : end);
};

/** Options in, text out: resolve (validate, fill defaults), then render. */
const renderHaproxyConfig = (o: HaproxyConfigOptions = {}) => renderResolved(resolveHaproxyConfigOptions(o));

import { requireTool } from '../support/tools';
import { byPath, haproxyCfgOf, synthStack } from './synth-helpers';

const haproxy = requireTool('haproxy');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'haproxy-cfg-'));

function haproxyCheck(text: string, name: string): string {
  const file = path.join(dir, `${name}.cfg`);
  fs.writeFileSync(file, text);
  try {
    return execFileSync(haproxy, ['-c', '-f', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`haproxy -c rejected ${name}:\n${e.stdout}${e.stderr}\n--- config ---\n${text}`);
  }
}

// Loopback nameserver so `haproxy -c` needs no Docker DNS.
const base: HaproxyConfigOptions = { nameservers: [{ address: '127.0.0.1', port: 8600 }] };

describe('haproxy -c accepts the rendered config', () => {
  for (const mode of HAPROXY_MODES) {
    for (const balance of BALANCE_ALGORITHMS) {
      test(`${mode} / ${balance}`, () => {
        expect(haproxyCheck(renderHaproxyConfig({ ...base, mode, balance }), `${mode}-${balance}`)).toMatch(/Configuration file is valid/);
      });
    }
  }
  test.each([
    ['tcp health check', { healthCheck: { type: HealthCheckType.TCP } }],
    ['sticky sessions + rate limit + nbthread', { stickySessions: true, rateLimitConnectionsPer10s: 100, nbthread: 2 }],
    ['tcp mode with sticky sessions', { mode: HaproxyMode.TCP, stickySessions: true }],
    ['100 slots', { maxInstances: 100 }],
    ['a log line per call, http', { accessLog: HaproxyAccessLog.ALL }],
    ['a log line per connection, tcp', { mode: HaproxyMode.TCP, accessLog: HaproxyAccessLog.ALL }],
    ['errors only, tcp', { mode: HaproxyMode.TCP, accessLog: HaproxyAccessLog.ERRORS }],
  ])('%s', (name, extra) => {
    expect(haproxyCheck(renderHaproxyConfig({ ...base, ...extra }), name.replace(/\W+/g, '-'))).toMatch(/Configuration file is valid/);
  });

  test('the exact file the HAProxy container gets (nameserver by container name) is valid', () => {
    // The container resolves "mcp-consul" through Docker's DNS; here it is made resolvable as localhost.
    const cfg: string = haproxyCfgOf(byPath(synthStack(), 'docker_container', 'LoadBalancer/Container'));
    expect(cfg).toContain('nameserver consul1 mcp-consul:8600');
    expect(haproxyCheck(cfg.replace('mcp-consul:8600', 'localhost:8600'), 'container')).toMatch(/Configuration file is valid/);
  });
});

describe('the access log: errors by default, every call when asked (issue 10)', () => {
  test('default: option dontlog-normal in defaults, so every proxy (gRPC, MCP, stats) logs only what went wrong', () => {
    expect(HAPROXY_DEFAULTS.accessLog).toBe(HaproxyAccessLog.ERRORS);
    for (const mode of HAPROXY_MODES) {
      const d = section(renderHaproxyConfig({ ...base, mode }), 'defaults');
      expect(d).toContain('    log global');
      expect(d).toContain('    option dontlog-normal');
      expect(d).toContain(mode === HaproxyMode.HTTP ? '    option httplog' : '    option tcplog');
    }
  });
  test('ALL: a line for every call, as before', () => {
    const cfg = renderHaproxyConfig({ ...base, accessLog: HaproxyAccessLog.ALL });
    expect(cfg).not.toContain('dontlog-normal');
    expect(section(cfg, 'defaults')).toContain('    option httplog');
  });
  test('anything else is refused by name', () => {
    expect(() => renderHaproxyConfig({ ...base, accessLog: 'sampled' as HaproxyAccessLog })).toThrow('renderHaproxyConfig: accessLog must be one of errors, all; received "sampled"');
  });
});

describe('rendered config content', () => {
  const http = renderHaproxyConfig(base);
  const tcp = renderHaproxyConfig({ ...base, mode: HaproxyMode.TCP });

  test('seed defaults: health checks inter 2000 rise 2 fall 3, 10 slots from the SRV record, init-addr none', () => {
    expect(http).toMatch(/server-template mcp-router 10 _mcp-router\._tcp\.service\.consul resolvers consul resolve-prefer ipv4 init-addr none check inter 2000 rise 2 fall 3/);
  });
  test('resolvers accept large answers (all routers of a full deployment)', () => {
    expect(http).toContain('accepted_payload_size 8192');
  });
  test('http mode is HTTP/2 end to end and checks /readyz on the admin port', () => {
    expect(http).toContain('bind 0.0.0.0:50051 proto h2');
    expect(http).toMatch(/check inter 2000 rise 2 fall 3 proto h2$/m);
    expect(http).toContain('http-check connect port 9464 proto h1');
    expect(http).toContain('http-check send meth GET uri /readyz');
    expect(http).toContain('retry-on conn-failure empty-response');
  });
  test('http mode keeps one backend connection per call in flight (http-reuse safe), so a stalled client cannot stall others', () => {
    expect(http).toMatch(/^backend mcp_router_backend\n(?:    .*\n)*    http-reuse safe\n/m);
    expect(section(tcp, 'backend mcp_router_backend')).not.toContain('http-reuse');
  });
  test('tcp mode proxies bytes (the seed) and still checks readiness', () => {
    expect(tcp).toContain('mode tcp');
    expect(tcp).not.toContain('proto h2');
    expect(tcp).toContain('http-check send meth GET uri /readyz');
  });
  test('tcp health check option uses tcp-check on the gRPC port', () => {
    const t = renderHaproxyConfig({ ...base, healthCheck: { type: HealthCheckType.TCP } });
    expect(t).toContain('option tcp-check');
    expect(t).not.toContain('port 9464');
  });
  test('stats page and Prometheus exporter; global maxconn; timeouts', () => {
    expect(http).toMatch(/frontend stats\n    mode http\n    bind 0\.0\.0\.0:8404/);
    expect(http).toContain('stats enable');
    expect(http).toContain('use-service prometheus-exporter');
    expect(http).toContain('maxconn 10000');
    expect(http).toContain('timeout connect 3000ms');
  });
  test('renderer is pure: same options, same text', () => {
    expect(renderHaproxyConfig(base)).toBe(http);
  });
});

describe('options', () => {
  test('retryOn: the default retries refused and empty calls; [] turns L7 retries off; tcp mode has none', () => {
    expect(renderHaproxyConfig(base)).toContain('    retry-on conn-failure empty-response\n');
    expect(renderHaproxyConfig({ ...base, retryOn: [RetryCondition.CONN_FAILURE] })).toContain('    retry-on conn-failure\n');
    expect(section(renderHaproxyConfig({ ...base, retryOn: [] }), 'backend mcp_router_backend')).not.toContain('retry-on');
    expect(section(renderHaproxyConfig({ ...base, mode: HaproxyMode.TCP }), 'backend mcp_router_backend')).not.toContain('retry-on');
    // The MCP backend always retries only what never reached a router.
    expect(section(renderHaproxyConfig({ ...base, retryOn: [] }), 'backend mcp_http_backend')).toContain('    retry-on conn-failure\n');
    expect(haproxyCheck(renderHaproxyConfig({ ...base, retryOn: [RetryCondition.CONN_FAILURE, RetryCondition.RESPONSE_TIMEOUT, RetryCondition.JUNK_RESPONSE] }), 'retry-on')).toMatch(/Configuration file is valid/);
  });

  test('TLS termination: ssl crt with ALPN h2 on the public listener, accepted by haproxy -c with a real PEM', () => {
    const pem = path.join(dir, 'server.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${pem}.key`, '-out', `${pem}.crt`, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'pipe' });
    fs.writeFileSync(pem, fs.readFileSync(`${pem}.crt`, 'utf8') + fs.readFileSync(`${pem}.key`, 'utf8'));
    for (const mode of HAPROXY_MODES) {
      const cfg = renderHaproxyConfig({ ...base, mode, tlsCertificatePath: pem });
      expect(cfg).toContain(`bind 0.0.0.0:50051 ssl crt ${pem} alpn h2`);
      expect(haproxyCheck(cfg, `tls-${mode}`)).toMatch(/Configuration file is valid/);
    }
  });

  test('the local harness shape: every address and port moved to loopback', () => {
    const cfg = renderHaproxyConfig({
      frontend: { address: '127.0.9.1', port: 15051 },
      stats: { address: '127.0.9.1', port: 18404 },
      nameservers: [{ address: '127.0.9.2', port: 18600 }],
      healthCheck: { port: 19464 },
    });
    expect(cfg).toContain('bind 127.0.9.1:15051 proto h2');
    expect(cfg).toContain('bind 127.0.9.1:18404');
    expect(cfg).toContain('nameserver consul1 127.0.9.2:18600');
    expect(cfg).toContain('http-check connect port 19464 proto h1');
    expect(haproxyCheck(cfg, 'local')).toMatch(/Configuration file is valid/);
  });

  test('server and tunnel timeouts derive from the routers\' longest call; one set below it is refused by name; timeout http-request is set', () => {
    const http = renderHaproxyConfig(base);
    expect(http).toContain('timeout server 3605000ms'); // the router's default MCP_ROUTER_MAX_CALL_MS (1 h) + 5 s
    expect(http).toContain('timeout tunnel 3605000ms');
    expect(http).toContain('timeout http-request 10000ms');
    const short = renderHaproxyConfig({ ...base, maxCallMs: 120_000 });
    expect(short).toContain('timeout server 125000ms');
    expect(short).toContain('timeout tunnel 125000ms');
    expect(() => renderHaproxyConfig({ ...base, maxCallMs: 120_000, timeouts: { serverMs: 60_000 } })).toThrow(
      'renderHaproxyConfig: timeouts.serverMs must be at least maxCallMs + 1000 (121000): the routers run calls up to 120000 ms and HAProxy must not cut them (leave it unset to derive it); received 60000',
    );
    expect(() => renderHaproxyConfig({ ...base, timeouts: { tunnelMs: 60_000 } })).toThrow(/timeouts\.tunnelMs must be at least maxCallMs \+ 1000 \(3601000\)/);
    expect(renderHaproxyConfig({ ...base, maxCallMs: 120_000, timeouts: { serverMs: 200_000, httpRequestMs: 5_000 } })).toMatch(/timeout server 200000ms\n    timeout tunnel 125000ms\n    timeout http-request 5000ms/);
  });

  test('HAPROXY_DEFAULTS documents the defaults the renderer uses', () => {
    expect(resolveHaproxyConfigOptions()).toMatchObject({ ...HAPROXY_DEFAULTS, nameservers: [{ address: 'consul', port: 8600 }] });
  });
});

describe('property: the renderer either refuses an option by name or emits a config haproxy -c accepts', () => {
  const pem = path.join(dir, 'prop.pem');
  beforeAll(() => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${pem}.key`, '-out', `${pem}.crt`, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'pipe' });
    fs.writeFileSync(pem, fs.readFileSync(`${pem}.crt`, 'utf8') + fs.readFileSync(`${pem}.key`, 'utf8'));
  });
  // Each option is usually valid and sometimes not, so that both outcomes are common.
  const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) => fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: invalid as fc.Arbitrary<T | U> });
  const num = (min: number, max: number) => mostly(fc.integer({ min, max }), fc.oneof(fc.integer({ min: -10, max: min - 1 }), fc.integer({ min: max + 1, max: 2 * max + 10 }), fc.double({ noInteger: true }), fc.constantFrom(NaN, Infinity, '5', null)));
  const port = () => mostly(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(0, -1, 65536, 1.5, NaN, '80'));
  // Listener and nameserver hosts: ones that resolve here, plus malformed ones (a well-formed but
  // unknown host name would be accepted and fail haproxy -c's resolution, which no renderer can know).
  const listenHost = mostly(fc.constantFrom('127.0.0.1', '0.0.0.0', '127.1.2.3'), fc.constantFrom('', 'bad host', 'localhost', '300.1.1.1', '::1', 7));
  const nsHost = mostly(fc.constantFrom('127.0.0.1', '127.1.2.3', 'localhost'), fc.constantFrom('', 'bad host', 'a_b', '::1', 7));
  const options = fc.record(
    {
      mode: mostly(fc.constantFrom('http', 'tcp'), fc.constantFrom('udp', '', 'HTTP', 1)),
      balance: mostly(fc.constantFrom('roundrobin', 'leastconn', 'source'), fc.constantFrom('random', 'first', '', null)),
      frontend: mostly(fc.record({ address: listenHost, port: port() }), fc.constantFrom(null, 'x', {})),
      stats: mostly(fc.record({ address: listenHost, port: port() }), fc.constantFrom(null, 'x', {})),
      serviceName: mostly(fc.constantFrom('mcp-router', 'a', 'router2', 'x-y-z'), fc.oneof(fc.constantFrom('-x', 'UPPER', '', 'a_b'), fc.string({ maxLength: 8 }))),
      consulDomain: mostly(fc.constantFrom('consul', 'service.internal'), fc.constantFrom('a..b', '', ' ')),
      nameservers: mostly(fc.array(fc.record({ address: nsHost, port: port() }), { minLength: 1, maxLength: 3 }), fc.constantFrom([], 7, 'consul:8600')),
      maxInstances: num(1, 1000),
      healthCheck: mostly(
        fc.record(
          {
            type: mostly(fc.constantFrom('readyz', 'tcp'), fc.constantFrom('http', '')),
            port: port(),
            path: mostly(fc.constantFrom('/readyz', '/', '/a/b'), fc.constantFrom('readyz', '/a b', '')),
            interMs: num(100, 10000),
            rise: num(1, 100),
            fall: num(1, 100),
          },
          { requiredKeys: [] },
        ),
        fc.constantFrom('fast', 5),
      ),
      maxconn: num(1, 100000),
      nbthread: num(1, 64),
      retryOn: mostly(fc.subarray(['conn-failure', 'empty-response', 'response-timeout', 'junk-response']), fc.constantFrom(['bogus'], ['conn-failure', 'conn-failure'], 'conn-failure')),
      maxCallMs: num(1000, 100000),
      timeouts: fc.record({ connectMs: num(1, 100000), clientMs: num(1, 100000), serverMs: num(1, 200000), tunnelMs: num(1, 86_400_000), httpRequestMs: num(1, 100000) }, { requiredKeys: [] }),
      dnsHoldObsoleteMs: num(0, 100000),
      dnsHoldFailureMs: num(0, 100000),
      stickySessions: mostly(fc.boolean(), fc.constantFrom('yes', 1)),
      rateLimitConnectionsPer10s: num(1, 100000),
      tlsCertificatePath: mostly(fc.constant(pem), fc.constantFrom('relative.pem', '/with space.pem', '')),
      prometheusExporter: mostly(fc.boolean(), fc.constantFrom(1, 'no')),
    },
    { requiredKeys: [] },
  );
  const NAMES = ['mode', 'balance', 'frontend', 'stats', 'serviceName', 'consulDomain', 'nameservers', 'maxInstances', 'healthCheck', 'maxconn', 'nbthread', 'retryOn', 'maxCallMs', 'timeouts', 'dnsHoldObsoleteMs', 'dnsHoldFailureMs', 'stickySessions', 'rateLimitConnectionsPer10s', 'tlsCertificatePath', 'prometheusExporter'];

  test('300 random option sets', () => {
    let rendered = 0;
    let refused = 0;
    fc.assert(
      fc.property(options, (o) => {
        let cfg: string;
        try {
          // The default nameserver is the container's "consul", unknown here: use loopback unless generated.
          cfg = renderHaproxyConfig({ ...base, ...(o as HaproxyConfigOptions) });
        } catch (err) {
          expect(err).toBeInstanceOf(PropError);
          const m = /^renderHaproxyConfig: (\S+) must be .+; received .+$/s.exec((err as Error).message);
          expect(m).not.toBeNull();
          expect(NAMES).toContain(m![1].split(/[.[]/)[0]);
          refused++;
          return;
        }
        rendered++;
        expect(haproxyCheck(cfg, `prop-${rendered}`)).toMatch(/Configuration file is valid/);
      }),
      { numRuns: 300 },
    );
    // The generator reaches both outcomes (otherwise the property says little).
    expect(rendered).toBeGreaterThan(10);
    expect(refused).toBeGreaterThan(10);
  }, 120_000);
});

describe('the MCP listener', () => {
  test('http mode whatever the gRPC mode, balanced per request over the routers\' MCP ports from the A record, same readiness check; passes haproxy -c', () => {
    for (const mode of HAPROXY_MODES) {
      const cfg = renderHaproxyConfig({ ...base, mode, mcpFrontend: { address: '127.0.0.1', port: 18080 }, routerMcpPort: 8123 });
      const fe = section(cfg, 'frontend mcp_http_frontend');
      expect(fe).toContain('    mode http\n');
      expect(fe).toContain('    bind 127.0.0.1:18080\n');
      const be = section(cfg, 'backend mcp_http_backend');
      expect(be).toContain('    mode http\n');
      expect(be).toContain('    http-check send meth GET uri /readyz\n');
      expect(be).toMatch(/server-template mcp-router-mcp 10 mcp-router\.service\.consul:8123 resolvers consul resolve-prefer ipv4 init-addr none check inter 2000 rise 2 fall 3\n?$/);
      // No stickiness and no response buffering: any router answers, SSE streams as it comes.
      expect(be).not.toMatch(/stick|http-buffer-request/);
      expect(haproxyCheck(cfg, `mcp-${mode}`)).toMatch(/Configuration file is valid/);
    }
  });
  test('enableMcp: false leaves it out (false as the listener names the new way; a listener with it is refused); a port clash with another listener is refused by name', () => {
    expect(renderHaproxyConfig({ ...base, enableMcp: false })).not.toContain('mcp_http');
    expect(() => renderHaproxyConfig({ ...base, mcpFrontend: false as any })).toThrow(/^renderHaproxyConfig: mcpFrontend must be an object \{ address, port \}; to leave the MCP listener out, set enableMcp: false; received false$/);
    expect(() => renderHaproxyConfig({ ...base, enableMcp: false, mcpFrontend: { address: '0.0.0.0', port: 8080 } })).toThrow(/^renderHaproxyConfig: mcpFrontend must be left unset when enableMcp is false/);
    expect(() => renderHaproxyConfig({ ...base, mcpFrontend: { address: '0.0.0.0', port: 8404 } })).toThrow(/^renderHaproxyConfig: mcpFrontend\.port must be different from stats\.port \(8404\)/);
  });
});
