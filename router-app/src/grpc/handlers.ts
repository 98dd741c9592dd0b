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
import { CallOptions, CallPath } from '../routing/call-path';
import { decodeError } from './request-decoding';
import { statusName, toGrpcError } from './status';
import { fromStruct, ProtoStruct, toListValue, toStruct } from './struct';

export interface HandlerContext {
  readonly catalog: Catalog;
  readonly calls: CallPath;
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

/** A unary handler from a function of the request: metrics and status mapping around it. */
function unary(metrics: RouterMetrics, method: string, fn: (req: any, call: grpc.ServerUnaryCall<any, any>) => Promise<object> | object): grpc.handleUnaryCall<any, any> {
  return (call, cb) => {
    const done = metrics.startCall(method);
    const fail = (err: unknown) => {
      const e = toGrpcError(err);
      done(statusName(e.code));
      cb(e);
    };
    let result: Promise<object> | object;
    try {
      const undecodable = decodeError(call.request);
      if (undecodable) throw undecodable;
      result = fn(call.request, call);
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
}

async function callTool(ctx: HandlerContext, call: AnyCall, onprogress?: CallOptions['onprogress']) {
  const found = ctx.calls.lookupTool(call.request?.name);
  const entry = found instanceof Promise ? await found : found;
  const args = call.request?.arguments ? fromStruct(call.request.arguments as ProtoStruct) : {};
  const { result, server } = await withCallOptions(call, ctx, (o) => ctx.calls.callTool(entry, args, o), onprogress);
  return resultMessage(result, server, ctx.instanceId);
}

function listServers(ctx: HandlerContext) {
  return {
    routerInstanceId: ctx.instanceId,
    servers: ctx.catalog.allBackends().map((b) => ({
      name: b.descriptor.namespace,
      instanceId: b.id,
      url: b.descriptor.url,
      healthy: b.healthy,
      circuitState: b.circuitState,
      toolCount: b.listing.tools.length,
      resourceCount: b.listing.resources.length,
      promptCount: b.listing.prompts.length,
      serverInfo: toStruct(b.serverInfo),
      // A refused listing is reported until a good one replaces it (a call's success does not hide it).
      lastError: b.lastError || b.listingError,
    })),
  };
}

function callToolStream(ctx: HandlerContext): grpc.handleServerStreamingCall<any, any> {
  return (call) => {
    const done = ctx.metrics.startCall('CallToolStream');
    const progress: CallOptions['onprogress'] = (p) => {
      if (!call.cancelled) call.write({ progress: { progress: p.progress, total: p.total ?? 0, hasTotal: p.total !== undefined, message: p.message ?? '' } });
    };
    const undecodable = decodeError(call.request);
    (undecodable ? Promise.reject(undecodable) : callTool(ctx, call, progress)).then(
      (result) => {
        done('OK');
        call.write({ result });
        call.end();
      },
      (err) => {
        const e = toGrpcError(err);
        done(statusName(e.code));
        // grpc-js sends a server stream's status on 'error' (destroy() would drop it).
        call.emit('error', e);
      },
    );
  };
}

export function createHandlers(ctx: HandlerContext): grpc.UntypedServiceImplementation {
  const { metrics, calls, instanceId } = ctx;
  const cache = new ListingCache();
  const listing = (kind: string, req: { server?: string } | undefined, build: (server: string) => object) => {
    const server = req?.server ?? '';
    // A filter naming no server is a mistake to report, not an empty catalogue.
    if (server !== '' && !calls.hasServer(server)) throw new NotFoundError(`no MCP server named ${JSON.stringify(server)}; ListServers shows the servers this router has`);
    return cache.get(ctx.catalog.snapshot, `${kind}:${server}`, () => ({ routerInstanceId: instanceId, ...build(server) }));
  };
  return {
    ListServers: unary(metrics, 'ListServers', () => listServers(ctx)),
    ListTools: unary(metrics, 'ListTools', (req) => listing('tools', req, (s) => ({ tools: calls.tools(s).map(toolMessage) }))),
    CallTool: unary(metrics, 'CallTool', (_req, call) => callTool(ctx, call)),
    CallToolStream: callToolStream(ctx),
    ListResources: unary(metrics, 'ListResources', (req) => listing('resources', req, (s) => ({ resources: calls.resources(s).map((r) => resourceMessage(r.namespace, r.resource)) }))),
    ListResourceTemplates: unary(metrics, 'ListResourceTemplates', (req) =>
      listing('templates', req, (s) => ({
        resourceTemplates: calls.resourceTemplates(s).map((t) => ({
          uriTemplate: t.template.uriTemplate,
          name: t.template.name,
          server: t.namespace,
          title: t.template.title ?? '',
          description: t.template.description ?? '',
          mimeType: t.template.mimeType ?? '',
        })),
      })),
    ),
    ReadResource: unary(metrics, 'ReadResource', async (req, call) => {
      const entry = calls.lookupResource(req?.uri);
      const { result, server } = await withCallOptions(call, ctx, (o) => calls.readResource(entry, o));
      return { contents: toListValue(result.contents as unknown[]), server, routerInstanceId: instanceId };
    }),
    ListPrompts: unary(metrics, 'ListPrompts', (req) => listing('prompts', req, (s) => ({ prompts: calls.prompts(s).map((p) => promptMessage(p.name, p.namespace, p.prompt)) }))),
    GetPrompt: unary(metrics, 'GetPrompt', async (req, call) => {
      const entry = await calls.lookupPrompt(req?.name);
      const { result, server } = await withCallOptions(call, ctx, (o) => calls.getPrompt(entry, { ...(req?.arguments ?? {}) }, o));
      return { description: result.description ?? '', messages: toListValue(result.messages as unknown[]), server, routerInstanceId: instanceId };
    }),
  };
}
