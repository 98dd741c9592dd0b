/**
 * A backend request's call context (its cancel signal and time budget),
 * carried from the call to the transport's fetch without AsyncLocalStorage.
 *
 * The router used an AsyncLocalStorage for this. On Node 20 a storage, once
 * used, turns on async_hooks and promise hooks for the whole process, so every
 * HTTP/2 stream, tick and promise of every call paid for it — gRPC ListTools
 * included, which never calls a backend (bench/FINDINGS.md §8).
 *
 * Instead the request object is tagged with a symbol-keyed property. The SDK
 * builds the JSON-RPC message by spreading the request (`{ ...request,
 * jsonrpc, id }`), which copies symbol keys, and JSON never serializes them,
 * so the tag reaches the transport's `send` and never the wire. The transport
 * files the context under the message's id for the fetch, which reads it by
 * the id of the body it sends.
 */
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Per-call context visible to the transport's fetch. */
export interface CallContext {
  readonly signal?: AbortSignal;
  /** ms after which the buffered HTTP request is dropped (the SDK has timed the call out by then). */
  readonly timeoutMs?: number;
}

const CALL_CONTEXT = Symbol('mcp-router.call-context');

/** `request` (a `{ method, params }` for `client.request`) tagged with its call's context. */
export function withCallContext<R extends object>(request: R, ctx: CallContext): R {
  Object.defineProperty(request, CALL_CONTEXT, { value: ctx, enumerable: true });
  return request;
}

/** The contexts of one session's requests in flight to its fetch, by JSON-RPC id. */
export class CallContexts {
  private readonly byId = new Map<unknown, CallContext>();
  /** The context of untagged requests (the SDK's own `initialize`, while connecting). */
  fallback: CallContext | undefined;

  /** The context of the request with this id. */
  of(id: unknown): CallContext | undefined {
    return this.byId.get(id) ?? this.fallback;
  }

  /** Runs `send` with the message's context filed under its id (until the send settles). */
  track<T>(message: JSONRPCMessage | JSONRPCMessage[], send: () => Promise<T>): Promise<T> {
    const ctx = Array.isArray(message) ? undefined : (message as { [CALL_CONTEXT]?: CallContext })[CALL_CONTEXT];
    const id = ctx && 'id' in message ? message.id : undefined;
    if (id === undefined) return send();
    this.byId.set(id, ctx!);
    return send().finally(() => this.byId.delete(id));
  }

  /** Requests in flight that carry a context (tests: nothing is left behind). */
  get size(): number {
    return this.byId.size;
  }
}

/** The SDK's Streamable HTTP client transport, filing each request's context for the fetch. */
export class ContextTransport extends StreamableHTTPClientTransport {
  constructor(
    url: URL,
    opts: ConstructorParameters<typeof StreamableHTTPClientTransport>[1],
    private readonly contexts: CallContexts,
  ) {
    super(url, opts);
  }

  override send(message: JSONRPCMessage | JSONRPCMessage[], options?: Parameters<StreamableHTTPClientTransport['send']>[1]): Promise<void> {
    return this.contexts.track(message, () => super.send(message, options));
  }
}
