/**
 * grpc.health.v1, reflection, the admin endpoints (/readyz, /metrics),
 * malformed and oversized requests, and graceful drain of a real process.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as http2 from 'node:http2';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { unary, createRouterClient } from '../../scripts/local-platform/router-client';
import { fromListValue } from '../../router-app/src/grpc/struct';
import { DemoServerHandle, routerFor, RouterUnderTest, startDemoServer, struct } from '../support/demo-backends';

jest.setTimeout(60_000);

const root = path.resolve(__dirname, '..', '..', 'node_modules');
const load = (file: string, includeDirs: string[] = []) => grpc.loadPackageDefinition(protoLoader.loadSync(file, { keepCase: true, enums: String, includeDirs })) as any;
const healthPkg = load(path.join(root, 'grpc-health-check', 'proto', 'health', 'v1', 'health.proto'));
const reflectionPkg = load(path.join(root, '@grpc', 'reflection', 'build', 'proto', 'grpc', 'reflection', 'v1alpha', 'reflection.proto'));

let demo: DemoServerHandle;
let r: RouterUnderTest;

beforeAll(async () => {
  demo = await startDemoServer({ name: 'demo' });
  r = await routerFor([{ name: 'demo', url: demo.url }], { GRPC_MAX_RECEIVE_MESSAGE_BYTES: String(64 * 1024) });
});
const spawned: Array<ReturnType<typeof spawn>> = [];
afterAll(async () => {
  for (const p of spawned) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); // only if a test failed midway
  await r?.close();
  await demo?.close();
});

const healthCheck = (target: string, service = ''): Promise<string> =>
  new Promise((resolve, reject) => {
    const c = new healthPkg.grpc.health.v1.Health(target, grpc.credentials.createInsecure());
    c.Check({ service }, { deadline: Date.now() + 3000 }, (err: Error | null, res: { status: string }) => {
      c.close();
      err ? reject(err) : resolve(res.status);
    });
  });

test('grpc.health.v1 reports SERVING for the server and the McpRouter service', async () => {
  expect(await healthCheck(r.target)).toBe('SERVING');
  expect(await healthCheck(r.target, 'mcp.router.v1.McpRouter')).toBe('SERVING');
});

test('server reflection lists mcp.router.v1.McpRouter', async () => {
  const c = new reflectionPkg.grpc.reflection.v1alpha.ServerReflection(r.target, grpc.credentials.createInsecure());
  const services: string[] = await new Promise((resolve, reject) => {
    const s = c.ServerReflectionInfo();
    s.on('data', (d: any) => {
      resolve(d.list_services_response.service.map((x: any) => x.name));
      s.end();
    });
    s.on('error', reject);
    s.write({ list_services: '' });
  });
  c.close();
  expect(services).toContain('mcp.router.v1.McpRouter');
});

test('/metrics exposes calls by method and status, latency, backend health and catalogue size', async () => {
  await unary(r.client, 'ListTools', {});
  await unary(r.client, 'CallTool', { name: 'nope' }).catch(() => undefined);
  const text = await (await fetch(`http://127.0.0.1:${r.router.metricsPort}/metrics`)).text();
  expect(text).toMatch(/mcp_router_grpc_calls_total\{method="ListTools",code="OK"\} \d+/);
  expect(text).toMatch(/mcp_router_grpc_calls_total\{method="CallTool",code="NOT_FOUND"\} 1/);
  expect(text).toMatch(/mcp_router_grpc_call_duration_seconds_bucket\{le="0.005",method="ListTools"\}/);
  expect(text).toMatch(/mcp_router_catalog_entries\{kind="tools"\} 5/);
  expect(text).toMatch(/mcp_router_backend_up\{backend="static:demo"\} 1/);
});

test('malformed request bytes get an error status and the router keeps serving', async () => {
  const session = http2.connect(`http://${r.target}`);
  const status: string = await new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/mcp.router.v1.McpRouter/CallTool', 'content-type': 'application/grpc', te: 'trailers' });
    let grpcStatus = '';
    req.on('response', (h) => (grpcStatus = String(h['grpc-status'] ?? '')));
    req.on('trailers', (t) => (grpcStatus = String(t['grpc-status'] ?? grpcStatus)));
    req.on('end', () => resolve(grpcStatus));
    req.on('error', reject);
    req.resume();
    // A gRPC frame whose payload is not a valid CallToolRequest.
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99]);
    const frame = Buffer.alloc(5 + garbage.length);
    frame.writeUInt32BE(garbage.length, 1);
    garbage.copy(frame, 5);
    req.end(frame);
  });
  session.close();
  // Bytes that are not the request message are the client's error (grpc-js alone would say INTERNAL).
  expect(Number(status)).toBe(grpc.status.INVALID_ARGUMENT);
  expect((await unary(r.client, 'ListTools', {})).tools.length).toBe(5);
});

test('an oversized request gets RESOURCE_EXHAUSTED and the router keeps serving', async () => {
  await expect(unary(r.client, 'CallTool', { name: 'demo__echo', arguments: struct({ text: 'x'.repeat(200 * 1024) }) })).rejects.toMatchObject({
    code: grpc.status.RESOURCE_EXHAUSTED,
  });
  const ok = await unary(r.client, 'CallTool', { name: 'demo__echo', arguments: struct({ text: 'small' }) });
  expect(ok.isError).toBe(false);
});

test('drain: NOT_SERVING and /readyz 503 at once, in-flight calls finish, then the port closes', async () => {
  const rr = await routerFor([{ name: 'demo', url: demo.url }], { MCP_ROUTER_DRAIN_DELAY_MS: '500', MCP_ROUTER_SHUTDOWN_GRACE_MS: '5000' });
  const readyz = () => fetch(`http://127.0.0.1:${rr.router.metricsPort}/readyz`).then((x) => x.status);
  expect(await readyz()).toBe(200);
  const inflight = unary(rr.client, 'CallTool', { name: 'demo__slow', arguments: struct({ steps: 10, stepMs: 100 }) }, 10_000);
  await new Promise((res) => setTimeout(res, 100));
  const drained = rr.router.drain();
  await new Promise((res) => setTimeout(res, 50));
  expect(await healthCheck(rr.target)).toBe('NOT_SERVING');
  expect(await readyz()).toBe(503);
  expect((await fetch(`http://127.0.0.1:${rr.router.metricsPort}/healthz`)).status).toBe(200);
  const res = await inflight;
  expect(res.isError).toBe(false);
  await drained;
  const fresh = createRouterClient(rr.target);
  await expect(unary(fresh, 'ListTools', {}, 1000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  fresh.close();
  rr.client.close();
});

test('as a process: SIGTERM with a call in flight -> the call completes OK and the process exits 0', async () => {
  const entry = path.resolve(__dirname, '..', '..', 'router-app', 'dist', 'main.js');
  const proc = spawn(process.execPath, [entry], {
    env: {
      PATH: process.env.PATH,
      CONSUL_REGISTER: 'false',
      MCP_BACKEND_DISCOVERY: 'false',
      MCP_ROUTER_BIND_ADDRESS: '127.0.0.1',
      MCP_ROUTER_PORT: '0',
      MCP_ROUTER_METRICS_PORT: '0',
      MCP_ROUTER_MCP_PORT: '0',
      MCP_ROUTER_DRAIN_DELAY_MS: '200',
      MCP_BACKENDS: JSON.stringify([{ name: 'demo', url: demo.url }]),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.push(proc);
  const started: any = await new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout.on('data', (d) => {
      buf += d;
      const line = buf.split('\n').find((l) => l.includes('"router started"'));
      if (line) resolve(JSON.parse(line));
    });
    proc.on('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  const client = createRouterClient(started.address);
  // wait for the catalogue
  for (let i = 0; i < 100; i++) {
    if ((await unary(client, 'ListTools', {})).tools.length) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  const inflight = unary(client, 'CallTool', { name: 'demo__slow', arguments: struct({ steps: 8, stepMs: 100 }) }, 10_000);
  await new Promise((res) => setTimeout(res, 150));
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  proc.kill('SIGTERM');
  await new Promise((res) => setTimeout(res, 50));
  const admin = `http://127.0.0.1:${started.metricsPort}`;
  expect((await fetch(`${admin}/readyz`)).status).toBe(503); // out of rotation at once
  expect((await fetch(`${admin}/healthz`)).status).toBe(200); // but alive
  const res = await inflight;
  expect(res.isError).toBe(false);
  expect(fromListValue(res.content)).toEqual([{ type: 'text', text: 'done after 8 steps' }]);
  expect(await exit).toBe(0);
  client.close();
});
