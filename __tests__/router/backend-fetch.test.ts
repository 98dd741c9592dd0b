/**
 * The router's backend fetch: SSE bodies parsed with the maintained SSE parser
 * (eventsource-parser) into the JSON-RPC messages the SDK expects, every part
 * of the format covered; buffered and streamed paths against a real HTTP
 * server; the call's cancel and timeout drop the request.
 */
import * as http from 'node:http';
import * as fc from 'fast-check';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { z } from 'zod';
import { createBackendFetch } from '../../router-app/src/mcp/backend-fetch';
import { CallContext, CallContexts, ContextTransport, withCallContext } from '../../router-app/src/mcp/call-context';
import { TransportError } from '../../router-app/src/mcp/errors';
import { hasResponseTo, parseSseBody, SseMessageError } from '../../router-app/src/mcp/sse-body';

const contexts = new CallContexts();
const routerFetch = createBackendFetch({ maxResponseBytes: 64 * 1024, contexts });
const response = (id: number) => ({ jsonrpc: '2.0', id, result: { ok: true } });

describe('parseSseBody: the SSE format as the standard defines it', () => {
  test('a priming event (id + empty data) is not dispatched, but its id is kept', () => {
    const body = `id: 42_0\ndata: \n\nid: 42_1\nevent: message\ndata: ${JSON.stringify(response(1))}\n\n`;
    expect(parseSseBody(body)).toEqual({ messages: [response(1)], lastEventId: '42_1', retryMs: undefined });
    expect(parseSseBody('id: only-priming\ndata:\n\n')).toEqual({ messages: [], lastEventId: 'only-priming', retryMs: undefined });
  });
  test('retry: is read; comments and keep-alives are ignored', () => {
    const body = `: ping\n\nretry: 1500\nid: 7\ndata: \n\n:keep-alive\n\ndata: ${JSON.stringify(response(2))}\n\n`;
    expect(parseSseBody(body)).toEqual({ messages: [response(2)], lastEventId: '7', retryMs: 1500 });
  });
  test.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('%s line ends, multi-line data joined with LF', (_label, eol) => {
    const body = ['event: message', 'data: {"jsonrpc":"2.0",', 'data: "id":7,"result":{"ok":true}}', '', ''].join(eol);
    expect(parseSseBody(body).messages).toEqual([{ jsonrpc: '2.0', id: 7, result: { ok: true } }]);
  });
  test('several events in one body, notifications before the response; other event types ignored', () => {
    const note = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } };
    const progress = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } };
    const body = [note, progress].map((m) => `data: ${JSON.stringify(m)}\n\n`).join('') + `event: other\ndata: {"ignored":true}\n\n` + `data: ${JSON.stringify(response(3))}\n\n`;
    const parsed = parseSseBody(body);
    expect(parsed.messages).toEqual([note, progress, response(3)]);
    expect(hasResponseTo(parsed.messages, 3)).toBe(true);
    expect(hasResponseTo(parsed.messages, 4)).toBe(false);
  });
  test('an event the body ends in the middle of is discarded; a body without the response has none', () => {
    const body = `data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: {} })}\n\ndata: ${JSON.stringify(response(5))}`;
    const parsed = parseSseBody(body);
    expect(parsed.messages).toHaveLength(1);
    expect(hasResponseTo(parsed.messages, 5)).toBe(false);
    expect(parseSseBody('')).toEqual({ messages: [], lastEventId: undefined, retryMs: undefined });
  });
  test('a message event that is not JSON is an error with a code', () => {
    expect(() => parseSseBody('data: {not json\n\n')).toThrow(SseMessageError);
  });
  test('property: any JSON messages, any line end, any split into data lines, with comments and priming events between, come back in order', () => {
    const json = fc.jsonValue().map((v) => ({ jsonrpc: '2.0', id: 1, result: { v } }));
    fc.assert(
      fc.property(fc.array(json, { minLength: 1, maxLength: 5 }), fc.constantFrom('\n', '\r\n', '\r'), fc.boolean(), (msgs, eol, noise) => {
        const events = msgs.map((m) => {
          // Pretty-printed JSON spans several lines: one data line each, joined back with LF by the parser.
          const lines = JSON.stringify(m, null, 1).split('\n').map((l, i) => (i % 2 ? `data:${l}` : `data: ${l}`));
          return (noise ? [': comment', 'id: x', 'data:', '', ...lines] : lines).join(eol) + eol + eol;
        });
        expect(parseSseBody(events.join('')).messages).toEqual(JSON.parse(JSON.stringify(msgs)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('backend fetch against a real HTTP server', () => {
  let server: http.Server;
  let url: string;
  const seen: string[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        // The SDK client's notification stream (GET) and session end (DELETE): not offered.
        if (req.method !== 'POST') return void res.writeHead(405).end();
        seen.push(body);
        const msg = JSON.parse(body);
        if (msg.method === 'hang') return; // never answers
        if (msg.method === 'initialize') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: msg.params.protocolVersion, capabilities: {}, serverInfo: { name: 'fetch-test', version: '1.0.0' } } }));
          return;
        }
        if (msg.method === 'notifications/initialized') return void res.writeHead(202).end();
        if (msg.method === 'firehose') {
          // A stream that keeps sending after the client cancelled its body.
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const t = setInterval(() => res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { pad: 'y'.repeat(2000) } })}\n\n`), 1);
          res.on('close', () => clearInterval(t));
          return;
        }
        if (msg.method === 'big') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { pad: 'x'.repeat(100 * 1024) } }));
          return;
        }
        if (msg.method === 'primed-then-closed') {
          // A 2025-11-25 server may close a request's stream after the priming event; the client resumes by GET.
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end('id: s1_0\nretry: 10\ndata: \n\n');
          return;
        }
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
  /** Posts `msg` as the session's transport sends a request tagged with its call's context. */
  const postInCall = (ctx: CallContext, msg: { jsonrpc: '2.0'; method: string; id?: number; params?: object }) => {
    const tagged = withCallContext(msg, ctx);
    return contexts.track(tagged as never, () => post(tagged));
  };

  test('an SSE answer is read whole and handed over as JSON messages, headers kept', async () => {
    const res = await post({ jsonrpc: '2.0', id: 3, method: 'sse' });
    expect(res.ok).toBe(true);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('mcp-session-id')).toBe('abc');
    expect(res).toBeInstanceOf(Response);
    expect(await res.json()).toEqual([
      { jsonrpc: '2.0', method: 'notifications/message', params: {} },
      { jsonrpc: '2.0', id: 3, result: { v: 1 } },
    ]);
  });

  test('a request whose SSE stream ends without its response fails as a cut connection', async () => {
    await expect(post({ jsonrpc: '2.0', id: 9, method: 'close-early' })).rejects.toMatchObject({ code: 'RESPONSE_CUT', message: expect.stringMatching(/ended without a response/) });
  });

  test('a resumable stream (priming event id) that ends without the response is handed to the SDK as a stream, to resume by GET', async () => {
    const res = await post({ jsonrpc: '2.0', id: 10, method: 'primed-then-closed' });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toBe('id: s1_0\nretry: 10\ndata: \n\n');
  });

  test('a response over maxResponseBytes fails with RESPONSE_TOO_LARGE', async () => {
    const err = await post({ jsonrpc: '2.0', id: 11, method: 'big' }).catch((e) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('RESPONSE_TOO_LARGE');
  });

  test('a streamed body cancelled by its reader while the backend keeps sending: no uncaught error, the backend connection is closed', async () => {
    const uncaught: Error[] = [];
    const onUncaught = (e: Error) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      for (let i = 0; i < 20; i++) {
        const res = await post({ method: 'firehose', params: { _meta: { progressToken: 1 } }, jsonrpc: '2.0', id: 100 + i });
        const reader = res.body!.getReader();
        await reader.read();
        await reader.cancel();
      }
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught.map((e) => e.message)).toEqual([]);
  });

  test('a JSON answer passes through', async () => {
    const res = await post({ jsonrpc: '2.0', id: 4, method: 'json' });
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id: 4, result: { json: true } });
  });

  test("the call's AbortSignal drops a request the backend never answers", async () => {
    const ac = new AbortController();
    const p = postInCall({ signal: ac.signal }, { jsonrpc: '2.0', id: 5, method: 'hang' });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });

  test('a notification is not tied to the (already aborted) call signal, so notifications/cancelled still goes out', async () => {
    const ac = new AbortController();
    ac.abort();
    const before = seen.length;
    const res = await postInCall({ signal: ac.signal }, { method: 'notifications/cancelled', params: { requestId: 5 }, jsonrpc: '2.0' });
    expect(res.status).toBe(200);
    expect(seen.length).toBe(before + 1);
  });

  test('after the timeout (+1 s) a request without an answer is dropped', async () => {
    const t0 = Date.now();
    await expect(postInCall({ timeoutMs: 100 }, { jsonrpc: '2.0', id: 6, method: 'hang' })).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  test("through the SDK's own client: a tagged request's context reaches the fetch by its id, the tag is never sent, nothing stays filed", async () => {
    const client = new Client({ name: 'fetch-test', version: '1.0.0' });
    await client.connect(new ContextTransport(new URL(url), { fetch: routerFetch }, contexts));
    const ac = new AbortController();
    const before = seen.length;
    // No signal for the SDK itself: only the fetch, through the context, can end this request.
    const call = client.request(withCallContext({ method: 'hang', params: { x: 1 } }, { signal: ac.signal }) as never, z.object({}), { timeout: 60_000 });
    while (seen.length === before) await new Promise((r) => setTimeout(r, 5));
    expect(contexts.size).toBe(1);
    ac.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(JSON.parse(seen[before])).toEqual({ method: 'hang', params: { x: 1 }, jsonrpc: '2.0', id: expect.any(Number) });
    expect(contexts.size).toBe(0);
    await client.close();
  });

  test('a request with a progress token takes the streaming path (a real fetch Response with a body stream)', async () => {
    const res = await post({ method: 'sse', params: { _meta: { progressToken: 1 } }, jsonrpc: '2.0', id: 8 });
    expect(res).toBeInstanceOf(Response);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toContain('"id":8');
  });
});
