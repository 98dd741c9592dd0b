/**
 * Shapes of JSON that cost the router more than their bytes, from a backend and from a client
 * (router-app/src/json-depth.ts, catalog.ts). Real processes: the router, real MCP servers (the
 * SDK's) that list what the test says, and the official SDK client on the MCP door.
 *
 * - A tool schema nested past what protobuf takes: protobufjs refuses to encode a
 *   google.protobuf.Struct past ~50 JSON levels, so the router's ListTools answer failed for every
 *   client, for every server's tools; protobuf's decoders in other languages stop at 100 wire
 *   levels, up to three per JSON level. Now a tool past 32 levels alone is left out.
 *   A listing item nested past 64 levels (JSON.stringify recurses: deep enough, it throws, and the
 *   router serializes listings in timers too) refuses that server's listing, as the other bounds do.
 * - Arguments nested thousands of levels deep (JSON.parse takes them, JSON.stringify throws
 *   RangeError) failed the router's send to the backend as a broken connection: the session
 *   closed under every call in flight to that server and the circuit breaker counted a failure
 *   for a client's bad request. Now the MCP door refuses them as an invalid request.
 * - Two tools whose schemas share a `$id` (two servers built from one template): ajv kept the
 *   first for good and refused the second, whose arguments then went unchecked; and a server
 *   whose schemas change at every listing grew ajv's cache without end (the Catalog in-process).
 */
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { unary } from '../../scripts/local-platform/router-client';
import { MAX_REQUEST_DEPTH, MAX_SCHEMA_DEPTH, nestsDeeperThan } from '../../router-app/src/json-depth';
import { Catalog } from '../../router-app/src/mcp/catalog';
import { toStruct } from '../../router-app/src/grpc/struct';
import { createLogger } from '../../router-app/src/logger';
import { connectMcp, HostileServer, killLeftovers, postToSession, report, RouterProcess, sample, startHostileServer, startRouterProcess } from './harness';

jest.setTimeout(90_000);

afterAll(killLeftovers);

/** A JSON Schema whose JSON nests exactly `depth` levels (`{type: object}` is 1; each property level adds 2). */
function schemaOfDepth(depth: number): Record<string, unknown> {
  if (depth <= 1) return { type: 'object' };
  if (depth === 2) return { type: 'object', properties: {} };
  return { type: 'object', properties: { x: schemaOfDepth(depth - 2) } };
}

/** `depth` levels of nested arrays around a string (built as text: JSON.stringify could not). */
const nestedArrays = (depth: number) => `${'['.repeat(depth)}"x"${']'.repeat(depth)}`;

test('schemaOfDepth builds what it says, and the depth check counts like it (iteratively: any depth)', () => {
  for (const d of [1, 2, 3, 10, 31, 32, 33]) {
    expect(nestsDeeperThan(schemaOfDepth(d), d)).toBe(false);
    expect(nestsDeeperThan(schemaOfDepth(d), d - 1)).toBe(true);
  }
  expect(nestsDeeperThan(JSON.parse(nestedArrays(1_000_000)), 64)).toBe(true);
  expect(nestsDeeperThan('x', 0)).toBe(false);
});

test("why 32: the router's own ListTools encoding (protobufjs, the proto it serves) takes a 32-level schema and refuses a 60-level one", () => {
  const def = protoLoader.loadSync(path.join(__dirname, '..', '..', 'router-app', 'proto', 'mcp_router.proto'), { defaults: true, oneofs: true });
  const listTools = (def['mcp.router.v1.McpRouter'] as Record<string, { responseSerialize(v: unknown): Buffer; responseDeserialize(b: Buffer): unknown }>).ListTools;
  const encode = (depth: number) => listTools.responseSerialize({ tools: [{ name: 'a', inputSchema: toStruct(schemaOfDepth(depth)) }] });
  expect(() => listTools.responseDeserialize(encode(MAX_SCHEMA_DEPTH))).not.toThrow();
  expect(() => encode(60)).toThrow(/maximum nesting depth exceeded/);
});

describe('against a router with real MCP servers', () => {
  let deepServer: HostileServer;
  let abyss: HostileServer;
  const shared: HostileServer[] = [];
  let router: RouterProcess;
  let mcp: Client;
  let transport: StreamableHTTPClientTransport;

  beforeAll(async () => {
    deepServer = await startHostileServer('deep', {
      listTools: () => ({
        tools: [
          { name: 'ping', inputSchema: { type: 'object' } },
          { name: 'edge', inputSchema: schemaOfDepth(MAX_SCHEMA_DEPTH) as never },
          { name: 'deep', inputSchema: schemaOfDepth(MAX_SCHEMA_DEPTH + 1) as never },
          { name: 'very_deep', inputSchema: schemaOfDepth(60) as never },
        ],
      }),
    });
    for (const name of ['one', 'two']) {
      shared.push(
        await startHostileServer(name, {
          listTools: () => ({ tools: [{ name: 'needs_a', inputSchema: { $id: 'urn:example:needs-a', type: 'object', properties: { a: { type: 'string' } }, required: ['a'] } as never }] }),
        }),
      );
    }
    // A listing whose item nests past what the router serializes safely: refused whole (its own entries only).
    abyss = await startHostileServer('abyss', {
      listTools: () => ({ tools: [{ name: 'ok', inputSchema: { type: 'object' } }, { name: 'abyss', inputSchema: { type: 'object' }, _meta: { deep: JSON.parse(nestedArrays(3_000)) } }] }),
    });
    const backends = [deepServer, ...shared, abyss].map((s, i) => ({ name: ['deep', 'one', 'two', 'abyss'][i], url: s.url }));
    router = await startRouterProcess({ MCP_BACKENDS: JSON.stringify(backends) });
    await router.ready();
    ({ client: mcp, transport } = await connectMcp(router, 'nesting-test'));
  });

  afterAll(async () => {
    await mcp?.close().catch(() => undefined);
    await router?.stop();
    for (const s of [deepServer, ...shared, abyss]) await s?.close();
  });

  test('a tool schema too deep for protobuf is left out, once logged; ListTools answers everyone with the rest (a 60-level one failed the whole answer), on both doors', async () => {
    const listed = await unary<{ tools: Array<{ name: string; inputSchema?: unknown; input_schema?: unknown }> }>(router.client, 'ListTools', {});
    const names = listed.tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['deep__ping', 'deep__edge', 'one__needs_a', 'two__needs_a']));
    expect(names).not.toContain('deep__deep');
    expect(names).not.toContain('deep__very_deep');
    // The tool at the limit arrives whole through a protobuf decoder (grpc-js + protobufjs).
    const edge = listed.tools.find((t) => t.name === 'deep__edge')!;
    expect(nestsDeeperThan(edge.inputSchema ?? edge.input_schema, MAX_SCHEMA_DEPTH - 1)).toBe(true);
    const viaMcp = (await mcp.listTools()).tools.map((t) => t.name);
    expect(viaMcp).toEqual(expect.arrayContaining(['deep__ping', 'deep__edge']));
    expect(viaMcp).not.toContain('deep__deep');
    expect(names.filter((n) => n.startsWith('abyss__'))).toEqual([]);
    const metrics = await router.metrics();
    expect(sample(metrics, 'mcp_router_backend_listings_refused_total{backend="static:abyss",limit="depth"}')).toBeGreaterThanOrEqual(1);
    const warnings = router.proc.tail(2000).split('\n').filter((l) => l.includes('nests more than 32 levels deep'));
    expect(warnings.filter((l) => l.includes('"tool":"deep"'))).toHaveLength(1);
    expect(warnings.filter((l) => l.includes('"tool":"very_deep"'))).toHaveLength(1);
  });

  test('arguments nested deeper than the MCP door takes are an invalid request; the server, its session and its breaker never see them', async () => {
    const before = await router.metrics();
    const post = (body: string) => postToSession(router, transport, body);
    const call = (args: string) => `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"deep__ping","arguments":{"a":${args}}}}`;
    const deep = await post(call(nestedArrays(200_000)));
    expect(deep.status).toBe(400);
    const err = (await deep.json()) as { error: { code: number; message: string } };
    expect(err.error.code).toBe(-32600);
    expect(err.error.message).toContain(`more than ${MAX_REQUEST_DEPTH} levels deep`);
    // At the limit (message 1 + params 1 + arguments 1 + a's arrays): passed on, and answered.
    const atLimit = await post(call(nestedArrays(MAX_REQUEST_DEPTH - 3)));
    expect(atLimit.status).toBe(200);
    expect(JSON.stringify(await atLimit.json())).toContain('"text":"ping"');
    const overLimit = await post(call(nestedArrays(MAX_REQUEST_DEPTH - 2)));
    expect(overLimit.status).toBe(400);
    // The server's session and breaker: no failure counted, and calls go on.
    expect((await mcp.callTool({ name: 'deep__ping', arguments: {} })).content).toEqual([{ type: 'text', text: 'ping' }]);
    const after = await router.metrics();
    for (const outcome of ['unavailable', 'timeout', 'cancelled']) {
      const series = `mcp_router_backend_calls_total{backend="deep",outcome="${outcome}"}`;
      expect(sample(after, series)).toBe(sample(before, series));
    }
    report('deep arguments', { refusedStatus: deep.status, code: err.error.code, message: err.error.message });
  });

  test('two servers whose tool schemas share a $id: both tools are checked (arguments refused as the schema says)', async () => {
    for (const name of ['one__needs_a', 'two__needs_a']) {
      const status = await unary(router.client, 'CallTool', { name, arguments: { fields: {} } }).then(
        () => 'OK',
        (e: grpc.ServiceError) => grpc.status[e.code],
      );
      expect({ name, status }).toEqual({ name, status: 'INVALID_ARGUMENT' });
      await expect(unary(router.client, 'CallTool', { name, arguments: { fields: { a: { stringValue: 'x' } } } })).resolves.toBeDefined();
    }
    expect(router.proc.tail(2000).split('\n').filter((l) => l.includes('does not compile'))).toEqual([]);
  });
});

test("ajv keeps nothing of a compiled tool schema: a server whose schemas change at every listing cannot grow it (in-process Catalog)", () => {
  const logger = createLogger('silent', 'nesting-test');
  const catalog = new Catalog({ connectTimeoutMs: 1_000, breakerFailures: 5, breakerResetMs: 1_000, maxResponseBytes: 1 << 20, logger } as never, 60_000, logger);
  const internals = catalog as unknown as { compile(t: unknown): ((v: unknown) => boolean) | undefined; ajv: { _cache: Map<unknown, unknown>; refs: Record<string, unknown>; schemas: Record<string, unknown> } };
  // What ajv holds from the start (its meta-schema).
  const cached = internals.ajv._cache.size;
  const validators = Array.from({ length: 500 }, (_, i) =>
    internals.compile({ name: `t${i}`, inputSchema: { $id: 'urn:example:same', type: 'object', description: `v${i}`, properties: { a: { type: 'string' } }, required: ['a'] } }),
  );
  expect(validators.every((v) => typeof v === 'function')).toBe(true);
  expect(validators[499]!({})).toBe(false);
  expect(validators[0]!({ a: 'x' })).toBe(true);
  expect(internals.ajv._cache.size).toBe(cached);
  expect(Object.keys(internals.ajv.refs).filter((k) => k.startsWith('urn:'))).toEqual([]);
});
