/**
 * Every config the renderer ships must load in both HAProxy versions users run:
 * 2.6 (Debian bookworm, the machine's) and 3.0 (Debian trixie, unpacked by
 * scripts/provision-test-tools.sh with its own libraries). Each config is
 * checked with `haproxy -c` by both binaries; the check must pass with no
 * warning or alert.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BALANCE_ALGORITHMS, HAPROXY_MODES, HaproxyConfigOptions, HaproxyMode, HealthCheckType, renderHaproxyConfig as renderResolved, resolveHaproxyConfigOptions } from '../../haproxy-templates';
/** Options in, text out: resolve (validate, fill defaults), then render. */
const renderHaproxyConfig = (o: HaproxyConfigOptions = {}) => renderResolved(resolveHaproxyConfigOptions(o));

import { requireTool } from '../support/tools';
import { byPath, haproxyCfgOf, synthStack } from './synth-helpers';

const versions = [
  { name: '2.6', bin: requireTool('haproxy') },
  { name: '3.0', bin: requireTool('haproxy30') },
];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'haproxy-versions-'));
const pem = path.join(dir, 'server.pem');

function check(bin: string, text: string, name: string): { code: number; output: string } {
  const file = path.join(dir, `${name}.cfg`);
  fs.writeFileSync(file, text);
  try {
    const out = execFileSync(bin, ['-c', '-f', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, output: out };
  } catch (err) {
    const e = err as { status: number; stdout?: string; stderr?: string };
    return { code: e.status, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

// Loopback nameserver so `haproxy -c` needs no Docker DNS.
const base: HaproxyConfigOptions = { nameservers: [{ address: '127.0.0.1', port: 8600 }] };

const shipped: Array<[string, () => string]> = [
  ...HAPROXY_MODES.flatMap((mode) => BALANCE_ALGORITHMS.map((balance) => [`${mode} / ${balance}`, () => renderHaproxyConfig({ ...base, mode, balance })] as [string, () => string])),
  ['tcp health check', () => renderHaproxyConfig({ ...base, healthCheck: { type: HealthCheckType.TCP } })],
  ['sticky sessions + rate limit + nbthread 2', () => renderHaproxyConfig({ ...base, stickySessions: true, rateLimitConnectionsPer10s: 100, nbthread: 2 })],
  ['tcp mode with sticky sessions', () => renderHaproxyConfig({ ...base, mode: HaproxyMode.TCP, stickySessions: true })],
  ['no L7 retries, no Prometheus exporter', () => renderHaproxyConfig({ ...base, retryOn: [], prometheusExporter: false })],
  ['100 slots', () => renderHaproxyConfig({ ...base, maxInstances: 100 })],
  ['TLS termination, http', () => renderHaproxyConfig({ ...base, tlsCertificatePath: pem })],
  ['TLS termination, tcp', () => renderHaproxyConfig({ ...base, mode: HaproxyMode.TCP, tlsCertificatePath: pem })],
  // The exact file the HAProxy container gets; "mcp-consul" (Docker DNS) made resolvable as localhost.
  ['the synthesized container config', () => haproxyCfgOf(byPath(synthStack(), 'docker_container', 'LoadBalancer/Container')).replace('mcp-consul:8600', 'localhost:8600')],
];

beforeAll(() => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${pem}.key`, '-out', `${pem}.crt`, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'pipe' });
  fs.writeFileSync(pem, fs.readFileSync(`${pem}.crt`, 'utf8') + fs.readFileSync(`${pem}.key`, 'utf8'));
});

test.each(versions)('the provisioned binary is HAProxy $name', ({ name, bin }) => {
  expect(execFileSync(bin, ['-v'], { encoding: 'utf8' })).toMatch(new RegExp(`^HAProxy version ${name.replace('.', '\\.')}\\.\\d+`));
});

describe.each(versions)('haproxy -c, HAProxy $name', ({ name, bin }) => {
  test.each(shipped)('%s', (label, render) => {
    const r = check(bin, render(), `${name}-${label.replace(/\W+/g, '-')}`);
    if (r.code !== 0) throw new Error(`HAProxy ${name} rejected "${label}" (exit ${r.code}):\n${r.output}`);
    expect(r.output).not.toMatch(/\[(WARNING|ALERT)\]/);
  });

  test('a broken config is refused (the check can fail)', () => {
    const r = check(bin, renderHaproxyConfig(base).replace('balance roundrobin', 'balance no-such-algorithm'), `${name}-broken`);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/balance only supports/);
  });
});
