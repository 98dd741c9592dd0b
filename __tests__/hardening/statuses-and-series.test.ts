/**
 * Defect 8: wrong statuses and leaking metric series, against the router as
 * a process.
 * - A Struct nested past protobuf's recursion limit (hand-encoded bytes: the
 *   protobufjs encoder refuses to write it) gets INVALID_ARGUMENT, not
 *   INTERNAL; one within the limit is routed to the backend as usual.
 * - A listing filtered by a server the router does not have is NOT_FOUND.
 * - Backend instances that come and go in Consul leave no metric series.
 */
import * as grpc from '@grpc/grpc-js';
import { Writer } from 'protobufjs/minimal';
import { unary } from '../../scripts/local-platform/router-client';
import { ConsulAgent, startConsulAgent } from '../support/consul-agent';
import { HostileServer, killLeftovers, report, RouterProcess, startHostileServer, startRouterProcess, waitUntil } from './harness';

jest.setTimeout(120_000);

let backend: HostileServer;
const received: unknown[] = [];

beforeAll(async () => {
  backend = await startHostileServer('deep', {
    listTools: () => ({ tools: [{ name: 'take', inputSchema: { type: 'object' } }] }),
    callTool: (_name, args) => {
      received.push(args);
      return { content: [{ type: 'text', text: 'taken' }] };
    },
  });
});

afterAll(async () => {
  await backend?.close();
  await killLeftovers();
});

/** CallToolRequest bytes: { name, arguments: { a: { a: { … depth levels … } } } }, written field by field. */
function deepCallToolRequest(name: string, depth: number): Buffer {
  const ld = (field: number, bytes: Uint8Array) => Writer.create().uint32((field << 3) | 2).bytes(bytes).finish();
  let struct: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < depth; i++) {
    const value = ld(5, struct); // Value.struct_value
    const entry = Buffer.concat([Writer.create().uint32((1 << 3) | 2).string('a').finish(), ld(2, value)]); // map entry: key, value
    struct = ld(1, entry); // Struct.fields
  }
  return Buffer.concat([Writer.create().uint32((1 << 3) | 2).string(name).finish(), ld(2, struct)]);
}

function rawCall(target: string, method: string, body: Buffer): Promise<{ code: number; details: string }> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(`/mcp.router.v1.McpRouter/${method}`, (b: Buffer) => b, (b: Buffer) => b, body, { deadline: Date.now() + 10_000 }, (err) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '' });
    });
  });
}

test('a Struct nested past the limit is INVALID_ARGUMENT; one within it reaches the backend; unknown server filters are NOT_FOUND', async () => {
  const r: RouterProcess = await startRouterProcess({ MCP_BACKENDS: JSON.stringify([{ name: 'deep', url: backend.url }]) });
  await r.ready();
  const deep = await rawCall(r.target, 'CallTool', deepCallToolRequest('deep__take', 100));
  const garbage = await rawCall(r.target, 'CallTool', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99]));
  const within = await rawCall(r.target, 'CallTool', deepCallToolRequest('deep__take', 40));
  let depthReceived = 0;
  for (let o = received[0] as Record<string, unknown> | undefined; o && typeof o === 'object' && 'a' in o; o = o.a as Record<string, unknown>) depthReceived++;

  const filters: Record<string, string> = {};
  for (const m of ['ListTools', 'ListPrompts', 'ListResources', 'ListResourceTemplates'] as const) {
    filters[`${m}(nope)`] = await unary(r.client, m, { server: 'nope' }).then(() => 'OK', (e: grpc.ServiceError) => `${grpc.status[e.code]}: ${e.details}`);
    filters[`${m}(deep)`] = await unary(r.client, m, { server: 'deep' }).then(() => 'OK', (e: grpc.ServiceError) => grpc.status[e.code]);
  }
  const stillServing = (await unary(r.client, 'CallTool', { name: 'deep__take', arguments: { fields: {} } })).isError;
  report('8 statuses', {
    struct100Levels: `${grpc.status[deep.code]}: ${deep.details}`,
    garbageBytes: grpc.status[garbage.code],
    struct40Levels: grpc.status[within.code],
    depthReceivedByBackend: depthReceived,
    filters,
  });
  expect(deep.code).toBe(grpc.status.INVALID_ARGUMENT);
  expect(deep.details).toMatch(/the request is not a valid CallToolRequest: maximum nesting depth exceeded/);
  expect(garbage.code).toBe(grpc.status.INVALID_ARGUMENT);
  expect(within.code).toBe(grpc.status.OK);
  expect(depthReceived).toBe(40);
  for (const m of ['ListTools', 'ListPrompts', 'ListResources', 'ListResourceTemplates']) {
    expect(filters[`${m}(nope)`]).toBe('NOT_FOUND: no MCP server named "nope"; ListServers shows the servers this router has');
    expect(filters[`${m}(deep)`]).toBe('OK');
  }
  expect(stillServing).toBe(false);
  expect(await r.stop()).toEqual({ code: 0, signal: null });
});

describe('series of backends that come and go', () => {
  let consul: ConsulAgent;
  beforeAll(async () => {
    consul = await startConsulAgent();
  });
  afterAll(async () => {
    await consul?.stop();
  });

  test('twelve instances registered, called and deregistered in Consul: only the one left has series', async () => {
    const r = await startRouterProcess({ CONSUL_HOST: consul.address, CONSUL_PORT: String(consul.httpPort), MCP_BACKEND_DISCOVERY: 'true' }, consul.address, 'churn');
    await r.ready();
    const ids = Array.from({ length: 12 }, (_, i) => `churn-${i + 1}`);
    for (const id of ids) {
      await consul.api('/v1/agent/service/register', { method: 'PUT', body: JSON.stringify({ ID: id, Name: 'churn', Tags: ['mcp-server'], Address: '127.0.0.1', Port: backend.port }) });
    }
    const instances = async () => (await unary(r.client, 'ListServers', {})).servers.filter((s: { name: string }) => s.name === 'churn').length;
    await waitUntil('12 instances discovered', async () => (await instances()) === 12, 20_000, 100);
    await waitUntil('churn__take listed', async () => (await unary(r.client, 'ListTools', {})).tools.some((t: { name: string }) => t.name === 'churn__take'), 20_000, 100);
    for (let i = 0; i < 24; i++) await unary(r.client, 'CallTool', { name: 'churn__take', arguments: { fields: {} } });
    const seriesOf = (text: string) => new Set([...text.matchAll(/backend="(churn-\d+)"/g)].map((m) => m[1]));
    const during = seriesOf(await r.metrics());
    for (const id of ids.slice(1)) await consul.api(`/v1/agent/service/deregister/${id}`, { method: 'PUT' });
    await waitUntil('one instance left', async () => (await instances()) === 1, 20_000, 100);
    const after = seriesOf(await r.metrics());
    report('8 series after churn', { instancesWithSeriesDuring: during.size, instancesWithSeriesAfter: [...after] });
    expect(during.size).toBe(12);
    expect([...after]).toEqual(['churn-1']);
    expect(await r.stop()).toEqual({ code: 0, signal: null });
  });
});
