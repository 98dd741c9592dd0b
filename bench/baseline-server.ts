/**
 * The bare baseline: a tiny @grpc/grpc-js server (the same grpc-js version and
 * server options as the router, the same proto loaded the same way) answering
 * McpRouter.ListTools with a constant response and nothing else — no metrics,
 * no catalogue, no checks. It is the practical ceiling of Node gRPC unary
 * calls on this machine.
 *
 * Its answer: with BASELINE_LIST_TOOLS_FILE (a ListToolsResponse as JSON, the
 * router's own answer), those tools, serialized once — the same bytes on the
 * wire as the router's, so "router / baseline" isolates the router's own cost
 * (rows 1a and 7). Without it, an empty list (the memory floors, row 1c).
 *
 * With BASELINE_HTTP2_GC_WORKAROUND=1, it also runs the router's HTTP/2 GC
 * workaround (router-app/src/grpc/http2-stream-index.ts): row 7c compares the
 * router with that server, like for like.
 *
 * Run as its own process: `node -r ts-node/register/transpile-only bench/baseline-server.ts <address> <port>`.
 * Prints `listening <port>` when bound; exits on SIGTERM/SIGINT.
 */
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as path from 'node:path';
import { PROTO_PATH, REPO_ROOT, SERVICE } from './grpc-frame';

/** The router's server options (router-app/src/router.ts with its default env). */
export const ROUTER_SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': 50 * 1024 * 1024,
  'grpc.max_send_message_length': 50 * 1024 * 1024,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
};

/** The router's proto-loader options (router-app/src/grpc/proto.ts). */
const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true };

export const BASELINE_INSTANCE_ID = 'bench-baseline';

/** Set to '1' in a baseline process's env: it runs the router's HTTP/2 GC workaround too (rows 3c, 7c, 8d). */
export const HTTP2_GC_WORKAROUND_ENV = 'BASELINE_HTTP2_GC_WORKAROUND';
/** The env of a baseline process that runs the router's HTTP/2 GC workaround. */
export const withHttp2GcWorkaround = (env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv => ({ ...env, [HTTP2_GC_WORKAROUND_ENV]: '1' });

/** The answer in `file` (a ListToolsResponse as JSON), as the baseline's: its own instance ID. */
export function answerFrom(file: string | undefined): { tools: unknown[]; routerInstanceId: string } {
  if (!file) return { tools: [], routerInstanceId: BASELINE_INSTANCE_ID };
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { tools?: unknown };
  if (!Array.isArray(parsed.tools)) throw new Error(`BASELINE_LIST_TOOLS_FILE ${file}: expected a ListToolsResponse with a tools array`);
  return { tools: parsed.tools, routerInstanceId: BASELINE_INSTANCE_ID };
}

export async function startBaseline(address: string, port: number, answerFile?: string, http2GcWorkaround = false): Promise<{ port: number; server: grpc.Server; calls: () => number }> {
  const def = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
  const server = new grpc.Server(ROUTER_SERVER_OPTIONS);
  let calls = 0;
  const response = answerFrom(answerFile);
  const service = def[SERVICE] as grpc.ServiceDefinition;
  // Serialized once, as the router serializes a listing once per catalogue version.
  const listTools = service.ListTools;
  let bytes: Buffer | undefined;
  const serialize = (v: unknown) => (v === response ? (bytes ??= listTools.responseSerialize(v)) : listTools.responseSerialize(v));
  server.addService({ ...service, ListTools: { ...listTools, responseSerialize: serialize } }, {
    ListTools: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      calls++;
      cb(null, response);
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${address}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  if (http2GcWorkaround) {
    // The router's own workaround (router-app/src/grpc/http2-stream-index.ts, from its build), for the like-for-like rows (7c).
    const mod = require(path.join(REPO_ROOT, 'router-app', 'dist', 'grpc', 'http2-stream-index.js')) as typeof import('../router-app/src/grpc/http2-stream-index');
    const why = mod.padGrpcServerSessions(server, (reason) => process.stderr.write(`baseline: a session left without the HTTP/2 GC workaround: ${reason}\n`));
    if (why) throw new Error(`BASELINE_HTTP2_GC_WORKAROUND: the workaround could not be installed: ${why}`);
  }
  return { port: bound, server, calls: () => calls };
}

if (require.main === module) {
  const [address = '127.0.0.1', portArg = '0'] = process.argv.slice(2);
  const port = Number(portArg);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`baseline-server: port must be an integer from 0 to 65535; received ${JSON.stringify(portArg)}\n`);
    process.exit(2);
  }
  // BASELINE_MCP_BACKEND=<url>: also hold an MCP SDK client session to that backend (the memory
  // study's "floor": what any router on grpc-js and the MCP SDK loads; bench/memory-variants.ts).
  const mcpBackend = process.env.BASELINE_MCP_BACKEND;
  const withClient = async () => {
    if (!mcpBackend) return;
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    const client = new Client({ name: 'bench-floor', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpBackend)));
    await client.listTools();
  };
  Promise.all([startBaseline(address, port, process.env.BASELINE_LIST_TOOLS_FILE, process.env[HTTP2_GC_WORKAROUND_ENV] === '1'), withClient()]).then(
    ([b]) => {
      process.stdout.write(`listening ${b.port}\n`);
      const stop = () => b.server.tryShutdown(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    },
    (err: Error) => {
      process.stderr.write(`baseline-server failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
