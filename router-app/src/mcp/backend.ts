/**
 * One MCP backend instance (a Streamable HTTP endpoint, http or https) with
 * one long-lived MCP session, opened lazily and re-established transparently
 * when it is lost (the backend restarted and no longer knows it). A circuit
 * breaker stops calls to a dead backend from waiting on timeouts.
 */
import { EventEmitter } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPError, type StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  ErrorCode,
  GetPromptResultSchema,
  ListPromptsResultSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesResultSchema,
  ListToolsResultSchema,
  McpError,
  PromptListChangedNotificationSchema,
  ReadResourceResultSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Logger } from '../logger';
import type { CallOutcome } from '../metrics';
import { ROUTER_DEFAULTS, ROUTER_ENV } from '../contract';
import { ROUTER_VERSION } from '../version';
import { createBackendFetch } from './backend-fetch';
import { CallContexts, ContextTransport, withCallContext } from './call-context';
import { BackendCredentialStore, CredentialsUnavailableError } from './backend-credentials';
import { CircuitBreaker, CircuitState, Outcome } from './circuit-breaker';
import { BackendUnavailableError, CallCancelledError, ListingLimitError, ResourceExhaustedError, TransportError } from './errors';
import { AddressGuard, guardedLookup } from '../discovery/backend-policy';
import { MAX_LISTING_DEPTH, nestsDeeperThan } from '../json-depth';

export interface BackendDescriptor {
  /** Instance ID (Consul service ID or "static:<name>"). */
  readonly id: string;
  /** Namespace of its tools/prompts (the MCP server's name). */
  readonly namespace: string;
  readonly url: string;
  /** Name for SNI and certificate verification when the URL's host is an IP address. */
  readonly tlsServerName?: string;
  /** Addresses a host name may resolve to (backends from Consul); unchecked when absent. */
  readonly addressGuard?: AddressGuard;
  /** Credentials (static headers) to send it, by name (backend-credentials.ts). */
  readonly credentials?: string;
}

/** Bounds of one listing of a backend (tools, resources, templates and prompts together). */
export interface ListingLimits {
  readonly maxPages: number;
  readonly maxItems: number;
  /** Bytes of the listed items, as JSON. */
  readonly maxBytes: number;
  /** The whole listing, every page of every kind. */
  readonly timeoutMs: number;
}

export const DEFAULT_LISTING_LIMITS: ListingLimits = {
  maxPages: ROUTER_DEFAULTS.listingMaxPages,
  maxItems: ROUTER_DEFAULTS.listingMaxItems,
  maxBytes: ROUTER_DEFAULTS.listingMaxBytes,
  timeoutMs: ROUTER_DEFAULTS.listingTimeoutMs,
};

export interface BackendOptions {
  readonly connectTimeoutMs: number;
  readonly breakerFailures: number;
  readonly breakerResetMs: number;
  /** Extra CA certificates (PEM) trusted for https backends. */
  readonly caPem?: string;
  /** Largest response body read from a backend, in bytes. */
  readonly maxResponseBytes: number;
  /** @default DEFAULT_LISTING_LIMITS */
  readonly listing?: ListingLimits;
  readonly logger: Logger;
  /** Where a backend's named credentials are read from. */
  readonly credentials?: BackendCredentialStore;
}

export interface BackendListing {
  readonly tools: Tool[];
  readonly resources: Resource[];
  readonly resourceTemplates: ResourceTemplate[];
  readonly prompts: Prompt[];
}

/** What one listing has cost so far, against its limits (shared by its kinds). */
class ListingBudget {
  private pages = 0;
  private items = 0;
  private bytes = 0;
  constructor(
    private readonly limits: ListingLimits,
    private readonly backend: string,
  ) {}

  /** Counts one page; throws ListingLimitError when a bound is passed. */
  take(kind: string, items: readonly unknown[]): void {
    const l = this.limits;
    if (++this.pages > l.maxPages) throw new ListingLimitError('pages', `listing of ${this.backend} refused: more than ${l.maxPages} pages (MCP_ROUTER_LISTING_MAX_PAGES), the last of ${kind}`);
    this.items += items.length;
    if (this.items > l.maxItems) throw new ListingLimitError('items', `listing of ${this.backend} refused: more than ${l.maxItems} items (MCP_ROUTER_LISTING_MAX_ITEMS)`);
    // Before anything serializes them (JSON.stringify recurses: a deep enough item throws, here or later in a timer).
    if (nestsDeeperThan(items, MAX_LISTING_DEPTH + 1)) throw new ListingLimitError('depth', `listing of ${this.backend} refused: an item nests more than ${MAX_LISTING_DEPTH} levels deep`);
    this.bytes += Buffer.byteLength(JSON.stringify(items));
    if (this.bytes > l.maxBytes) throw new ListingLimitError('bytes', `listing of ${this.backend} refused: more than ${l.maxBytes} bytes of items (MCP_ROUTER_LISTING_MAX_BYTES)`);
  }
}

/** Follows `nextCursor` until the last page, within the listing's budget. */
async function allPages<R extends { nextCursor?: string }, T>(kind: string, budget: ListingBudget, list: (params?: { cursor: string }) => Promise<R>, items: (r: R) => T[]): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const r = await list(cursor ? { cursor } : undefined);
    const page = items(r) ?? [];
    budget.take(kind, page);
    out.push(...page);
    cursor = r.nextCursor;
  } while (cursor);
  return out;
}

/**
 * `client.request` of `method`, tied to its call for the transport's fetch
 * (call-context.ts): the call's signal and timeout are the request's own.
 *
 * The SDK gets a signal of its own, cut from the caller's once the request
 * settles: the SDK (1.32) never removes its abort listener, so aborting a
 * signal it was given sends `notifications/cancelled` for every request that
 * signal ever carried, answered or not (a listing's deadline cancelled all its
 * pages after they were answered; the spec says to cancel only requests still
 * in progress), and a signal shared by many requests piles up listeners.
 */
async function send<S extends z.ZodType>(c: Client, method: string, params: Record<string, unknown> | undefined, schema: S, options: RequestOptions) {
  const outer = options.signal;
  const own = new AbortController();
  const forward = () => own.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  // A call that streams progress has no buffered request to time out: its end (an answer, the SDK's
  // timeout, the caller's cancel) ends its HTTP exchange, so a backend that keeps the stream open
  // after that holds no socket.
  const done = options.onprogress ? new AbortController() : undefined;
  const exchange = done ? AbortSignal.any([own.signal, done.signal]) : own.signal;
  try {
    return await c.request(withCallContext({ method, params }, { signal: exchange, timeoutMs: options.timeout }), schema, { ...options, signal: own.signal });
  } finally {
    outer?.removeEventListener('abort', forward);
    done?.abort();
  }
}

const PassThroughToolResult = z.looseObject({
  content: z.array(z.unknown()).optional(),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  isError: z.boolean().optional(),
});

/** What a failed exchange means for the session, the breaker and the caller. */
type Failure =
  /** The backend no longer knows the session (it restarted): re-initialize and retry once; the request never ran. */
  | 'session-lost'
  /** Unreachable, cut, or it broke the protocol. */
  | 'connection'
  /** No answer within the call's timeout. */
  | 'timeout'
  /** The client cancelled. */
  | 'cancelled'
  /** The backend answered (an MCP error, or a response over the size bound). */
  | 'answered'
  /** The backend answered, but its listing went over a bound: refused, not retried. */
  | 'over-limit';

function classify(err: unknown, hadSession: boolean): Failure {
  if (err instanceof CallCancelledError) return 'cancelled';
  if (err instanceof ListingLimitError) return 'over-limit';
  if (err instanceof TransportError) {
    if (err.code === 'RESPONSE_TOO_LARGE') return 'answered';
    if (err.code === 'REQUEST_DROPPED') return 'cancelled';
    return 'connection';
  }
  if (err instanceof StreamableHTTPError) {
    // An HTTP 404, or a 400 to a request that carried a session ID, is the
    // transport refusing the session before the request ran: the spec says
    // 404, and real servers (the reference server among them) answer 400.
    if (hadSession && (err.code === 404 || err.code === 400)) return 'session-lost';
    return 'connection';
  }
  if (err instanceof McpError) {
    if (err.code === ErrorCode.RequestTimeout) return 'timeout';
    if (err.code === ErrorCode.ConnectionClosed) return 'connection';
    return 'answered';
  }
  if (err instanceof BackendUnavailableError) return 'connection';
  // Anything else (e.g. the SDK's schema check of a malformed response) is a broken exchange.
  return 'connection';
}

const OUTCOME: Record<Failure, Outcome> = { 'session-lost': 'failure', connection: 'failure', timeout: 'timeout', cancelled: 'release', answered: 'success', 'over-limit': 'success' };


/** One MCP session with the backend, and the requests in flight on it. */
interface Session {
  readonly client: Client;
  inflight: number;
  /** Replaced by a newer session: closed once its last request settles. */
  retired: boolean;
}

export class Backend extends EventEmitter {
  readonly breaker: CircuitBreaker;
  private current?: Session;
  private connecting?: Promise<Session>;
  lastError = '';
  serverInfo: Record<string, unknown> = {};
  listing: BackendListing = { tools: [], resources: [], resourceTemplates: [], prompts: [] };
  /** A listing has been received (it may be empty); the last one is kept while the backend is down. */
  listed = false;
  /** Why the last listing was refused (a bound passed); cleared by the next good listing. */
  listingError = '';
  private closed = false;
  /** Calls in flight whose response is streamed (progress), see onStreamFailure. */
  private streamingCalls = 0;
  /** The notification stream broke (backend gone or restarting); cleared by the next successful request. */
  private suspect = false;
  constructor(
    readonly descriptor: BackendDescriptor,
    private readonly options: BackendOptions,
  ) {
    super();
    this.breaker = new CircuitBreaker(options.breakerFailures, options.breakerResetMs);
  }

  get id(): string {
    return this.descriptor.id;
  }

  get healthy(): boolean {
    return this.current !== undefined && this.breaker.state === 'closed' && !this.suspect;
  }

  get circuitState(): CircuitState {
    return this.breaker.state;
  }

  /**
   * Lists tools, resources, resource templates and prompts (all pages),
   * within the listing limits: more pages, items or bytes than allowed, or
   * more time, refuses the listing (ListingLimitError) and the backend keeps
   * its last good one.
   */
  async refreshListing(): Promise<BackendListing> {
    const limits = this.options.listing ?? DEFAULT_LISTING_LIMITS;
    const budget = new ListingBudget(limits, `${this.descriptor.namespace} (${this.id})`);
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new ListingLimitError('timeout', `listing of ${this.descriptor.namespace} (${this.id}) refused: not complete within ${limits.timeoutMs} ms (MCP_ROUTER_LISTING_TIMEOUT_MS)`)),
      limits.timeoutMs,
    );
    timer.unref();
    const opts = { timeout: Math.min(this.options.connectTimeoutMs * 2, limits.timeoutMs), signal: deadline.signal };
    try {
      const listing = await this.request(async (c) => {
        const caps = c.getServerCapabilities() ?? {};
        const page = <S extends z.ZodType>(method: string, schema: S) => (params?: { cursor: string }) => send(c, method, params, schema, opts);
        const [tools, resources, resourceTemplates, prompts] = await Promise.all([
          caps.tools ? allPages('tools', budget, page('tools/list', ListToolsResultSchema), (r) => r.tools) : [],
          caps.resources ? allPages('resources', budget, page('resources/list', ListResourcesResultSchema), (r) => r.resources) : [],
          // Templates are optional for a server with resources: a server without them answers "method not found".
          caps.resources ? allPages('resource templates', budget, page('resources/templates/list', ListResourceTemplatesResultSchema), (r) => r.resourceTemplates).catch((err: unknown) => {
            if (err instanceof McpError && err.code === ErrorCode.MethodNotFound) return [];
            throw err;
          }) : [],
          caps.prompts ? allPages('prompts', budget, page('prompts/list', ListPromptsResultSchema), (r) => r.prompts) : [],
        ]);
        return { tools, resources, resourceTemplates, prompts };
      }, { isListing: true, signal: deadline.signal });
      this.listing = listing;
      this.listed = true;
      this.listingError = '';
      return listing;
    } catch (err) {
      if (err instanceof ListingLimitError) this.listingError = err.message;
      throw err;
    } finally {
      clearTimeout(timer);
      // The other kinds' pages still in flight stop here too.
      if (!deadline.signal.aborted) deadline.abort(new CallCancelledError());
    }
  }

  /**
   * tools/call, forwarded as a proxy: the result is passed through with only a
   * shallow shape check (the client at the other end validates it against the
   * tool's schemas), which also keeps a backend's bad structuredContent from
   * looking like the caller's invalid argument.
   */
  async callTool(name: string, args: Record<string, unknown>, options: RequestOptions) {
    const streaming = options.onprogress !== undefined;
    if (streaming) this.streamingCalls++;
    try {
      return await this.request((c) => send(c, 'tools/call', { name, arguments: args }, PassThroughToolResult, options), { signal: options.signal });
    } finally {
      if (streaming) this.streamingCalls--;
    }
  }

  readResource(uri: string, options: RequestOptions) {
    return this.request((c) => send(c, 'resources/read', { uri }, ReadResourceResultSchema, options), { signal: options.signal });
  }

  getPrompt(name: string, args: Record<string, string>, options: RequestOptions) {
    return this.request((c) => send(c, 'prompts/get', { name, arguments: args }, GetPromptResultSchema, options), { signal: options.signal });
  }

  /**
   * Runs `fn` on the session: fails fast while the circuit is open, opens the
   * session if needed, and re-opens it once if the backend lost it (or, for a
   * listing, if it failed on a live connection). Every call let through by the
   * breaker is settled with its outcome.
   */
  async request<T>(fn: (c: Client) => Promise<T>, opts: { readonly isListing?: boolean; readonly signal?: AbortSignal } = {}): Promise<T> {
    const { isListing = false, signal } = opts;
    if (this.closed) throw new BackendUnavailableError(`backend ${this.id} was removed`, true);
    const permit = this.breaker.enter();
    if (!permit) {
      this.emit('call', 'circuit_open' satisfies CallOutcome);
      throw new BackendUnavailableError(`backend ${this.descriptor.namespace} (${this.id}) is unavailable: circuit open after repeated failures (${this.lastError})`, true);
    }
    let outcome: Outcome = 'release';
    let counted: CallOutcome = 'cancelled';
    try {
      let result: T;
      try {
        result = await this.onSession(fn);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const failure = classify(err, (err as { hadSession?: boolean }).hadSession === true);
        const retry = failure === 'session-lost' || (isListing && failure === 'answered');
        if (!retry) throw err;
        // A listing that failed on a live connection is treated as a lost session too.
        if (failure === 'answered' && this.current) this.retire(this.current);
        this.options.logger.info({ backend: this.id, err: (err as Error).message }, 'MCP session lost; re-initializing');
        result = await this.onSession(fn);
      }
      outcome = 'success';
      counted = 'ok';
      this.lastError = '';
      if (this.suspect) {
        this.suspect = false;
        this.emit('health', true);
      }
      return result;
    } catch (caught) {
      // The SDK turns an abort into an McpError "request timeout"; the caller's signal tells a cancel (or a listing's deadline) apart.
      const err = signal?.aborted && (signal.reason instanceof CallCancelledError || signal.reason instanceof ListingLimitError) ? signal.reason : caught;
      const failure = classify(err, false);
      outcome = OUTCOME[failure];
      const tooLarge = err instanceof TransportError && err.code === 'RESPONSE_TOO_LARGE';
      counted = tooLarge ? 'too_large' : failure === 'over-limit' ? 'over_limit' : failure === 'answered' ? 'mcp_error' : failure === 'timeout' ? 'timeout' : failure === 'cancelled' ? 'cancelled' : 'unavailable';
      if (failure !== 'connection') {
        if (tooLarge) throw new ResourceExhaustedError(err.message, `the MCP server's answer exceeded ${this.options.maxResponseBytes} bytes (${ROUTER_ENV.maxBackendResponseBytes})`);
        throw err;
      }
      this.lastError = err instanceof Error ? err.message : String(err);
      this.emit('health', false);
      if (err instanceof BackendUnavailableError) throw err;
      const notSent = err instanceof TransportError && err.notSent;
      throw new BackendUnavailableError(`backend ${this.descriptor.namespace} (${this.id}) is unreachable: ${this.lastError}`, notSent);
    } finally {
      this.breaker.settle(permit, outcome);
      this.emit('call', counted);
    }
  }

  /**
   * Runs `fn` on the current session (opened if needed). When it fails, the
   * error says whether the request carried a session ID (`hadSession`); a
   * session the backend no longer knows is retired here, so the retry (and
   * every concurrent request) opens one new session, and requests still in
   * flight on the old one settle before it is closed.
   */
  private async onSession<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const s = await this.session();
    s.inflight++;
    try {
      return await fn(s.client);
    } catch (err) {
      const hadSession = (s.client.transport as StreamableHTTPClientTransport | undefined)?.sessionId !== undefined;
      const failure = classify(err, hadSession);
      if (failure === 'session-lost') this.retire(s);
      // Unreachable or broken: close this session (only this one: a newer one may be current by now).
      else if (failure === 'connection' && this.current === s) await this.resetSession();
      if (typeof err === 'object' && err !== null) Object.defineProperty(err, 'hadSession', { value: hadSession, configurable: true });
      throw err;
    } finally {
      s.inflight--;
      if (s.retired && s.inflight === 0) void s.client.close().catch(() => undefined);
    }
  }

  private retire(s: Session): void {
    if (this.current === s) this.current = undefined;
    s.retired = true;
  }

  /**
   * A streamed exchange (the notification stream or a progress-streaming call)
   * failed at the connection level. A streamed call in flight would wait for
   * its timeout, so the session is closed, which fails it now; with none in
   * flight the session is kept and the backend reported unhealthy (ListServers,
   * mcp_router_backend_up) until the next successful request.
   */
  private onStreamFailure(session: Session, err: TransportError): void {
    this.options.logger.debug({ backend: this.id, code: err.code, err: err.message }, 'MCP stream failed');
    if (this.closed || this.current !== session) return;
    if (this.streamingCalls > 0) {
      void this.resetSession();
    } else if (!this.suspect) {
      this.suspect = true;
      this.lastError = err.message;
      this.emit('health', false);
    }
  }

  private async session(): Promise<Session> {
    if (this.current) return this.current;
    if (!this.connecting) {
      this.connecting = this.connect().finally(() => {
        this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  private async connect(): Promise<Session> {
    const client = new Client({ name: 'mcp-router', version: ROUTER_VERSION }, { capabilities: {} });
    const session: Session = { client, inflight: 0, retired: false };
    // One fetch per session, so a stream failure is told apart from an older session's.
    const contexts = new CallContexts();
    const fetch = createBackendFetch({
      contexts,
      tls: { ca: this.options.caPem, serverName: this.descriptor.tlsServerName },
      maxResponseBytes: this.options.maxResponseBytes,
      // A notification or DELETE the backend never answers must not hold the session's opening (or a socket) for good.
      untiedTimeoutMs: this.options.connectTimeoutMs,
      onStreamFailure: (err) => this.onStreamFailure(session, err),
      lookup: this.descriptor.addressGuard ? guardedLookup(this.descriptor.addressGuard) : undefined,
      ...(this.descriptor.credentials !== undefined ? { headers: () => this.credentialHeaders(this.descriptor.credentials!) } : {}),
    });
    const transport = new ContextTransport(new URL(this.descriptor.url), { fetch }, contexts);
    const changed = () => {
      this.emit('list_changed');
    };
    client.setNotificationHandler(ToolListChangedNotificationSchema, changed);
    client.setNotificationHandler(ResourceListChangedNotificationSchema, changed);
    client.setNotificationHandler(PromptListChangedNotificationSchema, changed);
    client.onerror = (err) => this.options.logger.debug({ backend: this.id, err: err.message }, 'MCP transport error');
    try {
      // The SDK sends initialize itself (untagged): it gets the connect timeout.
      contexts.fallback = { timeoutMs: this.options.connectTimeoutMs };
      await client.connect(transport, { timeout: this.options.connectTimeoutMs });
    } catch (err) {
      await client.close().catch(() => undefined);
      if (classify(err, false) === 'connection') throw err;
      throw new BackendUnavailableError(`backend ${this.id}: initialize failed: ${(err as Error).message}`);
    } finally {
      contexts.fallback = undefined;
    }
    this.serverInfo = { ...(client.getServerVersion() ?? {}) };
    if (this.closed) {
      await client.close().catch(() => undefined);
      throw new BackendUnavailableError(`backend ${this.id} was removed`, true);
    }
    this.current = session;
    this.options.logger.info({ backend: this.id, url: this.descriptor.url, server: this.serverInfo, protocolVersion: transport.protocolVersion }, 'MCP session established');
    this.emit('health', true);
    return session;
  }

  private credentialHeaders(name: string): Readonly<Record<string, string>> {
    if (!this.options.credentials) throw new CredentialsUnavailableError(`credentials ${JSON.stringify(name)} are named but MCP_BACKEND_CREDENTIALS_DIR is not set`);
    return this.options.credentials.headersFor(name, this.descriptor.namespace, this.descriptor.url);
  }

  /** Closes the current session now (its requests in flight fail with ConnectionClosed). */
  private async resetSession(): Promise<void> {
    const s = this.current;
    this.current = undefined;
    if (s) await s.client.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.current;
    this.current = undefined;
    if (s) {
      // Ends the session on the server too (DELETE), best effort.
      const t = s.client.transport as StreamableHTTPClientTransport | undefined;
      await t?.terminateSession?.().catch(() => undefined);
      await s.client.close().catch(() => undefined);
    }
    this.removeAllListeners();
  }
}
