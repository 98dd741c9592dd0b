/**
 * The `fetch` the router gives the MCP SDK's StreamableHTTPClientTransport,
 * one per backend, built on node:http(s) so that every request to a backend
 * (buffered or streamed) shares one keep-alive agent and one TLS setup (CA
 * bundle, server name for SNI and verification).
 *
 * - A JSON-RPC POST that needs no streaming (no progress token) is buffered:
 *   the body is read whole (bounded by maxResponseBytes), an SSE body is
 *   parsed with the maintained SSE parser (sse-body.ts), and the transport
 *   gets a Response whose JSON body is the message(s) — the transport's
 *   documented JSON-response path. Profiling showed the stock path's cost is
 *   mostly WHATWG streams for a body that carries one message.
 *   When an SSE body ends without the request's response but carried an event
 *   ID (the server closed a resumable stream, as 2025-11-25 servers may), the
 *   raw stream is handed to the SDK instead, which resumes it with a GET and
 *   Last-Event-ID as the spec says.
 * - Everything else (the GET notification stream, DELETE, calls that stream
 *   progress) returns a streaming Response over the same agent.
 *
 * A buffered request is tied to its call (call-context.ts, found by the
 * JSON-RPC id of the body): the call's cancel or timeout drops the HTTP request too, so a backend that never answers holds no
 * socket. Failures carry a code (TransportError), never just a message.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { Readable, Transform } from 'node:stream';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { ADDRESS_REFUSED } from '../discovery/backend-policy';
import { TransportError } from './errors';
import type { CallContext, CallContexts } from './call-context';
import { hasResponseTo, parseSseBody } from './sse-body';

export interface BackendTls {
  /** Extra CA certificates (PEM) trusted besides the system's. */
  readonly ca?: string;
  /** Name for SNI and certificate verification when the URL's host is an IP address. */
  readonly serverName?: string;
}

export interface BackendFetchOptions {
  readonly tls?: BackendTls;
  /** Largest response body read from the backend, in bytes. */
  readonly maxResponseBytes: number;
  /** The contexts of the requests in flight (filed by the session's ContextTransport); none: no request is tied to a call. */
  readonly contexts?: Pick<CallContexts, 'of'>;
  /**
   * Called when a streamed exchange (GET notification stream, progress-streaming
   * call) fails at the connection level, whatever the SDK makes of it.
   */
  readonly onStreamFailure?: (err: TransportError) => void;
  /** Resolves the backend's host name (a guarded lookup refuses addresses outside the allowed ranges). @default dns.lookup */
  readonly lookup?: net.LookupFunction;
  /**
   * Static headers of this backend (its own credentials, backend-credentials.ts),
   * read per request so a rotated file takes effect at once; throws when they
   * cannot be used. A client's own credentials are never among them.
   */
  readonly headers?: () => Readonly<Record<string, string>>;
  /**
   * How long a request tied to no call may wait for the backend's answer (its response headers)
   * before the router drops it, in ms: a notification (`notifications/initialized` while the
   * session opens, `notifications/cancelled` after a call timed out), the session's DELETE, a
   * request the SDK sends on its own. The GET notification stream is not bounded: it stays open
   * on purpose. Unset: unbounded (a backend that never answers would hold the socket, and an
   * unanswered `notifications/initialized` the session's opening, for good).
   */
  readonly untiedTimeoutMs?: number;
}

const abortSubscribers = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `fn` when `signal` aborts; returns the unsubscribe. One listener per
 * signal, fanned out: the transport passes one long-lived signal to every
 * request, and a listener per request would pile up on it under load.
 */
function onAbortOf(signal: AbortSignal, fn: () => void): () => void {
  let subs = abortSubscribers.get(signal);
  if (!subs) {
    const created = new Set<() => void>();
    subs = created;
    abortSubscribers.set(signal, created);
    signal.addEventListener('abort', () => {
      for (const f of [...created]) f();
      created.clear();
    }, { once: true });
  }
  subs.add(fn);
  const set = subs;
  return () => void set.delete(fn);
}

/** Sends of one request on kept-alive sockets found closed (bounded: each uses one stale socket up). */
const MAX_STALE_SOCKET_RETRIES = 8;

const httpAgent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
const httpsAgents = new Map<string, https.Agent>();

function httpsAgentFor(t: BackendTls | undefined): https.Agent {
  const key = `${t?.serverName ?? ''}\u0000${t?.ca ?? ''}`;
  let agent = httpsAgents.get(key);
  if (!agent) {
    agent = new https.Agent({
      keepAlive: true,
      scheduling: 'lifo',
      ca: t?.ca ? [...tls.rootCertificates, t.ca] : undefined,
      servername: t?.serverName,
    });
    httpsAgents.set(key, agent);
  }
  return agent;
}

/** Node's codes for a certificate that fails verification (and TLS protocol failures). */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);
/** Connection errors that mean the request never reached the backend. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', ADDRESS_REFUSED]);

function requestError(err: Error & { code?: string }, url: URL): TransportError {
  const code = err.code ?? 'ERR_REQUEST';
  if (TLS_CODES.has(code) || code.startsWith('ERR_SSL_')) {
    return new TransportError('TLS', `TLS certificate verification failed for ${url.origin}: ${code} (${err.message}); set MCP_BACKEND_CA_FILE to trust a private CA, or the server name for an IP address`, true, err);
  }
  return new TransportError(code, `${code}: ${err.message}`, NOT_SENT_CODES.has(code), err);
}

function headerRecord(h: RequestInit['headers']): Record<string, string> {
  const headers: Record<string, string> = {};
  if (h instanceof Headers) h.forEach((v, k) => (headers[k] = v));
  else if (Array.isArray(h)) for (const [k, v] of h) headers[k.toLowerCase()] = v;
  else if (h) for (const k of Object.keys(h)) headers[k.toLowerCase()] = (h as Record<string, string>)[k];
  return headers;
}

function lowerCaseKeys(h: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h) for (const k of Object.keys(h)) out[k.toLowerCase()] = h[k];
  return out;
}

function responseHeaders(raw: http.IncomingHttpHeaders, contentType?: string): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.append(k, x);
    else out.set(k, v);
  }
  if (contentType) out.set('content-type', contentType);
  return out;
}

/**
 * A web ReadableStream over a node stream, with back-pressure, that never
 * touches its controller once it has closed, errored or been cancelled.
 * (Node 20's Readable.toWeb enqueues after a cancel and throws an uncaught
 * ERR_INVALID_STATE, which killed the router when a backend went away while
 * the SDK had cancelled the stream: nodejs/node#54205.)
 */
function toWebStream(src: Readable): ReadableStream<Uint8Array> {
  let finished = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      src.on('data', (chunk: Buffer) => {
        if (finished) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) src.pause();
      });
      src.once('end', () => {
        if (finished) return;
        finished = true;
        controller.close();
      });
      src.once('error', (err) => {
        if (finished) return;
        finished = true;
        controller.error(err);
      });
    },
    pull() {
      src.resume();
    },
    cancel() {
      finished = true;
      src.destroy();
    },
  });
}

/** A streaming Response over a node response, its body capped at `max` bytes. */
function streamingResponse(res: http.IncomingMessage, url: URL, max: number, onFailure?: (e: TransportError) => void, body?: Buffer): Response {
  const status = res.statusCode ?? 0;
  let seen = 0;
  const capped = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) return cb(new TransportError('RESPONSE_TOO_LARGE', `backend response from ${url.origin} exceeded ${max} bytes`, false));
      cb(null, chunk);
    },
  });
  const source: Readable = body ? Readable.from([body]) : res;
  source.on('error', (err: Error & { code?: string }) => capped.destroy(requestError(err, url)));
  if (!body) {
    res.on('aborted', () => capped.destroy(new TransportError('RESPONSE_CUT', 'backend response cut: connection closed mid-stream', false)));
  }
  capped.on('error', (err) => {
    if (err instanceof TransportError) onFailure?.(err);
  });
  // A cancelled web stream destroys `capped`; the node response goes with it.
  capped.on('close', () => {
    if (!body && !res.complete) res.destroy();
  });
  source.pipe(capped);
  const nullBody = status === 204 || status === 205 || status === 304;
  if (nullBody) res.resume();
  return new Response(nullBody ? null : toWebStream(capped), {
    status,
    statusText: res.statusMessage ?? '',
    headers: responseHeaders(res.headers),
  });
}

/** What the router needs to know of the JSON-RPC message a POST carries. */
function jsonRpcShape(body: string): { id?: unknown; isRequest: boolean; progress: boolean } | undefined {
  try {
    const m = JSON.parse(body) as { id?: unknown; method?: unknown; params?: { _meta?: { progressToken?: unknown } } };
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return undefined;
    const token = m.params?._meta?.progressToken;
    return { id: m.id, isRequest: typeof m.method === 'string' && m.id !== undefined, progress: typeof token === 'string' || typeof token === 'number' };
  } catch {
    return undefined;
  }
}

/**
 * GETs of one session (the notification stream, its resumptions): a burst of GET_BURST, then one per
 * MIN_GET_INTERVAL_MS. The SDK reconnects a GET stream the backend closed after the delay the
 * backend's `retry:` field asks for, counting from zero again each time: a backend answering
 * `retry: 0` and closing had the router reconnect without pause. A burst keeps the protocol's own
 * timing for what a well-behaved backend does (the notification stream, then a resumption after
 * its `retry:`, as the conformance suite's sse-retry scenario checks).
 */
export const MIN_GET_INTERVAL_MS = 1_000;

/** A request dropped because its session was closed (the backend failed another request, or the router stops). */
const sessionClosed = () => new TransportError('SESSION_CLOSED', 'request dropped: the MCP session with the backend was closed', false, undefined, 'AbortError');
export const GET_BURST = 3;

export function createBackendFetch(options: BackendFetchOptions): typeof fetch {
  const max = options.maxResponseBytes;
  // A token bucket for this session's GETs; a GET that finds none waits for its turn (tokens go below 0).
  let getTokens = GET_BURST;
  let refilledAt = Date.now();

  /** A GET, within the session's GET budget (a wait ends with the session). */
  const paced = (url: URL, init: RequestInit): Promise<Response> => {
    const now = Date.now();
    getTokens = Math.min(GET_BURST, getTokens + (now - refilledAt) / MIN_GET_INTERVAL_MS);
    refilledAt = now;
    const wait = getTokens >= 1 ? 0 : (1 - getTokens) * MIN_GET_INTERVAL_MS;
    getTokens -= 1;
    if (wait <= 0) return request(url, init, undefined, undefined, false);
    return new Promise<Response>((resolve, reject) => {
      let unsubscribe = () => {};
      const timer = setTimeout(() => {
        unsubscribe();
        request(url, init, undefined, undefined, false).then(resolve, reject);
      }, wait);
      timer.unref();
      if (init.signal) {
        unsubscribe = onAbortOf(init.signal, () => {
          clearTimeout(timer);
          reject(sessionClosed());
        });
      }
    });
  };

  const request = (url: URL, init: RequestInit, body: string | undefined, ctx: CallContext | undefined, buffered: boolean, rpc?: { id?: unknown; isRequest: boolean }): Promise<Response> => {
    const secure = url.protocol === 'https:';
    let headers: Record<string, string>;
    try {
      headers = { ...lowerCaseKeys(options.headers?.()), ...headerRecord(init.headers) };
    } catch (err) {
      return Promise.reject(new TransportError('CREDENTIALS', (err as Error).message, true, err as Error));
    }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const reqOptions: http.RequestOptions = {
      agent: secure ? httpsAgentFor(options.tls) : httpAgent,
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: (init.method ?? 'GET').toUpperCase(),
      headers,
      ...(options.lookup ? { lookup: options.lookup } : {}),
    };
    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let req: http.ClientRequest | undefined;
      const signals = [init.signal, ctx?.signal].filter((s): s is AbortSignal => !!s);
      let unsubscribe: Array<() => void> = [];
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        for (const u of unsubscribe) u();
        unsubscribe = [];
      };
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        cleanup();
        reject(err);
      };
      const succeed = (res: Response) => {
        if (settled) return;
        settled = true;
        cleanup();
        resolve(res);
      };
      /** The call was cancelled or timed out: the router drops its request. */
      function onAbort() {
        fail(new TransportError('REQUEST_DROPPED', 'request dropped by the router (call cancelled or timed out)', false, undefined, 'AbortError'));
        req?.destroy();
      }
      /** A request tied to no call got no answer within untiedTimeoutMs: the backend's failure. */
      function onNoAnswer() {
        const what = rpc === undefined ? `${reqOptions.method} request` : rpc.isRequest ? 'request' : 'notification';
        fail(new TransportError('NO_ANSWER', `backend ${url.origin} did not answer a ${what} within ${options.untiedTimeoutMs} ms`, false));
        req?.destroy();
      }
      /** The session was closed under the request (the backend failed another request, or the router stops). */
      function onSessionClosed() {
        fail(sessionClosed());
        req?.destroy();
      }
      const send = (retriesLeft: number): void => {
        let responded = false;
        const r = (secure ? https : http).request(reqOptions, (res) => {
          responded = true;
          if (!buffered) {
            // Streamed: the body stays tied to the signals until it ends; a failure
            // after our own abort is not the backend's.
            let ours = false;
            const stop = () => {
              ours = true;
              res.destroy();
            };
            const subs = signals.map((s) => onAbortOf(s, stop));
            res.once('close', () => {
              for (const u of subs) u();
            });
            const response = streamingResponse(res, url, max, (e) => {
              if (!ours) options.onStreamFailure?.(e);
            });
            return succeed(response);
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > max) {
              fail(new TransportError('RESPONSE_TOO_LARGE', `backend response from ${url.origin} exceeded ${max} bytes (MCP_ROUTER_MAX_BACKEND_RESPONSE_BYTES)`, false));
              res.destroy();
              return;
            }
            chunks.push(c);
          });
          res.on('error', (err: Error) => fail(new TransportError('RESPONSE_CUT', `backend response cut: ${err.message}`, false, err)));
          res.on('aborted', () => fail(new TransportError('RESPONSE_CUT', 'backend response cut: connection closed mid-response', false)));
          res.on('end', () => {
            if (settled) return;
            if (!res.complete) return fail(new TransportError('RESPONSE_CUT', 'backend response cut: incomplete response', false));
            const raw = Buffer.concat(chunks);
            const status = res.statusCode ?? 0;
            const isSse = /^text\/event-stream/i.test(String(res.headers['content-type'] ?? ''));
            if (!(status >= 200 && status < 300 && isSse)) {
              return succeed(new Response(status === 204 || status === 205 || status === 304 ? null : raw, { status, statusText: res.statusMessage ?? '', headers: responseHeaders(res.headers) }));
            }
            let parsed;
            try {
              parsed = parseSseBody(raw.toString('utf8'));
            } catch (err) {
              return fail(new TransportError('SSE_BAD_MESSAGE', (err as Error).message, false, err as Error));
            }
            if (rpc?.isRequest && !hasResponseTo(parsed.messages, rpc.id)) {
              // Resumable (an event ID was sent): let the SDK resume it by GET + Last-Event-ID.
              if (parsed.lastEventId !== undefined) return succeed(streamingResponse(res, url, max, undefined, raw));
              return fail(new TransportError('RESPONSE_CUT', 'backend response cut: the SSE stream ended without a response', false));
            }
            const json = JSON.stringify(parsed.messages.length === 1 ? parsed.messages[0] : parsed.messages);
            succeed(new Response(json, { status, statusText: res.statusMessage ?? '', headers: responseHeaders(res.headers, 'application/json') }));
          });
        });
        req = r;
        r.on('error', (err: Error & { code?: string }) => {
          // A kept-alive socket the backend closed while idle (e.g. it restarted) before this process
          // saw the close: the request never reached it, so send it again (what Node documents
          // reusedSocket for). Several pooled sockets may be stale at once; each try uses one up.
          if (retriesLeft > 0 && !responded && !settled && r.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) return send(retriesLeft - 1);
          const e = requestError(err, url);
          // The SDK keeps the GET notification stream's failures to itself (it retries); report them.
          if (!buffered && (responded || reqOptions.method === 'GET')) options.onStreamFailure?.(e);
          fail(e);
        });
        r.end(body);
      };
      if (init.signal?.aborted) return onSessionClosed();
      if (ctx?.signal?.aborted) return onAbort();
      unsubscribe = [...(init.signal ? [onAbortOf(init.signal, onSessionClosed)] : []), ...(ctx?.signal ? [onAbortOf(ctx.signal, onAbort)] : [])];
      if (buffered && ctx?.timeoutMs !== undefined) {
        // The SDK rejects the call at timeoutMs and notifies the backend; give its answer a moment, then drop the request.
        timer = setTimeout(onAbort, ctx.timeoutMs + 1000);
        timer.unref();
      } else if (ctx === undefined && reqOptions.method !== 'GET' && options.untiedTimeoutMs !== undefined) {
        timer = setTimeout(onNoAnswer, options.untiedTimeoutMs);
        timer.unref();
      }
      send(MAX_STALE_SOCKET_RETRIES);
    });
  };

  return ((input: string | URL | Request, init: RequestInit = {}) => {
    if (input instanceof Request) return Promise.reject(new TypeError('backend fetch takes a URL, not a Request'));
    const url = typeof input === 'string' ? new URL(input) : input;
    const method = (init.method ?? 'GET').toUpperCase();
    const body = typeof init.body === 'string' ? init.body : undefined;
    if (init.body !== undefined && init.body !== null && body === undefined) return Promise.reject(new TypeError('backend fetch sends string bodies only'));
    if (method === 'POST' && body !== undefined) {
      const rpc = jsonRpcShape(body);
      // A notification (e.g. notifications/cancelled for this very call) is not tied to the call's signal.
      const ctx = rpc?.isRequest ? options.contexts?.of(rpc.id) : undefined;
      // Streamed only when the request asks for progress (its _meta.progressToken), not whenever the
      // text "progressToken" appears (a client could put it in its arguments).
      const streams = rpc === undefined || rpc.progress;
      return request(url, init, body, ctx, !streams, rpc);
    }
    if (method === 'GET') return paced(url, init);
    return request(url, init, body, undefined, false);
  }) as typeof fetch;
}
