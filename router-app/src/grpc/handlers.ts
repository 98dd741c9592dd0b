/**
 * The mcp.router.v1.McpRouter handlers: one function per RPC on the shared
 * call path (routing/call-path.ts). This file does only what is gRPC's:
 * proto messages (Struct/ListValue), the deadline as the call's time budget,
 * a client cancel as an abort, status codes (status.ts) and the per-call
 * metrics. Listing responses are built once per catalogue version (and
 * router.ts caches their serialized bytes).
 */
import * as grpc from '@grpc/grpc-js';
import type { CallToolResult, Prompt, Resource } from '@modelcontextprotocol/sdk/types.js';
import type { Catalog, CatalogSnapshot, ToolEntry } from '../mcp/catalog';
import { CallCancelledError, NotFoundError } from '../mcp/errors';
import type { RouterMetrics } from '../metrics';
import type { Access, AccessControl } from '../auth/access';
import type { AuthorizedCalls } from '../routing/authorized';
import { forCaller } from '../routing/caller-errors';
import { CallOptions, CallPath } from '../routing/call-path';
import { decodeError } from './request-decoding';
import { statusName, toGrpcError } from './status';
import { fromStruct, ProtoStruct, toListValue, toStruct } from './struct';

export interface HandlerContext {
  readonly catalog: Catalog;
  readonly calls: CallPath;
  /** Who may call what (auth/): every call is admitted here first. */
  readonly access: AccessControl;
  /** The call path through the caller's rights. */
  readonly authorized: AuthorizedCalls;
  readonly metrics: RouterMetrics;
  readonly instanceId: string;
  readonly defaultTimeoutMs: number;
  /** The longest call the router runs, whatever the client's deadline. @default no bound */
  readonly maxCallMs?: number;
}

type AnyCall = grpc.ServerUnaryCall<any, any> | grpc.ServerWritableStream<any, any>;

/** Remaining time of the call's deadline, else the default; never more than the router's maximum. */
function timeoutFor(call: AnyCall, fallback: number, max = Infinity): number {
  const d = call.getDeadline();
  const at = d instanceof Date ? d.getTime() : typeof d === 'number' ? d : Infinity;
  if (!Number.isFinite(at)) return Math.min(fallback, max);
  return Math.min(Math.max(1, at - Date.now() - 5), max);
}

/**
 * Runs `fn` with the call's time budget and an AbortSignal that fires with a
 * CallCancelledError when the client cancels.
 */
async function withCallOptions<T>(call: AnyCall, ctx: HandlerContext, fn: (o: CallOptions) => Promise<T>, onprogress?: CallOptions['onprogress']): Promise<T> {
  const abort = new AbortController();
  const onCancel = () => abort.abort(new CallCancelledError());
  call.once('cancelled', onCancel);
  try {
    return await fn({ timeoutMs: timeoutFor(call, ctx.defaultTimeoutMs, ctx.maxCallMs), signal: abort.signal, onprogress });
  } finally {
    call.removeListener('cancelled', onCancel);
  }
}

function toolMessage(t: ToolEntry) {
  const tool = t.tool;
  return {
    name: t.name,
    server: t.namespace,
    originalName: tool.name,
    title: tool.title ?? '',
    description: tool.description ?? '',
    inputSchema: toStruct(tool.inputSchema as Record<string, unknown>),
    outputSchema: tool.outputSchema ? toStruct(tool.outputSchema as Record<string, unknown>) : undefined,
    annotations: tool.annotations ? toStruct(tool.annotations as Record<string, unknown>) : undefined,
  };
}

function promptMessage(name: string, namespace: string, p: Prompt) {
  return { name, server: namespace, originalName: p.name, title: p.title ?? '', description: p.description ?? '', arguments: toListValue(p.arguments ?? []) };
}

function resourceMessage(namespace: string, r: Resource) {
  return { uri: r.uri, name: r.name, server: namespace, title: r.title ?? '', description: r.description ?? '', mimeType: r.mimeType ?? '' };
}

function resultMessage(r: CallToolResult, server: string, instanceId: string) {
  return {
    content: toListValue(r.content as unknown[]),
    structuredContent: r.structuredContent ? toStruct(r.structuredContent) : undefined,
    isError: r.isError === true,
    server,
    routerInstanceId: instanceId,
  };
}

/** Per-version response cache for the listing RPCs. */
class ListingCache {
  private version = -1;
  private readonly byKey = new Map<string, object>();
  get(snapshot: CatalogSnapshot, key: string, build: () => object): object {
    if (snapshot.version !== this.version) {
      this.byKey.clear();
      this.version = snapshot.version;
    }
    let v = this.byKey.get(key);
    if (!v) {
      v = build();
      this.byKey.set(key, v);
    }
    return v;
  }
}

/** The caller's credential (`authorization: Bearer …` metadata), admitted: synchronous when cached. */
export function admit(access: AccessControl, call: AnyCall | grpc.ServerDuplexStream<any, any>): Access | Promise<Access> {
  return access.admit(call.metadata.get('authorization'));
}

/**
 * A unary handler from a function of the request and the caller's access:
 * admission (authentication, rate limit), metrics and status mapping around
 * it; errors carry internals only for callers that may see them.
 */
function unary(ctx: HandlerContext, method: string, fn: (req: any, call: grpc.ServerUnaryCall<any, any>, access: Access) => Promise<object> | object): grpc.handleUnaryCall<any, any> {
  const { metrics } = ctx;
  return (call, cb) => {
    const done = metrics.startCall(method);
    let internals = false;
    const fail = (err: unknown) => {
      const e = toGrpcError(forCaller(err, internals));
      done(statusName(e.code));
      cb(e);
    };
    const run = (access: Access) => {
      internals = access.internals;
      let result: Promise<object> | object;
      try {
        // Who is asking first: an undecodable request from a stranger is UNAUTHENTICATED, like any other.
        const undecodable = decodeError(call.request);
        if (undecodable) throw undecodable;
        result = fn(call.request, call, access);
      } catch (err) {
        return fail(err);
      }
      if (result instanceof Promise) {
        result.then((res) => {
          done('OK');
          cb(null, res);
        }, fail);
      } else {
        done('OK');
        cb(null, result);
      }
    };
    let admitted: Access | Promise<Access>;
    try {
      admitted = admit(ctx.access, call);
    } catch (err) {
      return fail(err);
    }
    if (admitted instanceof Promise) admitted.then(run, fail);
    else run(admitted);
  };
}

async function callTool(ctx: HandlerContext, call: AnyCall, access: Access, onprogress?: CallOptions['onprogress']) {
  const found = ctx.authorized.lookupTool(access, call.request?.name);
  const entry = found instanceof Promise ? await found : found;
  const args = call.request?.arguments ? fromStruct(call.request.arguments as ProtoStruct) : {};
  const { result, server } = await withCallOptions(call, ctx, (o) => ctx.calls.callTool(entry, args, o), onprogress);
  return resultMessage(result, server, ctx.instanceId);
}

/**
 * The MCP servers the caller may use something of. Backend URLs and raw
 * errors are internals: other callers get an empty URL and, for a server in
 * trouble, a generic reason.
 */
function listServers(ctx: HandlerContext, access: Access) {
  return {
    routerInstanceId: ctx.instanceId,
    servers: ctx.authorized.servers(access, ctx.catalog.allBackends()).map((b) => ({
      name: b.descriptor.namespace,
      instanceId: b.id,
      url: access.internals ? b.descriptor.url : '',
      healthy: b.healthy,
      circuitState: b.circuitState,
      toolCount: b.listing.tools.length,
      resourceCount: b.listing.resources.length,
      promptCount: b.listing.prompts.length,
      serverInfo: toStruct(b.serverInfo),
      // A refused listing is reported until a good one replaces it (a call's success does not hide it).
      lastError: lastErrorFor(access, b.lastError || b.listingError),
    })),
  };
}

/** A server's trouble as the caller may see it: the raw text for internals, a generic word for the rest. */
function lastErrorFor(access: Access, error: string): string {
  return access.internals ? error : error ? 'unavailable' : '';
}

function callToolStream(ctx: HandlerContext): grpc.handleServerStreamingCall<any, any> {
  return (call) => {
    const done = ctx.metrics.startCall('CallToolStream');
    const progress: CallOptions['onprogress'] = (p) => {
      if (!call.cancelled) call.write({ progress: { progress: p.progress, total: p.total ?? 0, hasTotal: p.total !== undefined, message: p.message ?? '' } });
    };
    let internals = false;
    (async () => {
      const access = await admit(ctx.access, call);
      internals = access.internals;
      const undecodable = decodeError(call.request);
      if (undecodable) throw undecodable;
      return callTool(ctx, call, access, progress);
    })().then(
      (result) => {
        done('OK');
        call.write({ result });
        call.end();
      },
      (err) => {
        const e = toGrpcError(forCaller(err, internals));
        done(statusName(e.code));
        // grpc-js sends a server stream's status on 'error' (destroy() would drop it).
        call.emit('error', e);
      },
    );
  };
}

export function createHandlers(ctx: HandlerContext): grpc.UntypedServiceImplementation {
  const { authorized: calls, instanceId } = ctx;
  const cache = new ListingCache();
  // Built once per catalogue version and set of rights (callers with the same rights share the bytes).
  const listing = (kind: string, req: { server?: string } | undefined, access: Access, build: (server: string) => object) => {
    const server = req?.server ?? '';
    return cache.get(ctx.catalog.snapshot, `${access.grant.key}|${kind}:${server}`, () => {
      // A filter naming no server (or none the caller may see) is a mistake to report, not an empty catalogue.
      // Checked when the page is built (once per catalogue version and rights); a refusal is not cached.
      if (server !== '' && !calls.hasServer(access, server)) throw new NotFoundError(`no MCP server named ${JSON.stringify(server)}; ListServers shows the servers this router has`);
      return { routerInstanceId: instanceId, ...build(server) };
    });
  };
  return {
    ListServers: unary(ctx, 'ListServers', (_req, _call, a) => listServers(ctx, a)),
    ListTools: unary(ctx, 'ListTools', (req, _call, a) => listing('tools', req, a, (s) => ({ tools: calls.tools(a, s).map(toolMessage) }))),
    CallTool: unary(ctx, 'CallTool', (_req, call, a) => callTool(ctx, call, a)),
    CallToolStream: callToolStream(ctx),
    ListResources: unary(ctx, 'ListResources', (req, _call, a) => listing('resources', req, a, (s) => ({ resources: calls.resources(a, s).map((r) => resourceMessage(r.namespace, r.resource)) }))),
    ListResourceTemplates: unary(ctx, 'ListResourceTemplates', (req, _call, a) =>
      listing('templates', req, a, (s) => ({
        resourceTemplates: calls.resourceTemplates(a, s).map((t) => ({
          uriTemplate: t.template.uriTemplate,
          name: t.template.name,
          server: t.namespace,
          title: t.template.title ?? '',
          description: t.template.description ?? '',
          mimeType: t.template.mimeType ?? '',
        })),
      })),
    ),
    ReadResource: unary(ctx, 'ReadResource', async (req, call, a) => {
      const entry = calls.lookupResource(a, req?.uri);
      const { result, server } = await withCallOptions(call, ctx, (o) => ctx.calls.readResource(entry, o));
      return { contents: toListValue(result.contents as unknown[]), server, routerInstanceId: instanceId };
    }),
    ListPrompts: unary(ctx, 'ListPrompts', (req, _call, a) => listing('prompts', req, a, (s) => ({ prompts: calls.prompts(a, s).map((p) => promptMessage(p.name, p.namespace, p.prompt)) }))),
    GetPrompt: unary(ctx, 'GetPrompt', async (req, call, a) => {
      const entry = await calls.lookupPrompt(a, req?.name);
      const { result, server } = await withCallOptions(call, ctx, (o) => ctx.calls.getPrompt(entry, { ...(req?.arguments ?? {}) }, o));
      return { description: result.description ?? '', messages: toListValue(result.messages as unknown[]), server, routerInstanceId: instanceId };
    }),
  };
}
