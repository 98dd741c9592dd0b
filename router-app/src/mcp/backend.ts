/**
 * One MCP backend instance (a Streamable HTTP endpoint) with one long-lived
 * MCP session, opened lazily and re-established transparently when it is lost
 * (HTTP 404 for an unknown session, backend restart). A circuit breaker stops
 * calls to a dead backend from waiting on timeouts.
 */
import { EventEmitter } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  ErrorCode,
  McpError,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type Prompt,
  type Resource,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Logger } from '../logger';
import { CircuitBreaker, CircuitState } from './circuit-breaker';
import { BackendUnavailableError } from './errors';
import { callContext, routerFetch } from './fast-fetch';

export interface BackendDescriptor {
  /** Instance ID (Consul service ID or "static:<name>"). */
  readonly id: string;
  /** Namespace of its tools/prompts (the MCP server's name). */
  readonly namespace: string;
  readonly url: string;
}

export interface BackendOptions {
  readonly connectTimeoutMs: number;
  readonly breakerFailures: number;
  readonly breakerResetMs: number;
  readonly logger: Logger;
}

export interface BackendListing {
  readonly tools: Tool[];
  readonly resources: Resource[];
  readonly prompts: Prompt[];
}

/** Follows `nextCursor` until the last page. */
async function allPages<R extends { nextCursor?: string }, T>(list: (params?: { cursor: string }) => Promise<R>, items: (r: R) => T[]): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const r = await list(cursor ? { cursor } : undefined);
    out.push(...items(r));
    cursor = r.nextCursor;
  } while (cursor);
  return out;
}

const PassThroughToolResult = z.looseObject({
  content: z.array(z.unknown()).optional(),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  isError: z.boolean().optional(),
});

/** Connection errors that mean the request never left this process. */
const NOT_SENT = /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/;

function notSent(e: BackendUnavailableError): BackendUnavailableError {
  e.notSent = true;
  return e;
}

/** Errors that mean the transport/session is gone (not an answer from the server). */
function isSessionLost(err: unknown): boolean {
  return err instanceof StreamableHTTPError && err.code === 404;
}

function isConnectionError(err: unknown): boolean {
  if (err instanceof BackendUnavailableError) return true;
  if (err instanceof StreamableHTTPError) return err.code === undefined || err.code >= 500 || err.code === 404 || err.code === -1;
  if (err instanceof McpError) return err.code === ErrorCode.ConnectionClosed;
  // Duck-typed: errors from fetch (undici) may come from another realm (e.g. under jest).
  if (typeof err === 'object' && err !== null && 'message' in err) {
    const e = err as { message: string; cause?: { code?: string } };
    const msg = `${e.message} ${e.cause?.code ?? ''}`;
    return /fetch failed|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENOTFOUND|socket hang up|other side closed|UND_ERR|terminated/i.test(msg);
  }
  return false;
}

export class Backend extends EventEmitter {
  readonly breaker: CircuitBreaker;
  private client?: Client;
  private connecting?: Promise<Client>;
  lastError = '';
  serverInfo: Record<string, unknown> = {};
  listing: BackendListing = { tools: [], resources: [], prompts: [] };
  private closed = false;
  /** Calls in flight whose response is streamed (progress), see onerror. */
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
    return this.client !== undefined && this.breaker.state === 'closed' && !this.suspect;
  }

  get circuitState(): CircuitState {
    return this.breaker.state;
  }

  /** Lists tools, resources and prompts (all pages). */
  async refreshListing(): Promise<BackendListing> {
    const opts = { timeout: this.options.connectTimeoutMs * 2 };
    const listing = await this.request((c) => callContext.run({ timeoutMs: opts.timeout }, async () => {
      const caps = c.getServerCapabilities() ?? {};
      const [tools, resources, prompts] = await Promise.all([
        caps.tools ? allPages((cursor) => c.listTools(cursor, opts), (r) => r.tools) : [],
        caps.resources ? allPages((cursor) => c.listResources(cursor, opts), (r) => r.resources) : [],
        caps.prompts ? allPages((cursor) => c.listPrompts(cursor, opts), (r) => r.prompts) : [],
      ]);
      return { tools, resources, prompts };
    }));
    this.listing = listing;
    return listing;
  }

  /**
   * tools/call, forwarded as a proxy: the result is passed through with only a
   * shallow shape check (the client at the other end validates it against the
   * tool's schemas), which also keeps a backend's bad structuredContent from
   * looking like the caller's invalid argument.
   */
  async callTool(name: string, args: Record<string, unknown>, options: RequestOptions) {
    const ctx = { signal: options.signal, timeoutMs: options.timeout };
    const streaming = options.onprogress !== undefined;
    if (streaming) this.streamingCalls++;
    try {
      return await this.request((c) => callContext.run(ctx, () => c.request({ method: 'tools/call', params: { name, arguments: args } }, PassThroughToolResult, options)));
    } finally {
      if (streaming) this.streamingCalls--;
    }
  }

  readResource(uri: string, options: RequestOptions) {
    const ctx = { signal: options.signal, timeoutMs: options.timeout };
    return this.request((c) => callContext.run(ctx, () => c.readResource({ uri }, options)));
  }

  getPrompt(name: string, args: Record<string, string>, options: RequestOptions) {
    const ctx = { signal: options.signal, timeoutMs: options.timeout };
    return this.request((c) => callContext.run(ctx, () => c.getPrompt({ name, arguments: args }, options)));
  }

  /**
   * Runs `fn` on the session: fails fast while the circuit is open, opens the
   * session if needed, and re-opens it once if the backend lost it.
   */
  async request<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    if (this.closed) throw notSent(new BackendUnavailableError(`backend ${this.id} was removed`));
    if (!this.breaker.allow()) {
      throw notSent(new BackendUnavailableError(`backend ${this.descriptor.namespace} (${this.id}) is unavailable: circuit open after repeated failures (${this.lastError})`));
    }
    try {
      let client = await this.session();
      let result: T;
      try {
        result = await fn(client);
      } catch (err) {
        if (!isSessionLost(err)) throw err;
        this.options.logger.info({ backend: this.id }, 'MCP session lost; re-initializing');
        await this.resetSession();
        client = await this.session();
        result = await fn(client);
      }
      this.breaker.success();
      this.lastError = '';
      if (this.suspect) {
        this.suspect = false;
        this.emit('health', true);
      }
      return result;
    } catch (err) {
      if (isConnectionError(err)) {
        this.breaker.failure();
        this.lastError = err instanceof Error ? err.message : String(err);
        await this.resetSession();
        this.emit('health', false);
        if (err instanceof BackendUnavailableError) throw err;
        const e = new BackendUnavailableError(`backend ${this.descriptor.namespace} (${this.id}) is unreachable: ${this.lastError}`);
        if (NOT_SENT.test(this.lastError)) e.notSent = true;
        throw e;
      }
      throw err;
    }
  }

  private async session(): Promise<Client> {
    if (this.client) return this.client;
    if (!this.connecting) {
      this.connecting = this.connect().finally(() => {
        this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const client = new Client({ name: 'mcp-router', version: '0.1.0' }, { capabilities: {} });
    const transport = new StreamableHTTPClientTransport(new URL(this.descriptor.url), { fetch: routerFetch });
    const changed = () => {
      this.emit('list_changed');
    };
    client.setNotificationHandler(ToolListChangedNotificationSchema, changed);
    client.setNotificationHandler(ResourceListChangedNotificationSchema, changed);
    client.setNotificationHandler(PromptListChangedNotificationSchema, changed);
    client.onerror = (err) => {
      this.options.logger.debug({ backend: this.id, err: err.message }, 'MCP transport error');
      // A streamed response (CallToolStream) cut mid-call (backend died) leaves
      // its request pending until the timeout; closing the session fails it now
      // (ConnectionClosed). Buffered calls fail on their own when their response
      // is cut, so without a streamed call in flight the session is kept: the
      // next call re-initializes it (404) or finds the backend gone (refused)
      // and may then go to another instance.
      if (this.client === client && /SSE stream disconnected|reconnect|fetch failed|ECONNREFUSED|ECONNRESET|terminated|other side closed/i.test(err.message)) {
        if (this.streamingCalls > 0) {
          void this.resetSession();
        } else if (!this.suspect) {
          // Report it (ListServers, mcp_router_backend_up) without touching the session or the breaker.
          this.suspect = true;
          this.lastError = err.message;
          this.emit('health', false);
        }
      }
    };
    try {
      await callContext.run({ timeoutMs: this.options.connectTimeoutMs }, () => client.connect(transport, { timeout: this.options.connectTimeoutMs }));
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err instanceof Error && !isConnectionError(err) ? new BackendUnavailableError(`backend ${this.id}: initialize failed: ${err.message}`) : err;
    }
    this.serverInfo = { ...(client.getServerVersion() ?? {}) };
    this.client = client;
    this.options.logger.info({ backend: this.id, url: this.descriptor.url, server: this.serverInfo }, 'MCP session established');
    this.emit('health', true);
    return client;
  }

  private async resetSession(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    if (c) {
      // Ends the session on the server too (DELETE), best effort.
      const t = (c as unknown as { transport?: StreamableHTTPClientTransport }).transport;
      await t?.terminateSession?.().catch(() => undefined);
      await c.close().catch(() => undefined);
    }
    this.removeAllListeners();
  }
}
