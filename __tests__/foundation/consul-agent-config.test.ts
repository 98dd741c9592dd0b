/**
 * renderConsulAgentConfig: what it renders, what it refuses, and that a real
 * Consul (`consul validate`, the provisioned 1.8.7) accepts the exact file the
 * Consul container gets.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConsulAgentConfigOptions, ConsulLogLevel, PropError } from '../../constructs';
import { renderConsulAgentConfig as renderResolved, resolveConsulAgentConfig } from '../../constructs/consul-agent-config';

/** Options in, text out: resolve (validate, fill defaults), then render. */
const renderConsulAgentConfig = (o: ConsulAgentConfigOptions = {}) => renderResolved(resolveConsulAgentConfig(o));

import { requireTool } from '../support/tools';
import { byPath, consulCfgOf, synthStack } from './synth-helpers';

const consul = requireTool('consul');

/**
 * `consul validate` in the network a container has: a fresh network namespace
 * with one interface, eth0, holding one private IPv4 address. (On the host,
 * Consul would see every interface, e.g. a docker0 bridge besides eth0, and
 * refuse a 0.0.0.0 bind with "Multiple private IPv4 addresses found".)
 */
function consulValidate(text: string): { status: number | null; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'consul-validate-'));
  fs.writeFileSync(path.join(dir, 'agent.json'), text);
  const script = 'ip link add eth0 type veth peer name peer0 && ip addr add 10.89.0.2/24 dev eth0 && ip link set eth0 up && ip link set lo up && exec "$0" validate "$1"';
  const r = spawnSync('unshare', ['--net', 'sh', '-c', script, consul, dir], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`consul validate in a network namespace could not run (unshare needs root and util-linux, ip needs iproute2): ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('rendered agent config', () => {
  const cfg = JSON.parse(renderConsulAgentConfig());

  test('a single bootstrapping server with the UI, HTTP on 8500 and DNS on 8600', () => {
    expect(cfg).toMatchObject({ server: true, bootstrap_expect: 1, ui: true, datacenter: 'dc1', client_addr: '0.0.0.0', data_dir: '/consul/data' });
    expect(cfg.ports).toMatchObject({ http: 8500, dns: 8600 });
  });

  test('DNS answers hold every router of a full deployment, uncached, passing instances only', () => {
    expect(cfg.dns_config.udp_answer_limit).toBeGreaterThanOrEqual(10);
    expect(cfg.dns_config.a_record_limit).toBeGreaterThanOrEqual(10);
    expect(cfg.dns_config.enable_truncate).toBe(true);
    expect(cfg.dns_config.node_ttl).toBe('0s');
    expect(cfg.dns_config.service_ttl).toEqual({ '*': '0s' });
    expect(cfg.dns_config.only_passing).toBe(true);
  });

  test('script checks are off; no secrets (no gossip key, no ACL token)', () => {
    expect(cfg.enable_script_checks).toBe(false);
    expect(cfg.enable_local_script_checks).toBe(false);
    expect(Object.keys(cfg)).not.toEqual(expect.arrayContaining(['encrypt']));
    expect(JSON.stringify(cfg)).not.toMatch(/token|encrypt|secret/i);
  });

  test('options move addresses and ports (the local harness uses loopback)', () => {
    const local = JSON.parse(
      renderConsulAgentConfig({ bindAddress: '127.0.3.1', clientAddress: '127.0.3.1', advertiseAddress: '127.0.3.1', ports: { http: 18500, dns: 18600, serfLan: 18301, server: 18300 }, datacenter: 'lab', dnsAnswerLimit: 20 }),
    );
    expect(local).toMatchObject({ bind_addr: '127.0.3.1', client_addr: '127.0.3.1', advertise_addr: '127.0.3.1', datacenter: 'lab' });
    expect(local.ports).toEqual({ http: 18500, dns: 18600, serf_lan: 18301, serf_wan: -1, server: 18300, grpc: -1 });
    expect(local.dns_config.udp_answer_limit).toBe(20);
  });

  test('pure: same options, same text', () => {
    expect(renderConsulAgentConfig({ datacenter: 'x' })).toBe(renderConsulAgentConfig({ datacenter: 'x' }));
  });
});

describe('consul validate accepts it', () => {
  test('the exact config the Consul container gets (CONSUL_LOCAL_CONFIG, written to /consul/config/local.json by the entrypoint)', () => {
    const container = byPath(synthStack(), 'docker_container', 'Consul/Server/Container');
    expect(container.upload).toBeUndefined();
    const r = consulValidate(consulCfgOf(container));
    expect(r.out).toContain('Configuration is valid');
    expect(r.status).toBe(0);
  });

  test('a loopback variant with every option set', () => {
    const text = renderConsulAgentConfig({
      datacenter: 'lab-1',
      nodeName: 'consul_local',
      dataDir: '/tmp/consul-data',
      bindAddress: '127.0.0.1',
      clientAddress: '127.0.0.1',
      advertiseAddress: '127.0.0.1',
      ports: { http: 18500, dns: 18600, serfLan: 18301, serfWan: 18302, server: 18300 },
      ui: false,
      bootstrapExpect: 3,
      logLevel: ConsulLogLevel.WARN,
      dnsAnswerLimit: 50,
    });
    const r = consulValidate(text);
    expect(r.out).toContain('Configuration is valid');
    expect(r.status).toBe(0);
  });

  test('the check can fail: consul validate rejects a broken file', () => {
    const r = consulValidate(renderConsulAgentConfig().replace('"dns": 8600', '"dns": "eighty-six"'));
    expect(r.status).not.toBe(0);
  });
});

describe('invalid options throw naming the option, the value and what is allowed', () => {
  test.each([
    [{ ports: { http: 0 } }, /ports\.http must be an integer from 1 to 65535; received 0/],
    [{ ports: { dns: 8500 } }, /ports\.dns must be different from ports\.http \(8500\); received 8500/],
    [{ ports: { serfWan: -2 } }, /ports\.serfWan must be an integer from 1 to 65535 or -1 \(disabled\); received -2/],
    [{ datacenter: 'dc 1' }, /datacenter must be a name of letters.*received "dc 1"/],
    [{ nodeName: '' }, /nodeName must be .*received ""/],
    [{ dataDir: 'data' }, /dataDir must be an absolute directory path; received "data"/],
    [{ bindAddress: 'localhost' }, /bindAddress must be an IPv4 address .*received "localhost"/],
    [{ bootstrapExpect: 0 }, /bootstrapExpect must be an integer from 1 to 7; received 0/],
    [{ dnsAnswerLimit: 2.5 }, /dnsAnswerLimit must be an integer from 1 to 10000; received 2\.5/],
    [{ logLevel: 'LOUD' as any }, /logLevel must be one of TRACE, DEBUG, INFO, WARN, ERR; received "LOUD"/],
    [{ ui: 'yes' as any }, /ui must be true or false; received "yes"/],
  ])('%j', (options, message) => {
    expect(() => renderConsulAgentConfig(options)).toThrow(PropError);
    expect(() => renderConsulAgentConfig(options)).toThrow(message);
  });
});
