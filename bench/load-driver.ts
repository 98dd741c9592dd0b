/**
 * Node load driver (own process), used where h2load cannot go: a closed loop
 * of `concurrency` in-flight tool calls, bounded by a request count and a time
 * limit, that checks every response and records each latency.
 *
 *   kind "mcp":  @modelcontextprotocol/sdk Client over Streamable HTTP, straight to the MCP backend
 *   kind "grpc": @grpc/grpc-js client (one channel) calling McpRouter.CallTool on a router
 *
 * Usage: node -r ts-node/register/transpile-only bench/load-driver.ts '<json DriverOptions>'
 * Prints one JSON line (DriverResult) on stdout.
 */
import { firstText, routerClient, structOf, unary } from './grpc-client';
import { LatencySummary, summarizeMicros } from './stats';

export interface DriverOptions {
  readonly kind: 'mcp' | 'grpc';
  /** mcp: the backend's URL (http://host:port/mcp); grpc: host:port of the router */
  readonly target: string;
  /** mcp: tool name on the backend ("echo"); grpc: namespaced ("demo__echo") */
  readonly tool: string;
  readonly text: string;
  readonly requests: number;
  readonly warmup: number;
  readonly concurrency: number;
  readonly timeLimitMs: number;
}

export interface DriverResult {
  readonly kind: 'mcp' | 'grpc';
  readonly completed: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly elapsedSec: number;
  readonly reqPerSec: number;
  readonly latency: LatencySummary;
  readonly timedOut: boolean;
}

type Call = () => Promise<void>;

async function makeCaller(o: DriverOptions): Promise<{ call: Call; close: () => Promise<void> }> {
  if (o.kind === 'grpc') {
    const client = routerClient(o.target);
    const req = { name: o.tool, arguments: structOf({ text: o.text }) };
    return {
      call: async () => {
        const res = await unary(client, 'CallTool', req, 10_000);
        if (res.isError || firstText(res) !== o.text) throw new Error(`unexpected CallTool response ${JSON.stringify(res).slice(0, 300)}`);
      },
      close: async () => client.close(),
    };
  }
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const client = new Client({ name: 'bench-driver', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(o.target)));
  return {
    call: async () => {
      const res = (await client.callTool({ name: o.tool, arguments: { text: o.text } }, undefined, { timeout: 10_000 })) as {
        isError?: boolean;
        content: Array<{ type: string; text?: string }>;
      };
      if (res.isError || res.content?.[0]?.text !== o.text) throw new Error(`unexpected tools/call result ${JSON.stringify(res).slice(0, 300)}`);
    },
    close: () => client.close(),
  };
}

/** Runs `total` calls with `concurrency` in flight, stopping early at the deadline. */
async function closedLoop(call: Call, total: number, concurrency: number, deadline: number, latUs?: Float64Array) {
  let issued = 0;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  let timedOut = false;
  const worker = async () => {
    while (issued < total) {
      if (Date.now() > deadline) {
        timedOut = true;
        return;
      }
      issued++;
      const t0 = process.hrtime.bigint();
      try {
        await call();
        if (latUs) latUs[completed] = Number(process.hrtime.bigint() - t0) / 1000;
        completed++;
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { completed, errors, firstError, timedOut };
}

export async function drive(o: DriverOptions): Promise<DriverResult> {
  const started = Date.now();
  const deadline = started + o.timeLimitMs;
  const { call, close } = await makeCaller(o);
  try {
    await closedLoop(call, o.warmup, o.concurrency, deadline);
    const lat = new Float64Array(o.requests);
    const t0 = process.hrtime.bigint();
    const r = await closedLoop(call, o.requests, o.concurrency, deadline, lat);
    const elapsedSec = Number(process.hrtime.bigint() - t0) / 1e9;
    return {
      kind: o.kind,
      completed: r.completed,
      errors: r.errors,
      firstError: r.firstError,
      elapsedSec,
      reqPerSec: r.completed / elapsedSec,
      latency: summarizeMicros(lat.subarray(0, r.completed)),
      timedOut: r.timedOut,
    };
  } finally {
    await close().catch(() => undefined);
  }
}

if (require.main === module) {
  let options: DriverOptions;
  try {
    options = JSON.parse(process.argv[2] ?? '');
  } catch {
    process.stderr.write('load-driver: argument must be a JSON DriverOptions object\n');
    process.exit(2);
  }
  drive(options).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (err: Error) => {
      process.stderr.write(`load-driver failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
