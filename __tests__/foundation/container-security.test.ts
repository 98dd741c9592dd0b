/**
 * Containers locked down by default (issue 10): every docker_container of the plan has a
 * read-only root filesystem with tmpfs where its process writes, no capabilities,
 * no-new-privileges, memory and CPU limits and log rotation; each setting relaxes through
 * ContainerSecurityProps (the platform's containerSecurity and per-part props), and the module
 * that applies it (constructs/container-security.ts) is a one-liner for a new construct.
 * (That the engine and the processes see the same is __tests__/docker/one-router.test.ts.)
 */
import { Container } from '@cdktf/provider-docker/lib/container';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { containerLockdown } from '../../constructs/container-security';
import { CONSUL_SECURITY_DEFAULTS } from '../../constructs/consul-server';
import { envFilesEntrypoint } from '../../constructs/env-files';
import { ROUTER_COMMAND } from '../../constructs/router-fleet';
import { byPath, containers, synthStack } from './synth-helpers';

/** The lockdown attributes of a synthesized container. */
const LOCKDOWN_KEYS = ['read_only', 'tmpfs', 'capabilities', 'security_opts', 'memory', 'cpu_period', 'cpu_quota', 'log_driver', 'log_opts', 'user'];
const lockdownOf = (c: any) => Object.fromEntries(LOCKDOWN_KEYS.filter((k) => c[k] !== undefined).map((k) => [k, c[k]]));

const PARTS = { router: 'Routers/Router', haproxy: 'LoadBalancer/Container', consul: 'Consul/Server/Container', demo: 'DemoBackends/Server-demo' } as const;
const part = (json: any, p: keyof typeof PARTS) => byPath(json, 'docker_container', PARTS[p]);

const LOCKED = {
  read_only: true,
  capabilities: { drop: ['ALL'] },
  security_opts: ['no-new-privileges:true'],
  cpu_period: 100000,
  log_driver: 'json-file',
  log_opts: { 'max-size': '10m', 'max-file': '3' },
};

describe('the default plan: every container locked down', () => {
  const json = synthStack({ demoBackends: ['demo'] });

  test('snapshot of each container\'s lockdown', () => {
    expect(Object.fromEntries(Object.keys(PARTS).map((p) => [p, lockdownOf(part(json, p as keyof typeof PARTS))]))).toMatchSnapshot();
  });

  test('read-only root, no capabilities, no-new-privileges, rotated logs on every container; no upload anywhere', () => {
    const all = Object.values(containers(json));
    expect(all).toHaveLength(4);
    for (const c of all) {
      expect(c).toMatchObject(LOCKED);
      expect(c.upload).toBeUndefined();
      expect(c.capabilities.add).toBeUndefined();
      expect(c.cpus).toBeUndefined();
    }
  });

  test('limits sized per part; tmpfs only where a process writes', () => {
    expect(part(json, 'router')).toMatchObject({ memory: 256, cpu_quota: 100000, tmpfs: { '/tmp': 'size=16m' } });
    // 64 MiB + 48 KiB per maxconn (10000), 2 CPUs without nbthread.
    expect(part(json, 'haproxy')).toMatchObject({ memory: 64 + 469, cpu_quota: 200000, tmpfs: { '/run/haproxy': 'size=4m,uid=99,gid=99' } });
    expect(part(json, 'consul')).toMatchObject({ memory: 256, cpu_quota: 100000, tmpfs: { '/consul/config': 'size=1m,uid=100,gid=1000' }, user: 'consul' });
    expect(part(json, 'consul').volumes).toEqual([{ container_path: '/consul/data' }]);
    expect(part(json, 'consul').env).toContain('CONSUL_DISABLE_PERM_MGMT=true');
    expect(part(json, 'demo')).toMatchObject({ memory: 256, cpu_quota: 100000, tmpfs: { '/tmp': 'size=16m' } });
  });

  test('HAProxy gets its config in the environment; its entrypoint writes it to the tmpfs (0600), unsets it and runs the image\'s own', () => {
    const lb = part(json, 'haproxy');
    expect(lb.entrypoint).toEqual(['/bin/sh', '-c', 'umask 077 && printf \'%s\' "$MCP_HAPROXY_CONFIG" > /run/haproxy/haproxy.cfg && unset MCP_HAPROXY_CONFIG && exec docker-entrypoint.sh "$@"', 'haproxy-entrypoint']);
    expect(lb.command).toEqual(['haproxy', '-f', '/run/haproxy/haproxy.cfg']);
    // Terraform would read "${" and "%{" as its own syntax.
    expect(lb.env[0]).not.toMatch(/[$%]\{/);
  });

  test('the builds start from node:20-slim pinned by digest, as the Dockerfiles\' default', () => {
    for (const p of ['RouterImage', 'DemoBackends/Image']) {
      expect(byPath(json, 'docker_image', p).build.build_args).toEqual({ NODE_IMAGE: 'node:20-slim@sha256:1e85773c98c31d4fe5b545e4cb17379e617b348832fb3738b22a08f68dec30f3' });
    }
    const fs = require('node:fs') as typeof import('node:fs');
    for (const dockerfile of ['router-app/Dockerfile', 'examples/demo-mcp-server/Dockerfile']) {
      expect(fs.readFileSync(`${__dirname}/../../${dockerfile}`, 'utf8')).toContain('\nARG NODE_IMAGE=node:20-slim@sha256:1e85773c98c31d4fe5b545e4cb17379e617b348832fb3738b22a08f68dec30f3\n');
    }
  });
});

describe('relaxing', () => {
  test('containerSecurity relaxes every container; nothing of the lockdown is left', () => {
    const json = synthStack({
      demoBackends: ['demo'],
      containerSecurity: { readOnlyRootFilesystem: false, dropAllCapabilities: false, noNewPrivileges: false, memoryMb: 0, cpus: 0, logMaxSizeMb: 0 },
    });
    for (const p of ['router', 'haproxy', 'demo'] as const) expect(lockdownOf(part(json, p))).toEqual({});
    // Consul still runs as its own user (not a capability question: it never needs root).
    expect(lockdownOf(part(json, 'consul'))).toEqual({ user: 'consul' });
  });

  test('a part\'s own settings override containerSecurity field by field; routerCpus / routerMemoryMb are the routers\' own', () => {
    const json = synthStack({
      demoBackends: ['demo'],
      containerSecurity: { cpus: 0.5, logMaxSizeMb: 50 },
      haproxySecurity: { memoryMb: 1024, addCapabilities: ['cap_net_bind_service'] },
      routerCpus: 2,
      routerMemoryMb: 512,
    });
    expect(part(json, 'router')).toMatchObject({ cpu_quota: 200000, memory: 512, log_opts: { 'max-size': '50m', 'max-file': '3' } });
    expect(part(json, 'haproxy')).toMatchObject({ cpu_quota: 50000, memory: 1024, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } });
    expect(part(json, 'consul')).toMatchObject({ cpu_quota: 50000, memory: 256, log_opts: { 'max-size': '50m' } });
    expect(part(json, 'demo')).toMatchObject({ cpu_quota: 50000, memory: 256 });
  });

  test('HAProxy\'s defaults follow maxconn and nbthread; extra tmpfs mounts add to a container\'s own', () => {
    const json = synthStack({ haproxy: { maxconn: 2000, nbthread: 4 }, routerSecurity: { tmpfs: { '/var/cache/router': 'size=32m' } } });
    expect(part(json, 'haproxy')).toMatchObject({ memory: 64 + Math.ceil((2000 * 48) / 1024), cpu_quota: 400000 });
    expect(part(json, 'router').tmpfs).toEqual({ '/tmp': 'size=16m', '/var/cache/router': 'size=32m' });
  });

  test('a CPU limit from a Terraform variable becomes a plan-time quota', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 's');
    new DockerProvider(stack, 'docker', {});
    const cpus = new TerraformVariable(stack, 'routerCpus', { type: 'number' });
    const c = new Container(stack, 'c', { name: 'c', image: 'x', ...containerLockdown('Test', 'security', { cpus: cpus.numberValue }, { memoryMb: 0, cpus: 1 }).attributes });
    const json = JSON.parse(Testing.synth(stack));
    expect(json.resource.docker_container[c.friendlyUniqueId].cpu_quota).toBe("${floor((var.routerCpus * 100000))}");
  });

  test('nodeBaseImage: both builds start from the given image', () => {
    const json = synthStack({ demoBackends: ['demo'], nodeBaseImage: 'my-mirror/node:20-slim' });
    for (const p of ['RouterImage', 'DemoBackends/Image']) expect(byPath(json, 'docker_image', p).build.build_args).toEqual({ NODE_IMAGE: 'my-mirror/node:20-slim' });
  });
});

test('one line locks down a container of a new construct (e.g. a Consul cluster member)', () => {
  const app = Testing.app();
  const stack = new TerraformStack(app, 's');
  new DockerProvider(stack, 'docker', {});
  const c = new Container(stack, 'member', { name: 'consul-2', image: 'hashicorp/consul:1.20', ...containerLockdown('ConsulCluster', 'security', undefined, CONSUL_SECURITY_DEFAULTS).attributes });
  const json = JSON.parse(Testing.synth(stack));
  expect(json.resource.docker_container[c.friendlyUniqueId]).toMatchObject({ ...LOCKED, memory: 256, cpu_quota: 100000, tmpfs: { '/consul/config': 'size=1m,uid=100,gid=1000' } });
  expect(() => containerLockdown('ConsulCluster', 'security', { memoryMb: 3 }, CONSUL_SECURITY_DEFAULTS)).toThrow(
    "ConsulCluster: security.memoryMb must be an integer from 6 to 1048576 (MiB; Docker's minimum is 6), or 0 for no limit; received 3",
  );
});

test('secrets tmpfs (files written from env at start) are mounted whatever the root: read-only by default, and with readOnlyRootFilesystem false', () => {
  const withSecrets = { memoryMb: 256, cpus: 1, tmpfs: { '/tmp': 'size=16m' }, secretsTmpfs: { '/run/mcp-router': 'size=64k,uid=1000,gid=1000' } };
  const lockdown = containerLockdown('RouterFleet', 'security', undefined, withSecrets);
  expect(lockdown.attributes).toMatchObject({ readOnly: true, capabilities: { drop: ['ALL'] }, securityOpts: ['no-new-privileges:true'], memory: 256 });
  expect(lockdown.attributes.tmpfs).toEqual({ '/tmp': 'size=16m', '/run/mcp-router': 'size=64k,uid=1000,gid=1000' });
  const writable = containerLockdown('RouterFleet', 'security', { readOnlyRootFilesystem: false }, withSecrets);
  expect(writable.attributes.readOnly).toBeUndefined();
  // The token file still never reaches the writable layer.
  expect(writable.attributes.tmpfs).toEqual({ '/run/mcp-router': 'size=64k,uid=1000,gid=1000' });
  // security.tmpfs cannot replace a secrets mount.
  expect(containerLockdown('RouterFleet', 'security', { tmpfs: { '/run/mcp-router': 'size=1g' } }, withSecrets).attributes.tmpfs).toMatchObject({ '/run/mcp-router': 'size=64k,uid=1000,gid=1000' });
});

test('envFilesEntrypoint: one script for every container (write umask 077, unset, exec); names and paths it cannot quote are refused', () => {
  const { entrypoint, env } = envFilesEntrypoint('Test', 'test-entrypoint', [
    { variable: 'A_TOKEN', path: '/run/a/token', content: '${random_uuid.u.result}' },
    { variable: 'B', path: '/run/b.json', content: '{"x":1}' },
  ]);
  expect(entrypoint).toEqual(['/bin/sh', '-c', `umask 077 && printf '%s' "$A_TOKEN" > /run/a/token && printf '%s' "$B" > /run/b.json && unset A_TOKEN B && exec "$@"`, 'test-entrypoint']);
  expect(env).toEqual(['A_TOKEN=${random_uuid.u.result}', 'B={"x":1}']);
  expect(() => envFilesEntrypoint('Test', 'x', [{ variable: 'a b', path: '/run/x', content: '' }])).toThrow('Test: envFiles.variable must be an environment variable name (A-Z, 0-9, _); received "a b"');
  expect(() => envFilesEntrypoint('Test', 'x', [{ variable: 'A', path: '/run/$(id)', content: '' }])).toThrow(/^Test: envFiles\.path must be an absolute container path/);
  expect(() => envFilesEntrypoint('Test', 'x', [{ variable: 'A', path: '/run/../etc/x', content: '' }])).toThrow(/^Test: envFiles\.path must be/);
  expect(() => envFilesEntrypoint('Test', 'x', [{ variable: 'A', path: '/run/a', content: '' }], ['a;b'])).toThrow(/^Test: envFiles\.then must be/);
});

test("the token entrypoints run the router's and demo server's image CMD (a container given an entrypoint does not get its image's CMD)", () => {
  const fs = require('node:fs') as typeof import('node:fs');
  const cmd = /^CMD (\[.*\])$/m.exec(fs.readFileSync(`${__dirname}/../../router-app/Dockerfile`, 'utf8'))!;
  expect(ROUTER_COMMAND).toEqual(JSON.parse(cmd[1]));
  // The demo servers' (consul-cluster-acl.test.ts checks the container gets ['node', 'dist/main.js']).
  const demoCmd = /^CMD (\[.*\])$/m.exec(fs.readFileSync(`${__dirname}/../../examples/demo-mcp-server/Dockerfile`, 'utf8'))!;
  expect(JSON.parse(demoCmd[1])).toEqual(['node', 'dist/main.js']);
});
