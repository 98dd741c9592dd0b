/** The router's buffered transport path: SSE bodies become the JSON-RPC messages the SDK expects. */
import * as http from 'node:http';
import { callContext, parseSseMessages, routerFetch } from '../../router-app/src/mcp/fast-fetch';

test('parseSseMessages: message events only, multi-line data joined, comments/ids ignored, CRLF accepted', () => {
  const body = [
    ': keep-alive comment',
    'id: 1',
    'event: message',
    'data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}',
    '',
    'event: other',
    'data: {"ignored":true}',
    '',
    'data: {"jsonrpc":"2.0",',
    'data: "id":7,"result":{"ok":true}}',
    '',
    '',
  ].join('\r\n');
  expect(parseSseMessages(body)).toEqual([
    { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } },
    { jsonrpc: '2.0', id: 7, result: { ok: true } },
  ]);
  expect(parseSseMessages('')).toEqual([]);
  expect(() => parseSseMessages('data: {not json\n\n')).toThrow();
});

describe('routerFetch against a real HTTP server', () => {
  let server: http.Server;
  let url: string;
  const seen: string[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push(body);
        const msg = JSON.parse(body);
        if (msg.method === 'hang') return; // never answers
        if (msg.method === 'close-early') {
          // What a backend that shuts down does: ends the request's SSE stream before answering.
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: {} })}\n\n`);
          return;
        }
        if (msg.method === 'sse') {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': 'abc' });
          res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: {} })}\n\n`);
          setTimeout(() => res.end(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { v: 1 } })}\n\n`), 20);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { json: true } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/mcp`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const post = (msg: object, signal?: AbortSignal) =>
    routerFetch(url, { method: 'POST', headers: new Headers({ 'content-type': 'application/json', accept: 'application/json, text/event-stream' }), body: JSON.stringify(msg), signal });

  test('an SSE answer is read whole and handed over as JSON messages, headers kept', async () => {
    const res = await post({ jsonrpc: '2.0', id: 3, method: 'sse' });
    expect(res.ok).toBe(true);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('mcp-session-id')).toBe('abc');
    expect(await res.json()).toEqual([
      { jsonrpc: '2.0', method: 'notifications/message', params: {} },
      { jsonrpc: '2.0', id: 3, result: { v: 1 } },
    ]);
  });

  test('a request whose SSE stream ends without its response fails as a cut connection', async () => {
    await expect(post({ jsonrpc: '2.0', id: 9, method: 'close-early' })).rejects.toThrow(/ECONNRESET.*ended without a response/);
  });

  test('a JSON answer passes through', async () => {
    const res = await post({ jsonrpc: '2.0', id: 4, method: 'json' });
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id: 4, result: { json: true } });
  });

  test("the call's AbortSignal drops a request the backend never answers", async () => {
    const ac = new AbortController();
    const p = callContext.run({ signal: ac.signal }, () => post({ jsonrpc: '2.0', id: 5, method: 'hang' }));
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });

  test('a notification is not tied to the (already aborted) call signal, so notifications/cancelled still goes out', async () => {
    const ac = new AbortController();
    ac.abort();
    const before = seen.length;
    const res = await callContext.run({ signal: ac.signal }, () => post({ method: 'notifications/cancelled', params: { requestId: 5 }, jsonrpc: '2.0' }));
    expect(res.status).toBe(200);
    expect(seen.length).toBe(before + 1);
  });

  test('after the timeout (+1 s) a request without an answer is dropped', async () => {
    const t0 = Date.now();
    await expect(callContext.run({ timeoutMs: 100 }, () => post({ jsonrpc: '2.0', id: 6, method: 'hang' }))).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  test('a request with a progress token takes the streaming path (a real fetch Response with a body stream)', async () => {
    const res = await post({ method: 'sse', params: { _meta: { progressToken: 1 } }, jsonrpc: '2.0', id: 8 });
    expect(res).toBeInstanceOf(Response);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toContain('"id":8');
  });
});
