/**
 * Defect 5: a hung Consul wedged start-up and turned off the drain. The hung
 * Consul is real: Debian's consul agent stopped with SIGSTOP, so the kernel
 * still accepts connections on its port and nothing ever answers. The router
 * is a process: it must start at once, register in the background once
 * Consul answers, say ready only when its first catalogue is built (with
 * discovery on, that needs Consul's answer), and drain on SIGTERM (exit 0)
 * whatever Consul does, even when the signal comes while it starts.
 */
import * as grpc from '@grpc/grpc-js';
import { ConsulAgent, startConsulAgent } from '../support/consul-agent';
import { freePort, killLeftovers, report, RouterProcess, sleep, startDemoProcess, startRouterProcess, waitUntil, ROUTER_ENTRY } from './harness';
import { ManagedProcess } from '../../scripts/local-platform/managed-process';
import { unary } from '../../scripts/local-platform/router-client';

jest.setTimeout(120_000);

let consul: ConsulAgent;
let demoUrl: string;

beforeAll(async () => {
  consul = await startConsulAgent();
  const port = await freePort(consul.address);
  await startDemoProcess({ name: 'demo', host: consul.address, port }); // not registered: a static backend
  demoUrl = `http://${consul.address}:${port}/mcp`;
});

afterAll(async () => {
  consul?.resume();
  await killLeftovers();
  await consul?.stop();
});

const envFor = (hostname: string) => ({
  CONSUL_HOST: consul.address,
  CONSUL_PORT: String(consul.httpPort),
  CONSUL_REGISTER: 'true',
  MCP_BACKEND_DISCOVERY: 'true',
  CONSUL_TIMEOUT_MS: '1000',
  CONSUL_REREGISTER_INTERVAL_MS: '500',
  MCP_ROUTER_DRAIN_DELAY_MS: '500',
  MCP_ROUTER_HOSTNAME: hostname,
  MCP_BACKENDS: JSON.stringify([{ name: 'demo', url: demoUrl }]),
});

const readyz = async (r: RouterProcess) => (await fetch(`${r.adminUrl}/readyz`, { signal: AbortSignal.timeout(3_000) })).status;

test('Consul accepts connections and never answers: the router starts at once, is not ready, registers and turns ready when Consul answers, and drains on SIGTERM while Consul hangs again', async () => {
  consul.pause();
  const t0 = Date.now();
  const r = await startRouterProcess(envFor('hung'), consul.address, 'hung');
  const startedMs = Date.now() - t0;
  await sleep(2_500);
  const whileHung = { readyz: await readyz(r), tools: (await unary(r.client, 'ListTools', {})).tools.length };
  const registrationWarned = r.proc.tail(2000).includes('Consul registration failed; will retry');

  consul.resume();
  const t1 = Date.now();
  const registeredMs = await waitUntil('router registered', async () => (await consul.api('/v1/agent/services'))['mcp-router-hung'] !== undefined, 20_000, 100);
  const readyMs = await waitUntil('router ready', async () => (await readyz(r)) === 200, 20_000, 100).then(() => Date.now() - t1);

  consul.pause();
  const t2 = Date.now();
  r.proc.child.kill('SIGTERM');
  await sleep(100);
  const readyzDuringDrain = await readyz(r).catch(() => 0);
  const exit = await r.proc.waitForExit();
  const drainMs = Date.now() - t2;
  const lines = r.proc.tail(2000);
  report('5 hung Consul', {
    startedWithConsulHungMs: startedMs,
    whileHung,
    registrationWarnedWhileHung: registrationWarned,
    afterConsulAnswers: { registeredMs, readyMs },
    drain: { readyzAt100ms: readyzDuringDrain, exit, ms: drainMs, deregisterFailedLogged: lines.includes('Consul deregistration failed') },
  });
  // Before: no "router started" line after 12 s, /readyz 200 meanwhile, and SIGTERM killed the process at once.
  expect(startedMs).toBeLessThan(10_000);
  expect(whileHung.readyz).toBe(503);
  expect(whileHung.tools).toBeGreaterThan(0); // static backends are served meanwhile; only readiness waits
  expect(registrationWarned).toBe(true);
  expect(registeredMs).toBeLessThan(10_000);
  expect(readyMs).toBeLessThan(10_000);
  expect(readyzDuringDrain).toBe(503);
  expect(exit).toEqual({ code: 0, signal: null });
  // drain delay 0.5 s + a deregistration that times out after 1 s + closing; well under the 10 s grace.
  expect(drainMs).toBeLessThan(6_000);
  expect(lines).toContain('"drained"');
  consul.resume();
});

test('SIGTERM while the router starts against a hung Consul: handled from the first line of main, drained, exit 0', async () => {
  consul.pause();
  const proc = new ManagedProcess({ name: 'early', command: process.execPath, args: [ROUTER_ENTRY], env: { PATH: process.env.PATH ?? '', MCP_ROUTER_BIND_ADDRESS: consul.address, MCP_ROUTER_PORT: '0', MCP_ROUTER_METRICS_PORT: '0', MCP_ROUTER_MCP_PORT: '0', ...envFor('early') } });
  try {
    // As soon as main's first lines have run (its first log line): the router's modules are still loading.
    await proc.waitForLine((l) => l.includes('"router process starting"'), 10_000, 'the first log line');
    const startedBefore = proc.tail(500).includes('"router started"');
    proc.child.kill('SIGTERM');
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([proc.waitForExit(), new Promise((resolve) => (timer = setTimeout(() => resolve('still running'), 15_000)))]);
    clearTimeout(timer);
    const out = proc.tail(500);
    report('5 SIGTERM during start', { startedBeforeSignal: startedBefore, exit, ms: Date.now() - t0, shutdownRequested: out.includes('shutdown requested'), drained: out.includes('"drained"'), secondSignal: out.includes('second signal') });
    expect(startedBefore).toBe(false);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(out).toContain('shutdown requested');
    expect(out).toContain('"drained"');
  } finally {
    await proc.stop('SIGKILL', 1_000);
    consul.resume();
  }
});

test('gRPC health follows readiness: NOT_SERVING while Consul hangs at start', async () => {
  consul.pause();
  const r = await startRouterProcess(envFor('health'), consul.address, 'health');
  try {
    await sleep(1_500);
    const status = await new Promise<string>((resolve) => {
      const client = new grpc.Client(r.target, grpc.credentials.createInsecure());
      client.makeUnaryRequest('/grpc.health.v1.Health/Check', () => Buffer.alloc(0), (b: Buffer) => b, {}, { deadline: Date.now() + 3_000 }, (err, res?: Buffer) => {
        client.close();
        // HealthCheckResponse { status = 1 (enum) }: 1 SERVING, 2 NOT_SERVING
        resolve(err ? grpc.status[err.code] : ({ 1: 'SERVING', 2: 'NOT_SERVING' } as Record<number, string>)[res![1]] ?? `status ${res![1]}`);
      });
    });
    report('5 gRPC health while Consul hangs', { status });
    expect(status).toBe('NOT_SERVING');
    consul.resume();
    await r.ready();
  } finally {
    consul.resume();
    await r.stop('SIGTERM');
  }
});
