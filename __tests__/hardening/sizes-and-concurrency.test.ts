/**
 * Defect 4: sizes and concurrency were unbounded. The router as a process
 * with its defaults (4 MiB gRPC messages, 4 MiB backend responses): a 49 MB
 * CallTool request and a 49 MB backend answer (a hostile SDK server) are both
 * refused with RESOURCE_EXHAUSTED and the router's peak RSS stays near its
 * idle size; with MCP_ROUTER_MAX_CONCURRENT_CALLS=8, the ninth call is refused
 * at once on both doors (gRPC and MCP), and served again when a slot frees.
 */
import * as grpc from '@grpc/grpc-js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { unary } from '../../scripts/local-platform/router-client';
import { freePort, HostileServer, killLeftovers, report, sample, sleep, startDemoProcess, startHostileServer, startRouterProcess } from './harness';

jest.setTimeout(120_000);

const MB49 = 49 * 1000 * 1000;
let hostile: HostileServer | undefined;

afterAll(async () => {
  await hostile?.close();
  await killLeftovers();
});

test('49 MB in a request or in a backend answer: RESOURCE_EXHAUSTED, and the router\'s peak RSS stays bounded', async () => {
  const big = 'x'.repeat(MB49);
  hostile = await startHostileServer('huge', {
    listTools: () => ({ tools: [{ name: 'dump', inputSchema: { type: 'object' } }, { name: 'echo', inputSchema: { type: 'object' } }] }),
    callTool: (name) => ({ content: [{ type: 'text', text: name === 'dump' ? big : 'small' }] }),
  });
  const r = await startRouterProcess({ MCP_BACKENDS: JSON.stringify([{ name: 'huge', url: hostile.url }]) });
  await r.ready();
  await sleep(1_000);
  const idle = r.memory();

  const t0 = Date.now();
  const inbound = await unary(r.client, 'CallTool', { name: 'huge__echo', arguments: { fields: { text: { stringValue: big } } } }, 30_000).catch((e: grpc.ServiceError) => e);
  const inboundMs = Date.now() - t0;
  const afterInbound = r.memory();

  const t1 = Date.now();
  const outbound = await unary(r.client, 'CallTool', { name: 'huge__dump', arguments: { fields: {} } }, 30_000).catch((e: grpc.ServiceError) => e);
  const outboundMs = Date.now() - t1;
  await sleep(1_000);
  const after = r.memory();
  const small = await unary(r.client, 'CallTool', { name: 'huge__echo', arguments: { fields: {} } });
  report('4 49 MB request and answer', {
    request: { status: grpc.status[(inbound as grpc.ServiceError).code], ms: inboundMs, details: (inbound as grpc.ServiceError).details },
    answer: { status: grpc.status[(outbound as grpc.ServiceError).code], ms: outboundMs, details: (outbound as grpc.ServiceError).details },
    idleRssMb: idle.rssMb,
    peakRssMbBefore: idle.peakMb,
    peakRssMbAfterRequest: afterInbound.peakMb,
    peakRssMbAfterAnswer: after.peakMb,
    rssMbAfter: after.rssMb,
  });
  expect((inbound as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  expect((outbound as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  expect((outbound as grpc.ServiceError).details).toMatch(/exceeded 4194304 bytes \(MCP_ROUTER_MAX_BACKEND_RESPONSE_BYTES\)/);
  // Before: the request was accepted (50 MiB limit) and one such call took the RSS from 77 MB to a 534 MB peak.
  expect(after.peakMb - idle.peakMb).toBeLessThan(64);
  expect(small.isError).toBe(false);
  expect(await r.stop()).toEqual({ code: 0, signal: null });
});

test('MCP_ROUTER_MAX_CONCURRENT_CALLS=8: the ninth call is refused at once on both doors, and served when a slot is free', async () => {
  const port = await freePort();
  const demo = await startDemoProcess({ name: 'demo', port });
  const r = await startRouterProcess({ MCP_BACKENDS: JSON.stringify([{ name: 'demo', url: `http://127.0.0.1:${port}/mcp` }]), MCP_ROUTER_MAX_CONCURRENT_CALLS: '8' });
  await r.ready();
  const mcp = new Client({ name: 'hardening', version: '1.0.0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(r.mcpUrl)));

  const slow = { name: 'demo__slow', arguments: { fields: { steps: { numberValue: 10 }, stepMs: { numberValue: 300 } } } };
  const t0 = Date.now();
  const running = Array.from({ length: 8 }, () => unary(r.client, 'CallTool', slow, 30_000));
  await sleep(500); // all eight have reached the backend
  const inFlight = sample(await r.metrics(), 'mcp_router_calls_in_flight');

  const t1 = Date.now();
  const grpcNinth = await unary(r.client, 'CallTool', { name: 'demo__echo', arguments: { fields: { text: { stringValue: 'ninth' } } } }).catch((e: grpc.ServiceError) => e);
  const grpcMs = Date.now() - t1;
  const t2 = Date.now();
  const mcpNinth = await mcp.callTool({ name: 'demo__echo', arguments: { text: 'ninth' } }).catch((e: Error) => e);
  const mcpMs = Date.now() - t2;
  // Listings take no slot.
  const tools = (await unary(r.client, 'ListTools', {})).tools.length;

  const done = await Promise.all(running);
  const allMs = Date.now() - t0;
  const afterwards = await unary(r.client, 'CallTool', { name: 'demo__echo', arguments: { fields: { text: { stringValue: 'tenth' } } } });
  const metrics = await r.metrics();
  report('4 concurrent calls', {
    limit: 8,
    inFlightMetric: inFlight,
    grpcNinth: { status: grpc.status[(grpcNinth as grpc.ServiceError).code], ms: grpcMs, details: (grpcNinth as grpc.ServiceError).details },
    mcpNinth: { ms: mcpMs, message: (mcpNinth as Error).message },
    listToolsMeanwhile: tools,
    eightFinishedOkMs: allMs,
    refusedMetric: sample(metrics, 'mcp_router_calls_refused_total'),
  });
  expect(inFlight).toBe(8);
  expect((grpcNinth as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  expect((grpcNinth as grpc.ServiceError).details).toMatch(/already runs 8 calls, its limit \(MCP_ROUTER_MAX_CONCURRENT_CALLS\)/);
  expect(grpcMs).toBeLessThan(1_000);
  expect(mcpNinth).toBeInstanceOf(Error);
  expect((mcpNinth as Error).message).toMatch(/MCP_ROUTER_MAX_CONCURRENT_CALLS/);
  expect(mcpMs).toBeLessThan(1_000);
  expect(tools).toBeGreaterThan(0);
  expect(done.every((d) => d.isError === false)).toBe(true);
  expect(afterwards.isError).toBe(false);
  expect(sample(metrics, 'mcp_router_calls_refused_total')).toBe(2);
  expect(sample(metrics, 'mcp_router_calls_in_flight')).toBe(0);
  await mcp.close();
  expect(await r.stop()).toEqual({ code: 0, signal: null });
  await demo.stop('SIGTERM');
});
