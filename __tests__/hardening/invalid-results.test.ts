/**
 * A tools/call result that is not valid MCP is the server's fault, not the client's. The MCP door
 * answered it with -32602 ("invalid params": what the SDK's own Server answers), which tells the
 * client to fix a request that was fine; it now answers -32603 naming the server, on both of its
 * paths (the JSON answer and the SDK's SSE answer with progress). Real processes: the router, a real
 * MCP server (the SDK's) whose tools/call answer is written raw, the official SDK client.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { connectMcp, HostileServer, killLeftovers, report, RouterProcess, startHostileServer, startRouterProcess } from './harness';

jest.setTimeout(60_000);

afterAll(killLeftovers);

let liar: HostileServer;
let router: RouterProcess;
let mcp: Client;

beforeAll(async () => {
  liar = await startHostileServer('liar', {
    listTools: () => ({ tools: [{ name: 'ping', inputSchema: { type: 'object' } }] }),
    intercept: (message, _req, res) => {
      if (message?.method !== 'tools/call') return false;
      // A content block of a type MCP does not have: the SDK's Server would refuse to send it, so it is written raw.
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'bogus', text: 'x' }] } }));
      return true;
    },
  });
  router = await startRouterProcess({ MCP_BACKENDS: JSON.stringify([{ name: 'liar', url: liar.url }]) });
  await router.ready();
  ({ client: mcp } = await connectMcp(router, 'invalid-results-test'));
});

afterAll(async () => {
  await mcp?.close().catch(() => undefined);
  await router?.stop();
  await liar?.close();
});

test("an invalid tools/call result is -32603 naming the server on the MCP door's JSON path and on its SSE path (with progress)", async () => {
  const plain = await mcp.callTool({ name: 'liar__ping', arguments: {} }).then(() => undefined, (e: unknown) => e);
  const streamed = await mcp.callTool({ name: 'liar__ping', arguments: {} }, undefined, { onprogress: () => undefined }).then(() => undefined, (e: unknown) => e);
  const figures = Object.fromEntries(Object.entries({ plain, streamed }).map(([k, e]) => [k, { code: (e as McpError).code, message: (e as McpError).message.slice(0, 90) }]));
  report('invalid tools/call result', figures);
  for (const err of [plain, streamed]) {
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).code).toBe(ErrorCode.InternalError);
    expect((err as McpError).message).toContain('MCP server liar answered tools/call with an invalid result');
  }
});
