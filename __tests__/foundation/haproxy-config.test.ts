/** Every mode x algorithm (and the optional features) renders a config that real HAProxy accepts. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BALANCE_ALGORITHMS, HAPROXY_MODES, HaproxyConfigOptions, renderHaproxyConfig } from '../../haproxy-templates';
import { requireTool } from '../support/tools';
import { byPath, synthStack } from './synth-helpers';

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
    ['tcp health check', { healthCheck: { type: 'tcp' as const } }],
    ['sticky sessions + rate limit + nbthread', { stickySessions: true, rateLimitConnectionsPer10s: 100, nbthread: 2 }],
    ['tcp mode with sticky sessions', { mode: 'tcp' as const, stickySessions: true }],
    ['100 slots', { maxInstances: 100 }],
  ])('%s', (name, extra) => {
    expect(haproxyCheck(renderHaproxyConfig({ ...base, ...extra }), name.replace(/\W+/g, '-'))).toMatch(/Configuration file is valid/);
  });

  test('the exact file the HAProxy container gets (nameserver by container name) is valid', () => {
    // The container resolves "mcp-consul" through Docker's DNS; here it is made resolvable as localhost.
    const cfg: string = byPath(synthStack(), 'docker_container', 'LoadBalancer/Container').upload[0].content;
    expect(cfg).toContain('nameserver consul1 mcp-consul:8600');
    expect(haproxyCheck(cfg.replace('mcp-consul:8600', 'localhost:8600'), 'container')).toMatch(/Configuration file is valid/);
  });
});

describe('rendered config content', () => {
  const http = renderHaproxyConfig(base);
  const tcp = renderHaproxyConfig({ ...base, mode: 'tcp' });

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
  test('tcp mode proxies bytes (the seed) and still checks readiness', () => {
    expect(tcp).toContain('mode tcp');
    expect(tcp).not.toContain('proto h2');
    expect(tcp).toContain('http-check send meth GET uri /readyz');
  });
  test('tcp health check option uses tcp-check on the gRPC port', () => {
    const t = renderHaproxyConfig({ ...base, healthCheck: { type: 'tcp' } });
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
