/** `npm run deploy` fails fast, saying what is missing, when the Docker daemon or Terraform is absent. */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as http from 'node:http';
import * as path from 'node:path';

const script = path.resolve(__dirname, '..', '..', 'scripts', 'deploy.sh');
const run = (env: NodeJS.ProcessEnv) => {
  const r = spawnSync('/bin/bash', [script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, err: r.stderr };
};

test('no Docker daemon socket: exits 1 naming the socket', () => {
  const r = run({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
  expect(r.status).toBe(1);
  expect(r.err).toContain('no Docker daemon socket at /nonexistent/docker.sock');
});

test('a malformed DOCKER_HOST: exits 1 saying what is allowed', () => {
  const r = run({ DOCKER_HOST: 'http://docker:2375' });
  expect(r.status).toBe(1);
  expect(r.err).toContain("DOCKER_HOST must start with unix://, tcp://, ssh:// or npipe://; received 'http://docker:2375'");
});

test('no terraform on PATH: exits 1 saying so', () => {
  // A PATH with the basic tools but without terraform.
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'no-tf-'));
  for (const tool of ['dirname']) fs.symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), path.join(bin, tool));
  const r = run({ PATH: bin });
  expect(r.status).toBe(1);
  expect(r.err).toContain('terraform is not installed');
});

test('Docker answers but the provider cannot be installed: exits 1 naming the provider and what to configure', async () => {
  // A stand-in for the Docker API (only /_ping), on a unix socket: the daemon check passes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-docker-'));
  const sock = path.join(dir, 'docker.sock');
  const server = http.createServer((_req, res) => res.end('OK'));
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  // A Terraform CLI config whose only provider source is an empty mirror: init fails the same way everywhere.
  const cli = path.join(dir, 'terraformrc');
  fs.mkdirSync(path.join(dir, 'empty-mirror'));
  fs.writeFileSync(cli, `provider_installation {\n  filesystem_mirror {\n    path = "${path.join(dir, 'empty-mirror')}"\n  }\n}\n`);
  try {
    const r = await new Promise<{ status: number | null; err: string }>((resolve) => {
      const child = require('node:child_process').spawn('/bin/bash', [script], { env: { ...process.env, DOCKER_HOST: `unix://${sock}`, TF_CLI_CONFIG_FILE: cli } });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d));
      child.on('exit', (status: number | null) => resolve({ status, err }));
    });
    expect(r.status).toBe(1);
    expect(r.err).toContain("'terraform init' could not install the Terraform providers of stack mcp-router-consul (kreuzwerker/docker, hashicorp/random)");
    expect(r.err).toContain('Configure a provider mirror');
  } finally {
    server.close();
  }
}, 120_000);

test('tcp:// host where nothing listens: exits 1 saying the daemon does not answer', async () => {
  // A loopback port that was free a moment ago (nothing listens there any more).
  const net = require('node:net') as typeof import('node:net');
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as import('node:net').AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const r = run({ DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '' });
  expect(r.status).toBe(1);
  expect(r.err).toMatch(new RegExp(`the Docker daemon at tcp://127\\.0\\.0\\.1:${port} does not answer`));
});

test('with ACLs (the default) both stacks are initialized and applied in dependency order: the Consul stack first, the platform next with the user\'s arguments', async () => {
  // A stand-in Docker API (only /_ping) and a stand-in `terraform` that records its calls: the
  // script's own logic (stack order from the synthesized manifest, init per stack, arguments) is
  // what is under test; MCP_DEPLOY_DRY_RUN prints the cdktf commands instead of running them.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-order-'));
  const sock = path.join(dir, 'docker.sock');
  const server = http.createServer((_req, res) => res.end('OK'));
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const calls = path.join(dir, 'terraform-calls');
  fs.writeFileSync(path.join(bin, 'terraform'), `#!/bin/sh\necho "$(basename "$PWD") $*" >> ${calls}\n`, { mode: 0o755 });
  try {
    const r = await new Promise<{ status: number | null; out: string; err: string }>((resolve) => {
      const child = require('node:child_process').spawn('/bin/bash', [script, '--var', 'instanceCount=5'], {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, DOCKER_HOST: `unix://${sock}`, MCP_DEPLOY_DRY_RUN: '1', MCP_ACL: '' },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (err += d));
      child.on('exit', (status: number | null) => resolve({ status, out, err }));
    });
    expect(r.err).not.toContain('deploy: the');
    expect(r.status).toBe(0);
    // (cdktf synth also asks `terraform version`: only the inits matter here.)
    expect(fs.readFileSync(calls, 'utf8').trim().split('\n').filter((l) => / init /.test(l))).toEqual([
      'mcp-router-consul init -input=false -no-color',
      'mcp-router-platform init -input=false -no-color',
    ]);
    expect(r.out.trim().split('\n')).toEqual([
      'deploy: would run: npx cdktf deploy mcp-router-consul --auto-approve --skip-synth',
      'deploy: would run: npx cdktf deploy mcp-router-platform --auto-approve --skip-synth --ignore-missing-stack-dependencies --var instanceCount=5',
    ]);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test('with MCP_ACL=false there is one stack, applied with the user\'s arguments', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-one-'));
  const sock = path.join(dir, 'docker.sock');
  const server = http.createServer((_req, res) => res.end('OK'));
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'terraform'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  try {
    const r = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
      const child = require('node:child_process').spawn('/bin/bash', [script, '--var', 'instanceCount=2'], {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, DOCKER_HOST: `unix://${sock}`, MCP_DEPLOY_DRY_RUN: '1', MCP_ACL: 'false' },
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      child.on('exit', (status: number | null) => resolve({ status, stdout }));
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'deploy: would run: npx cdktf deploy mcp-router-platform --auto-approve --skip-synth --ignore-missing-stack-dependencies --var instanceCount=2',
    ]);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
