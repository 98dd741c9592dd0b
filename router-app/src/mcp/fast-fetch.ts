/**
 * The `fetch` the router gives the MCP SDK's StreamableHTTPClientTransport.
 *
 * Profiling showed the per-call cost of the stock path is mostly undici's
 * fetch machinery and WHATWG streams (TextDecoderStream + EventSource parser)
 * for an SSE response that carries a single JSON-RPC message. So a JSON-RPC
 * POST that needs no streaming (no progress token) goes over node:http with a
 * keep-alive agent: the whole response body is read as Buffers, an SSE body
 * is split into its `message` events, and the transport gets a small
 * Response-like object whose `json()` returns the parsed message(s) — the
 * transport's documented JSON-response path (an array of messages is allowed).
 *
 * Everything else (the long-lived GET stream for server notifications, the
 * DELETE that ends a session, calls that stream progress) uses the platform
 * fetch with a per-request AbortSignal (see isolatingFetch).
 *
 * A buffered request is tied to its call: when the call's AbortSignal fires
 * (client cancel, deadline) the HTTP request is dropped too, so a backend
 * that never answers a cancelled request holds no socket.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as http from 'node:http';
import * as https from 'node:https';

/** Per-call context visible to the transport's fetch (set around client.request). */
export interface CallContext {
  readonly signal?: AbortSignal;
  /** ms after which the buffered HTTP request is dropped (the SDK has timed the call out by then). */
  readonly timeoutMs?: number;
}
export const callContext = new AsyncLocalStorage<CallContext>();

const httpAgent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
const httpsAgent = new https.Agent({ keepAlive: true, scheduling: 'lifo' });

/**
 * fetch with a fresh AbortSignal per request, chained to the caller's. The
 * SDK transport passes one long-lived signal to every fetch, and undici adds
 * an abort listener to it per request that lives until the Request is
 * collected: under load that piles up thousands of listeners and a
 * MaxListenersExceededWarning (with a stack trace) per call.
 */
export const isolatingFetch: typeof fetch = (input, init = {}) => {
  const outer = init.signal;
  // The one long-lived GET (server-to-client SSE stream) keeps the transport's
  // signal, so closing the session still ends it; only per-call POSTs are isolated.
  if (!outer || (init.method ?? 'GET').toUpperCase() !== 'POST') return fetch(input, init);
  const inner = new AbortController();
  if (outer.aborted) inner.abort(outer.reason);
  const onAbort = () => inner.abort(outer.reason);
  outer.addEventListener('abort', onAbort, { once: true });
  return fetch(input, { ...init, signal: inner.signal }).finally(() => outer.removeEventListener('abort', onAbort));
};

/** The parts of a fetch Response the SDK transport reads. */
class BufferedResponse {
  readonly type = 'basic';
  readonly redirected = false;
  readonly ok: boolean;
  readonly statusText: string;
  readonly body = { cancel: async () => undefined };
  readonly headers: { get(name: string): string | null };
  constructor(
    readonly status: number,
    statusMessage: string | undefined,
    rawHeaders: http.IncomingHttpHeaders,
    private readonly raw: Buffer,
    private readonly messages: unknown[] | undefined,
    readonly url: string,
  ) {
    this.ok = status >= 200 && status < 300;
    this.statusText = statusMessage ?? '';
    // An SSE body has been turned into JSON messages: say so.
    const contentType = messages ? 'application/json' : undefined;
    this.headers = {
      get(name: string): string | null {
        const key = name.toLowerCase();
        if (key === 'content-type' && contentType) return contentType;
        const v = rawHeaders[key];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    };
  }
  async json(): Promise<unknown> {
    if (this.messages) return this.messages.length === 1 ? this.messages[0] : this.messages;
    return JSON.parse(this.raw.toString('utf8'));
  }
  async text(): Promise<string> {
    return this.raw.toString('utf8');
  }
}

/** The `data` of each `message` event of a complete SSE body, JSON-parsed. */
export function parseSseMessages(body: string): unknown[] {
  const out: unknown[] = [];
  for (const block of body.split(/\r?\n\r?\n/)) {
    if (!block) continue;
    let event = 'message';
    let data: string[] | undefined;
    for (const line of block.split(/\r?\n/)) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') (data ??= []).push(value);
      else if (field === 'event') event = value;
    }
    if (data && event === 'message') out.push(JSON.parse(data.join('\n')));
  }
  return out;
}

class RequestDroppedError extends Error {
  override readonly name = 'AbortError';
}

function bufferedPost(url: URL, init: RequestInit, body: string): Promise<BufferedResponse> {
  const headers: Record<string, string> = {};
  const h = init.headers;
  if (h instanceof Headers) h.forEach((v, k) => (headers[k] = v));
  else if (Array.isArray(h)) for (const [k, v] of h) headers[k.toLowerCase()] = v;
  else if (h) for (const k of Object.keys(h)) headers[k.toLowerCase()] = (h as Record<string, string>)[k];
  headers['content-length'] = String(Buffer.byteLength(body));
  // A notification (e.g. notifications/cancelled for this very call) must not be tied to the call's signal.
  const isRequest = !body.startsWith('{"method":"notifications/') && /"id":/.test(body);
  const ctx = body.startsWith('{"method":"notifications/') ? undefined : callContext.getStore();
  const secure = url.protocol === 'https:';
  const options: http.RequestOptions = {
    agent: secure ? httpsAgent : httpAgent,
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || (secure ? 443 : 80),
    path: `${url.pathname}${url.search}`,
    method: 'POST',
    headers,
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let req: http.ClientRequest | undefined;
    const signals = [init.signal, ctx?.signal].filter((s): s is AbortSignal => !!s);
    const onAbort = () => {
      fail(new RequestDroppedError('request dropped by the router (call cancelled, timed out or session closed)'));
      req?.destroy();
    };
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', onAbort);
      reject(err);
    };
    const succeed = (res: BufferedResponse) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', onAbort);
      resolve(res);
    };
    const send = (mayRetry: boolean): void => {
      let responded = false;
      const r = (secure ? https : http).request(options, (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err: Error) => fail(new Error(`backend response cut (ECONNRESET): ${err.message}`)));
        res.on('aborted', () => fail(new Error('backend response cut (ECONNRESET): connection closed mid-response')));
        res.on('end', () => {
          if (settled) return;
          if (!res.complete) return fail(new Error('backend response cut (ECONNRESET): incomplete response'));
          const raw = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          let messages: unknown[] | undefined;
          if (status >= 200 && status < 300 && /^text\/event-stream/i.test(String(res.headers['content-type'] ?? ''))) {
            try {
              messages = parseSseMessages(raw.toString('utf8'));
            } catch (err) {
              return fail(new Error(`backend sent an unparseable SSE message: ${(err as Error).message}`));
            }
            // A request's stream that ends without its response: the backend closed it (shutting down).
            if (isRequest && !messages.some((m) => typeof m === 'object' && m !== null && ('result' in m || 'error' in m))) {
              return fail(new Error('backend response cut (ECONNRESET): the SSE stream ended without a response'));
            }
          }
          succeed(new BufferedResponse(status, res.statusMessage, res.headers, raw, messages, url.href));
        });
      });
      req = r;
      r.on('error', (err: Error & { code?: string }) => {
        // A kept-alive socket the backend closed while idle (e.g. it restarted): the request never
        // reached it, so send it once more on a new connection (what Node documents reusedSocket for).
        if (mayRetry && !responded && !settled && r.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) return send(false);
        fail(Object.assign(new Error(`${err.code ?? 'request failed'}: ${err.message}`), { cause: err }));
      });
      r.end(body);
    };
    for (const s of signals) {
      if (s.aborted) return onAbort();
      s.addEventListener('abort', onAbort, { once: true });
    }
    if (ctx?.timeoutMs !== undefined) {
      // The SDK rejects the call at timeoutMs and notifies the backend; give its answer a moment, then drop the request.
      timer = setTimeout(onAbort, ctx.timeoutMs + 1000);
      timer.unref();
    }
    send(true);
  });
}

/**
 * The transport's fetch: buffered node:http for JSON-RPC POSTs that need no
 * streaming, the platform fetch (isolated signal) for everything else.
 */
export const routerFetch = ((input: string | URL | Request, init: RequestInit = {}) => {
  const body = init.body;
  if ((init.method ?? 'GET').toUpperCase() === 'POST' && typeof body === 'string' && !body.includes('"progressToken"') && !(input instanceof Request)) {
    return bufferedPost(typeof input === 'string' ? new URL(input) : input, init, body);
  }
  return isolatingFetch(input, init);
}) as typeof fetch;
