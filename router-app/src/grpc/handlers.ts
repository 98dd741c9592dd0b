/**
 * The mcp.router.v1.McpRouter handlers. Listing RPCs return ready-made
 * response objects per catalogue version (and server.ts caches their
 * serialized bytes); call RPCs map the gRPC deadline to the MCP request
 * timeout and a client cancel to notifications/cancelled.
 */
import * as grpc from '@grpc/grpc-js';
import type { CallToolResult, Prompt, Resource, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Backend } from '../mcp/backend';
import type { Catalog, CatalogSnapshot, ToolEntry } from '../mcp/catalog';
import { BackendUnavailableError, CallCancelledError, InvalidArgumentError, NotFoundError } from '../mcp/errors';
import type { RouterMetrics } from '../metrics';
import { fromStruct, ProtoStruct, toListValue, toStruct } from './struct';
import { statusName, toGrpcError } from './status';

export interface HandlerContext {
  readonly catalog: Catalog;
  readonly metrics: RouterMetrics;
  readonly instanceId: string;
  readonly defaultTimeoutMs: number;
}

type Unary = (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => void;

/** Remaining time of the call's deadline, else the default. */
function timeoutFor(call: grpc.ServerUnaryCall<any, any> | grpc.ServerWritableStream<any, any>, fallback: number): number {
  const d = call.getDeadline();
  const at = d instanceof Date ? d.getTime() : typeof d === 'number' ? d : Infinity;
  if (!Number.isFinite(at)) return fallback;
  return Math.max(1, at - Date.now() - 5);
}

function toolMessage(t: ToolEntry) {
  const tool: Tool = t.tool;
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

export function createHandlers(ctx: HandlerContext): Record<string, grpc.UntypedHandleCall> {
  const { catalog, metrics, instanceId } = ctx;
  const cache = new ListingCache();

  const unary = (method: string, fn: (req: any, call: grpc.ServerUnaryCall<any, any>) => Promise<object> | object): Unary => {
    return (call, cb) => {
      const done = metrics.startCall(method);
      let result: Promise<object> | object;
      try {
        result = fn(call.request, call);
      } catch (err) {
        const e = toGrpcError(err);
        done(statusName(e.code));
        cb(e);
        return;
      }
      if (result instanceof Promise) {
        result.then(
          (res) => {
            done('OK');
            cb(null, res);
          },
          (err) => {
            const e = toGrpcError(err);
            done(statusName(e.code));
            cb(e);
          },
        );
      } else {
        done('OK');
        cb(null, result);
      }
    };
  };

  const requireString = (value: unknown, field: string): string => {
    if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(`${field} is required`);
    return value;
  };

  /**
   * Slow path for a name the catalogue does not know. If it belongs to a
   * server the router has no listing for (never reached, or every instance
   * down), the catalogue is refreshed once; a server that still cannot be
   * reached is UNAVAILABLE (its tools are unknown, not absent), else NOT_FOUND.
   */
  const lookupMissing = async <T>(kind: 'tool' | 'prompt', name: string, find: () => T | undefined): Promise<T> => {
    const owner = catalog.unlistedNamespaceOf(name);
    if (owner !== undefined) {
      await catalog.refresh(`${kind} ${name} of unlisted server ${owner}`);
      const found = find();
      if (found) return found;
      const instances = catalog.instancesOf(owner);
      if (instances.length && instances.every((b) => !b.healthy)) {
        throw new BackendUnavailableError(`MCP server ${owner} is unavailable, so its ${kind}s are unknown: ${instances.map((b) => b.lastError).find((e) => e) ?? 'no session'}`);
      }
    }
    const list = kind === 'tool' ? 'ListTools' : 'ListPrompts';
    throw new NotFoundError(`unknown ${kind} ${JSON.stringify(name)}; ${list} shows the available names`);
  };

  const lookupTool = (name: string): ToolEntry | Promise<ToolEntry> =>
    catalog.snapshot.tools.get(name) ?? lookupMissing('tool', name, () => catalog.snapshot.tools.get(name));

  const validatedArgs = (entry: ToolEntry, raw: ProtoStruct | undefined): Record<string, unknown> => {
    const args = raw ? fromStruct(raw) : {};
    if (entry.validate && !entry.validate(args)) {
      const why = (entry.validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}`).join('; ');
      throw new InvalidArgumentError(`invalid arguments for tool ${entry.name}: ${why}`);
    }
    return args;
  };

  /**
   * Runs `fn` on an instance of `namespace`; when the request certainly never
   * reached that instance (connection refused, TLS refused, circuit open),
   * tries the next one in this call's own order, each instance at most once.
   */
  const withFailover = async <T>(namespace: string, fn: (b: Backend) => Promise<T>): Promise<T> => {
    let last: unknown;
    for (const backend of catalog.order(namespace)) {
      try {
        return await fn(backend);
      } catch (err) {
        if (!(err instanceof BackendUnavailableError && err.notSent)) throw err;
        last = err;
      }
    }
    throw last;
  };

  const resultMessage = (r: CallToolResult, server: string) => ({
    content: toListValue(r.content as unknown[]),
    structuredContent: r.structuredContent ? toStruct(r.structuredContent) : undefined,
    isError: r.isError === true,
    server,
    routerInstanceId: instanceId,
  });

  /** Runs a tool call with deadline → timeout, cancel → abort, optional progress. */
  const runTool = async (
    call: grpc.ServerUnaryCall<any, any> | grpc.ServerWritableStream<any, any>,
    onprogress?: (p: { progress: number; total?: number; message?: string }) => void,
  ) => {
    const found = lookupTool(requireString(call.request?.name, 'name'));
    const entry = found instanceof Promise ? await found : found;
    const args = validatedArgs(entry, call.request?.arguments);
    const abort = new AbortController();
    const onCancel = () => abort.abort(new CallCancelledError());
    call.once('cancelled', onCancel);
    try {
      const r = (await withFailover(entry.namespace, (backend) =>
        backend.callTool(entry.tool.name, args, { timeout: timeoutFor(call, ctx.defaultTimeoutMs), signal: abort.signal, onprogress }),
      )) as CallToolResult;
      return resultMessage(r, entry.namespace);
    } finally {
      call.removeListener('cancelled', onCancel);
    }
  };

  return {
    ListServers: unary('ListServers', () => ({
      routerInstanceId: instanceId,
      servers: catalog.allBackends().map((b) => ({
        name: b.descriptor.namespace,
        instanceId: b.id,
        url: b.descriptor.url,
        healthy: b.healthy,
        circuitState: b.circuitState,
        toolCount: b.listing.tools.length,
        resourceCount: b.listing.resources.length,
        promptCount: b.listing.prompts.length,
        serverInfo: toStruct(b.serverInfo),
        lastError: b.lastError,
      })),
    })),

    ListTools: unary('ListTools', (req) => {
      const snap = catalog.snapshot;
      const server: string = req?.server ?? '';
      return cache.get(snap, `tools:${server}`, () => ({
        routerInstanceId: instanceId,
        tools: [...snap.tools.values()].filter((t) => !server || t.namespace === server).map(toolMessage),
      }));
    }),

    CallTool: unary('CallTool', (_req, call) => runTool(call)),

    CallToolStream: (call: grpc.ServerWritableStream<any, any>) => {
      const done = metrics.startCall('CallToolStream');
      runTool(call, (p) => {
        if (!call.cancelled) call.write({ progress: { progress: p.progress, total: p.total ?? 0, hasTotal: p.total !== undefined, message: p.message ?? '' } });
      }).then(
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
    },

    ListResources: unary('ListResources', (req) => {
      const snap = catalog.snapshot;
      const server: string = req?.server ?? '';
      return cache.get(snap, `resources:${server}`, () => ({
        routerInstanceId: instanceId,
        resources: [...snap.resources.values()].filter((r) => !server || r.namespace === server).map((r) => resourceMessage(r.namespace, r.resource)),
      }));
    }),

    ReadResource: unary('ReadResource', async (req, call) => {
      const uri = requireString(req?.uri, 'uri');
      const entry = catalog.snapshot.resources.get(uri);
      if (!entry) throw new NotFoundError(`unknown resource ${JSON.stringify(uri)}; ListResources shows the available URIs`);
      const r = await withFailover(entry.namespace, (b) => b.readResource(uri, { timeout: timeoutFor(call, ctx.defaultTimeoutMs) }));
      return { contents: toListValue(r.contents as unknown[]), server: entry.namespace, routerInstanceId: instanceId };
    }),

    ListPrompts: unary('ListPrompts', (req) => {
      const snap = catalog.snapshot;
      const server: string = req?.server ?? '';
      return cache.get(snap, `prompts:${server}`, () => ({
        routerInstanceId: instanceId,
        prompts: [...snap.prompts.values()].filter((p) => !server || p.namespace === server).map((p) => promptMessage(p.name, p.namespace, p.prompt)),
      }));
    }),

    GetPrompt: unary('GetPrompt', async (req, call) => {
      const name = requireString(req?.name, 'name');
      const entry = catalog.snapshot.prompts.get(name) ?? (await lookupMissing('prompt', name, () => catalog.snapshot.prompts.get(name)));
      const args: Record<string, string> = { ...(req?.arguments ?? {}) };
      for (const a of entry.prompt.arguments ?? []) {
        if (a.required && !(a.name in args)) throw new InvalidArgumentError(`prompt ${name} needs argument ${JSON.stringify(a.name)}`);
      }
      const r = await withFailover(entry.namespace, (b) => b.getPrompt(entry.prompt.name, args, { timeout: timeoutFor(call, ctx.defaultTimeoutMs) }));
      return { description: r.description ?? '', messages: toListValue(r.messages as unknown[]), server: entry.namespace, routerInstanceId: instanceId };
    }),
  };
}
