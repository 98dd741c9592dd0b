/**
 * A backend that never answers, and what it may cost the router.
 *
 * - What the router sends outside a call: the `notifications/initialized` that opens a session,
 *   the `notifications/cancelled` after a call timed out. Before the router bounded those
 *   (backend-fetch.ts, `untiedTimeoutMs` = MCP_ROUTER_CONNECT_TIMEOUT_MS), one such backend made
 *   every later call to it wait forever inside the router, each holding one of the router's call
 *   slots (256 by default, shared by every backend), and left a socket open per notification.
 * - A call it never answers, once the router has timed the call out: a buffered request was
 *   dropped then, but a client could make its call streamed (no timer) by putting the text
 *   "progressToken" in its arguments, and a call that really streams progress kept its request
 *   open until the backend closed it. Now only a real progress token streams, and a streamed call's
 *   end ends its request.
 *
 * Real processes: the router, and a real MCP server (the SDK's) that holds requests open on purpose.
 */
import * as grpc from '@grpc/grpc-js';
import type * as http from 'node:http';
import { unary } from '../../scripts/local-platform/router-client';
import { killLeftovers, report, RouterProcess, sample, startHostileServer, startRouterProcess, waitUntil } from './harness';

jest.setTimeout(90_000);

afterAll(killLeftovers);

const CONNECT_MS = 1_000;
const statusOf = (p: Promise<unknown>) => p.then(() => 'OK', (e: grpc.ServiceError) => grpc.status[e.code]);

test('a backend that holds notifications open: calls fail within the connect timeout instead of waiting for ever, and the router lets go of every held request', async () => {
  let mode: 'normal' | 'drop-next-call' | 'hold-notifications' = 'normal';
  const held = new Set<http.IncomingMessage>();
  let heldTotal = 0;
  const hostile = await startHostileServer('hold', {
    callTool: async (name) => {
      if (name === 'slow') await new Promise((r) => setTimeout(r, 5_000));
      return { content: [{ type: 'text', text: name }] };
    },
    listTools: () => ({ tools: [{ name: 'ping', inputSchema: { type: 'object' } }, { name: 'slow', inputSchema: { type: 'object' } }] }),
    intercept: (msg, req, res) => {
      if (mode === 'drop-next-call' && msg?.method === 'tools/call') {
        // A response cut mid-body (a connection failure the router does not retry: the request was
        // answered): the router closes the session and opens a new one on the next call.
        mode = 'hold-notifications';
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{');
        setTimeout(() => req.socket.destroy(), 50);
        return true;
      }
      if (mode === 'hold-notifications' && typeof msg?.method === 'string' && msg.method.startsWith('notifications/')) {
        held.add(req);
        heldTotal++;
        res.on('close', () => held.delete(req));
        return true;
      }
      return false;
    },
  });
  let router: RouterProcess | undefined;
  try {
    router = await startRouterProcess({ MCP_BACKENDS: JSON.stringify([{ name: 'hold', url: hostile.url }]), MCP_ROUTER_CONNECT_TIMEOUT_MS: String(CONNECT_MS), MCP_ROUTER_BREAKER_RESET_MS: '1000' });
    await router.ready();
    const listed = await unary<{ tools: Array<{ name: string }> }>(router.client, 'ListTools', {});
    expect(listed.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['hold__ping', 'hold__slow']));
    expect(await statusOf(unary(router.client, 'CallTool', { name: 'hold__ping' }))).toBe('OK');

    mode = 'drop-next-call';
    expect(await statusOf(unary(router.client, 'CallTool', { name: 'hold__ping' }))).toBe('UNAVAILABLE');
    // The next calls open a new session: initialize is answered, notifications/initialized never is.
    const t0 = Date.now();
    const statuses = await Promise.all(Array.from({ length: 8 }, () => statusOf(unary(router!.client, 'CallTool', { name: 'hold__ping' }, 30_000))));
    const failedAfterMs = Date.now() - t0;
    expect(statuses).toEqual(Array(8).fill('UNAVAILABLE'));
    expect(failedAfterMs).toBeLessThan(10 * CONNECT_MS);
    expect(heldTotal).toBeGreaterThan(0);
    await waitUntil('no call left in flight', async () => sample(await router!.metrics(), 'mcp_router_calls_in_flight') === 0, 5_000);
    // The router dropped every notification it had sent and got no answer to.
    await waitUntil('every held notification request closed by the router', async () => held.size === 0, 3 * CONNECT_MS);
    const servers = await unary<{ servers: Array<{ last_error?: string; lastError?: string }> }>(router.client, 'ListServers', {});
    const lastError = JSON.stringify(servers.servers);
    expect(lastError).toMatch(/did not answer a notification within 1000 ms/);

    // A call the router times out: the SDK sends notifications/cancelled, which the backend holds too.
    mode = 'normal';
    await waitUntil('the backend is called again once it answers', async () => (await statusOf(unary(router!.client, 'CallTool', { name: 'hold__ping' }))) === 'OK', 15_000);
    mode = 'hold-notifications';
    const before = heldTotal;
    expect(await statusOf(unary(router.client, 'CallTool', { name: 'hold__slow' }, 500))).toBe('DEADLINE_EXCEEDED');
    await waitUntil('notifications/cancelled sent', async () => heldTotal > before, 5_000);
    await waitUntil('the held notifications/cancelled closed by the router', async () => held.size === 0, 3 * CONNECT_MS);
    report('unanswered notifications', { failedAfterMs, heldTotal, lastError: /did not answer[^"]*/.exec(lastError)?.[0] });
  } finally {
    await router?.stop();
    await hostile.close();
  }
});

test('a call the backend never answers: once the router has timed the call out, it lets go of the request, streamed or not', async () => {
  const held = new Set<http.IncomingMessage>();
  let heldTotal = 0;
  const mute = await startHostileServer('mute', {
    listTools: () => ({ tools: [{ name: 'never', inputSchema: { type: 'object' } }] }),
    intercept: (msg, req, res) => {
      if (msg?.method !== 'tools/call') return false;
      held.add(req);
      heldTotal++;
      res.on('close', () => held.delete(req));
      return true;
    },
  });
  let router: RouterProcess | undefined;
  try {
    // The router runs no call longer than 1 s, whatever the client's deadline (20 s here).
    router = await startRouterProcess({ MCP_BACKENDS: JSON.stringify([{ name: 'mute', url: mute.url }]), MCP_ROUTER_MAX_CALL_MS: '1000' });
    await router.ready();
    const figures: Record<string, number> = {};
    // The text "progressToken" in a plain call's arguments: still a buffered call.
    const args = { fields: { note: { stringValue: '"progressToken"' } } };
    let t0 = Date.now();
    expect(await statusOf(unary(router.client, 'CallTool', { name: 'mute__never', arguments: args }, 20_000))).toBe('DEADLINE_EXCEEDED');
    expect(heldTotal).toBe(1);
    await waitUntil('the plain call\'s request closed by the router', async () => held.size === 0, 5_000);
    figures.plainReleasedAfterMs = Date.now() - t0;
    expect(figures.plainReleasedAfterMs).toBeLessThan(5_000);
    // A call that streams progress (CallToolStream), timed out by the router.
    t0 = Date.now();
    const streamStatus = await new Promise<string>((resolve) => {
      const call = router!.client.CallToolStream({ name: 'mute__never' }, new grpc.Metadata(), { deadline: Date.now() + 20_000 });
      call.on('data', () => undefined);
      call.on('error', (e: grpc.ServiceError) => resolve(grpc.status[e.code]));
      call.on('end', () => resolve('OK'));
    });
    expect(streamStatus).toBe('DEADLINE_EXCEEDED');
    expect(heldTotal).toBe(2);
    await waitUntil('the streamed call\'s request closed by the router', async () => held.size === 0, 3_000);
    figures.streamedReleasedAfterMs = Date.now() - t0;
    expect(figures.streamedReleasedAfterMs).toBeLessThan(5_000);
    await waitUntil('no call left in flight', async () => sample(await router!.metrics(), 'mcp_router_calls_in_flight') === 0, 5_000);
    report('unanswered calls', figures);
  } finally {
    await router?.stop();
    await mute.close();
  }
});
