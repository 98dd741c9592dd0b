/**
 * The "client under test" command for the MCP conformance suite's client
 * scenarios (@modelcontextprotocol/conformance `client --command ...`).
 *
 * The suite starts a scenario's MCP server, then runs this command with the
 * server's URL as the last argument and MCP_CONFORMANCE_SCENARIO set. The MCP
 * client being tested is the ROUTER's backend client: this command starts a
 * router (router-app/src, static backend = the scenario's server, no Consul)
 * and performs the scenario's operations through the router's gRPC API, the
 * way a router user would. It exits 0 when the router's answers are right,
 * 1 (with the reason on stderr) when not; the suite judges the MCP traffic.
 *
 * Run with Node 20 (the project's Node), under ts-node (transpile-only).
 */
import * as grpc from '@grpc/grpc-js';
import { loadConfig } from '../../../router-app/src/config';
import { startRouter } from '../../../router-app/src/router';
import { createRouterClient, McpRouterClient, unary } from '../../../scripts/local-platform/router-client';
import { fromListValue, fromStruct, toStruct } from '../../../router-app/src/grpc/struct';

const NS = 'conformance';

/** What each supported scenario does through the router, and what it must answer. */
const SCENARIOS: Record<string, (c: McpRouterClient) => Promise<string>> = {
  // The router initializes its session to the backend on discovery; ListServers shows the result.
  async initialize(c) {
    const s = await backendState(c);
    const info = fromStruct(s.serverInfo);
    if (info.name !== 'test-server') throw new Error(`serverInfo after initialize: ${JSON.stringify(info)}`);
    return `initialized: serverInfo ${JSON.stringify(info)}`;
  },
  async tools_call(c) {
    await backendState(c);
    await waitForTool(c, `${NS}__add_numbers`);
    const res = await unary(c, 'CallTool', { name: `${NS}__add_numbers`, arguments: toStruct({ a: 5, b: 3 }) }, 10_000);
    const text = (fromListValue(res.content) as Array<{ text?: string }>).map((b) => b.text).join('');
    if (text !== 'The sum of 5 and 3 is 8') throw new Error(`add_numbers answered ${JSON.stringify(text)}`);
    return `CallTool add_numbers(5, 3): ${text}`;
  },
  // The server primes the tools/call SSE stream (id + retry: 500), closes it without the response,
  // and answers on the GET stream the client must open (Last-Event-ID) after `retry` ms.
  // CONFORMANCE_RPC=CallToolStream makes the same call through the streaming RPC.
  async 'sse-retry'(c) {
    await backendState(c);
    await waitForTool(c, `${NS}__test_reconnection`);
    const req = { name: `${NS}__test_reconnection`, arguments: toStruct({}) };
    const res = process.env.CONFORMANCE_RPC === 'CallToolStream' ? await lastStreamed(c, req) : await unary(c, 'CallTool', req, 10_000);
    const text = (fromListValue(res.content) as Array<{ text?: string }>).map((b) => b.text).join('');
    if (text !== 'Reconnection test completed successfully') throw new Error(`test_reconnection answered ${JSON.stringify(text)}`);
    return `CallTool test_reconnection: ${text}`;
  },
};

/** The result message of a CallToolStream (its last message). */
function lastStreamed(c: McpRouterClient, req: object, deadlineMs = 10_000): Promise<any> {
  return new Promise((resolve, reject) => {
    let result: any;
    const s = c.CallToolStream(req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs });
    s.on('data', (e: any) => {
      if (e.result) result = e.result;
    });
    s.on('error', reject);
    s.on('end', () => (result ? resolve(result) : reject(new Error('CallToolStream ended without a result'))));
  });
}

async function backendState(c: McpRouterClient, timeoutMs = 10_000): Promise<any> {
  const t0 = Date.now();
  let last: any;
  while (Date.now() - t0 < timeoutMs) {
    const res = await unary(c, 'ListServers', {}, 2_000);
    last = res.servers.find((s: any) => s.name === NS);
    if (last?.healthy) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the router has no healthy session with the scenario's server after ${timeoutMs} ms: ${JSON.stringify(last ?? 'not listed')}`);
}

async function waitForTool(c: McpRouterClient, name: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const res = await unary(c, 'ListTools', { server: NS }, 2_000);
    if (res.tools.some((t: any) => t.name === name)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tool ${name} not listed by the router within ${timeoutMs} ms`);
}

async function main(): Promise<number> {
  const url = process.argv[process.argv.length - 1];
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
  const run = SCENARIOS[scenario];
  if (!run) {
    process.stderr.write(`conformance-client: scenario ${JSON.stringify(scenario)} is not one this adapter runs (${Object.keys(SCENARIOS).join(', ')})\n`);
    return 2;
  }
  if (!/^https?:\/\//.test(url ?? '')) {
    process.stderr.write(`conformance-client: last argument must be the scenario server's URL; got ${JSON.stringify(url)}\n`);
    return 2;
  }
  const router = await startRouter(
    loadConfig({
      CONSUL_REGISTER: 'false',
      MCP_BACKEND_DISCOVERY: 'false',
      MCP_ROUTER_BIND_ADDRESS: '127.0.0.1',
      MCP_ROUTER_PORT: '0',
      MCP_ROUTER_METRICS_PORT: '0',
      MCP_ROUTER_HOSTNAME: 'conformance',
      MCP_ROUTER_DRAIN_DELAY_MS: '0',
      MCP_ROUTER_SHUTDOWN_GRACE_MS: '1000',
      MCP_BACKENDS: JSON.stringify([{ name: NS, url }]),
      LOG_LEVEL: process.env.CONFORMANCE_ROUTER_LOG_LEVEL ?? 'error',
    }),
  );
  const client = createRouterClient(`127.0.0.1:${router.port}`);
  try {
    process.stdout.write(`${await run(client)}\n`);
    return 0;
  } catch (err) {
    const e = err as grpc.ServiceError;
    process.stderr.write(`conformance-client: ${scenario}: ${e.code !== undefined ? `${grpc.status[e.code]}: ${e.details}` : e.message}\n`);
    return 1;
  } finally {
    client.close();
    await router.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`conformance-client: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
