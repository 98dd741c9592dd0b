/**
 * Defect 7: HAProxy's timeouts contradicted the router (60 s `timeout server`
 * while a router runs calls up to its maximum call time) and there was no
 * `timeout http-request`. The local platform (real Consul, router, demo
 * server and HAProxy 2.6), scaled down: HAProxy's 60 s become 2 s, the
 * router's maximum call time is 10 s, and a call takes 4 s.
 * - Through HAProxy whose timeouts derive from the router's maximum
 *   (maxCallMs), the 4 s call succeeds; through a second HAProxy on the same
 *   routers with the old, fixed 2 s timeouts, the same call is cut.
 * - A client that sends half a request header is dropped at
 *   `timeout http-request`.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { HaproxyMode, renderHaproxyConfig, resolveHaproxyConfigOptions } from '../../haproxy-templates';
import { ManagedProcess, waitUntil } from '../../scripts/local-platform/managed-process';
import { LocalPlatform } from '../../scripts/local-platform/platform';
import { createRouterClient, unary } from '../../scripts/local-platform/router-client';
import { locateTool } from '../../scripts/local-platform/tools';
import { requireTool } from '../support/tools';
import { freePort, report } from './harness';

jest.setTimeout(180_000);

const SHORT = 2_000; // stands for HAProxy's old 60 s
const MAX_CALL = 10_000;
const CALL = { name: 'demo__slow', arguments: { fields: { steps: { numberValue: 10 }, stepMs: { numberValue: 400 } } } }; // 4 s

async function timedCall(target: string): Promise<{ status: string; ms: number; details?: string }> {
  const client = createRouterClient(target);
  const t0 = Date.now();
  try {
    const res = await unary(client, 'CallTool', CALL, 30_000);
    return { status: res.isError ? 'isError' : 'OK', ms: Date.now() - t0 };
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { status: grpc.status[e.code], ms: Date.now() - t0, details: e.details };
  } finally {
    client.close();
  }
}

/** Opens a connection, sends the start of a request and never the rest; resolves when HAProxy closes it. */
function slowHeaders(host: string, port: number, partial: string, limitMs: number): Promise<{ closedAfterMs: number; answer: string }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let answer = '';
    const s = net.connect(port, host, () => s.write(partial));
    s.on('data', (d) => (answer += d.toString('latin1')));
    const done = () => {
      clearTimeout(timer);
      resolve({ closedAfterMs: Date.now() - t0, answer: answer.split('\r\n')[0] });
    };
    s.on('close', done);
    s.on('error', () => undefined);
    const timer = setTimeout(() => s.destroy(), limitMs);
  });
}

describe.each(['http', 'tcp'] as const)('%s mode', (mode) => {
  let platform: LocalPlatform;
  let control: ManagedProcess | undefined;
  let controlTarget: string;

  beforeAll(async () => {
    requireTool('haproxy');
    platform = await LocalPlatform.start({
      instances: 1,
      mode,
      block: 'random',
      backends: ['demo'],
      routerEnv: { MCP_ROUTER_MAX_CALL_MS: String(MAX_CALL), MCP_ROUTER_DRAIN_DELAY_MS: '0' },
      haproxyTimeouts: { clientMs: SHORT, httpRequestMs: 1_000 },
    });
    await waitUntil('router UP in HAProxy', async () => (await platform.haproxyUpAddresses()).length === 1, 30_000, 200);
    // The control: the same routers behind a second HAProxy whose timeouts ignore the routers' maximum (the old 60 s, scaled).
    const port = await freePort(platform.block.infraAddress);
    const statsPort = await freePort(platform.block.infraAddress);
    const cfg = path.join(platform.workDir, 'haproxy-control.cfg');
    fs.writeFileSync(
      cfg,
      renderHaproxyConfig(resolveHaproxyConfigOptions({
        mode: mode as HaproxyMode,
        frontend: { address: platform.block.infraAddress, port },
        stats: { address: platform.block.infraAddress, port: statsPort },
        nameservers: [{ address: platform.block.infraAddress, port: platform.ports.consulDns }],
        healthCheck: { port: platform.ports.routerAdmin },
        maxconn: 1000,
        maxCallMs: 1_000,
        timeouts: { clientMs: SHORT, serverMs: SHORT, tunnelMs: SHORT },
        enableMcp: false,
      })),
    );
    control = new ManagedProcess({ name: 'haproxy-control', command: locateTool('haproxy'), args: ['-db', '-f', cfg] });
    controlTarget = `${platform.block.infraAddress}:${port}`;
    await waitUntil('control HAProxy has the router UP', async () => {
      const text = await (await fetch(`http://${platform.block.infraAddress}:${statsPort}/;csv`)).text();
      return text.split('\n').some((l) => l.startsWith('mcp_router_backend,') && l.includes(',UP,'));
    }, 30_000, 200, control);
  });

  afterAll(async () => {
    await control?.stop('SIGTERM', 5_000);
    await platform?.close();
  });

  test(`a call longer than HAProxy's old server timeout succeeds through the derived config and is cut by the old one`, async () => {
    const derived = fs.readFileSync(path.join(platform.workDir, 'haproxy.cfg'), 'utf8');
    const [fixed, old] = [await timedCall(platform.endpoint), await timedCall(controlTarget)];
    report(`7 long call through HAProxy (${mode} mode)`, {
      routerMaxCallMs: MAX_CALL,
      derived: derived.split('\n').filter((l) => /timeout (server|tunnel|client|http-request)/.test(l)).map((l) => l.trim()),
      callMs: 4_000,
      throughDerived: fixed,
      throughOld: old,
    });
    expect(derived).toContain(`timeout server ${MAX_CALL + 5_000}ms`);
    expect(derived).toContain(`timeout tunnel ${MAX_CALL + 5_000}ms`);
    expect(fixed.status).toBe('OK');
    expect(fixed.ms).toBeGreaterThanOrEqual(4_000);
    expect(old.status).not.toBe('OK');
    expect(old.ms).toBeLessThan(4_000);
  });

  test('a client that never finishes its request headers is dropped at timeout http-request', async () => {
    // The stats listener speaks HTTP/1.1 in both modes; the gRPC listener is HTTP/2 (http mode) or raw TCP.
    const stats = await slowHeaders(platform.block.infraAddress, platform.ports.haproxyStats, 'GET / HTTP/1.1\r\nHost: x\r\n', 15_000);
    const grpcPort = mode === 'http' ? await slowHeaders(platform.block.infraAddress, platform.ports.haproxyFrontend, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 15_000) : undefined;
    report(`7 slow request headers (${mode} mode)`, { httpRequestMs: 1_000, clientMs: SHORT, stats, grpcListener: grpcPort && { closedAfterMs: grpcPort.closedAfterMs } });
    expect(stats.closedAfterMs).toBeLessThan(SHORT);
    expect(stats.answer).toMatch(/408/);
    // An HTTP/2 client that stops after the preface: dropped at the same bound.
    if (grpcPort) expect(grpcPort.closedAfterMs).toBeLessThan(SHORT);
  });
});
