/**
 * A client that trickles its request to the MCP door (slowloris): before, the door had no receive
 * timeout at all (`requestTimeout = 0`), so each such connection held its socket and up to
 * MCP_ROUTER_MCP_MAX_BODY_BYTES of buffer for as long as the client liked. Now a request must
 * arrive whole within MCP_ROUTER_MCP_RECEIVE_TIMEOUT_MS (then 408 and the connection closed),
 * and the timeout ends once the request is in: a call answered later than that is not cut.
 * Real processes: the router, a real MCP server (the SDK's), raw sockets and the official SDK client.
 */
import * as net from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { HostileServer, killLeftovers, report, RouterProcess, startHostileServer, startRouterProcess } from './harness';

jest.setTimeout(60_000);

afterAll(killLeftovers);

const RECEIVE_MS = 1_000;

let backend: HostileServer;
let router: RouterProcess;

beforeAll(async () => {
  backend = await startHostileServer('slow', {
    listTools: () => ({ tools: [{ name: 'wait', inputSchema: { type: 'object' } }] }),
    callTool: async (name) => {
      await new Promise((r) => setTimeout(r, 3 * RECEIVE_MS));
      return { content: [{ type: 'text', text: `${name} done` }] };
    },
  });
  router = await startRouterProcess({ MCP_BACKENDS: JSON.stringify([{ name: 'slow', url: backend.url }]), MCP_ROUTER_MCP_RECEIVE_TIMEOUT_MS: String(RECEIVE_MS) });
  await router.ready();
});

afterAll(async () => {
  await router?.stop();
  await backend?.close();
});

/** Opens a socket to the MCP door, sends `first`, then one more byte every 200 ms; resolves when the router closes it. */
function trickle(first: string): Promise<{ answer: string; closedAfterMs: number; bytesSent: number }> {
  const url = new URL(router.mcpUrl);
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let answer = '';
    let bytesSent = first.length;
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(first));
    const drip = setInterval(() => {
      if (!socket.destroyed) {
        socket.write('x');
        bytesSent++;
      }
    }, 200);
    const giveUp = setTimeout(() => {
      clearInterval(drip);
      socket.destroy();
      reject(new Error(`the router kept a trickling connection open for 15 s (answer so far: ${JSON.stringify(answer)})`));
    }, 15_000);
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(drip);
      clearTimeout(giveUp);
      resolve({ answer, closedAfterMs: Date.now() - t0, bytesSent });
    });
  });
}

test('a body that never finishes arriving: 408 and the connection closed within the receive timeout (plus its check interval)', async () => {
  const r = await trickle(`POST /mcp HTTP/1.1\r\nHost: ${new URL(router.mcpUrl).host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000000\r\n\r\n{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"`);
  expect(r.answer).toMatch(/^HTTP\/1\.1 408 /);
  expect(r.closedAfterMs).toBeGreaterThanOrEqual(RECEIVE_MS - 50);
  expect(r.closedAfterMs).toBeLessThan(RECEIVE_MS * 3);
  report('slow body', { closedAfterMs: r.closedAfterMs, bytesSent: r.bytesSent, status: r.answer.split('\r\n')[0] });
});

test('headers that never finish arriving: the connection closed within the receive timeout', async () => {
  const r = await trickle(`POST /mcp HTTP/1.1\r\nHost: ${new URL(router.mcpUrl).host}\r\nX-Pad: `);
  expect(r.closedAfterMs).toBeLessThan(RECEIVE_MS * 3);
  expect(r.answer === '' || /^HTTP\/1\.1 408 /.test(r.answer)).toBe(true);
  report('slow headers', { closedAfterMs: r.closedAfterMs, answer: r.answer.split('\r\n')[0] });
});

test('a call answered three times the receive timeout after its request arrived is answered whole (the timeout ends with the request)', async () => {
  const mcp = new Client({ name: 'slow-clients-test', version: '1.0.0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(router.mcpUrl)));
  try {
    const t0 = Date.now();
    const result = await mcp.callTool({ name: 'slow__wait', arguments: {} }, undefined, { timeout: 20_000 });
    expect(result.content).toEqual([{ type: 'text', text: 'wait done' }]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3 * RECEIVE_MS - 100);
    // With progress requested the answer streams (SSE), as long-running calls do.
    const progress: unknown[] = [];
    const streamed = await mcp.callTool({ name: 'slow__wait', arguments: {} }, undefined, { timeout: 20_000, onprogress: (p) => progress.push(p) });
    expect(streamed.content).toEqual([{ type: 'text', text: 'wait done' }]);
  } finally {
    await mcp.close();
  }
});
