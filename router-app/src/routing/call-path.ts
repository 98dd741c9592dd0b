/**
 * The call path both front doors (gRPC in grpc/, MCP over HTTP in http/)
 * share: lookup in the catalogue (with one refresh for a server that has no
 * listing yet), argument validation, failover over a server's instances, the
 * caller's time budget and cancel. It speaks MCP shapes and router errors
 * (mcp/errors.ts); each door maps them to its own wire format. A rule changed
 * here holds at both doors.
 */
import type { CallToolResult, GetPromptResult, Prompt, ReadResourceResult, Resource, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Backend } from '../mcp/backend';
import type { Catalog, CatalogSnapshot, PromptEntry, ResourceEntry, ResourceTemplateEntry, ToolEntry } from '../mcp/catalog';
import { BackendUnavailableError, InvalidArgumentError, NotFoundError } from '../mcp/errors';
import { CallSlots } from './call-slots';

/**
 * The longest URI ReadResource takes (UTF-16 code units; RFC 9110 asks servers for at least 8,000
 * octets of request line). A URI no listed resource has is matched against every resource template
 * of every server: linear in its length (uri-template-matcher.ts), so this bounds what one request
 * costs the router's thread.
 */
export const MAX_RESOURCE_URI_LENGTH = 16_384;

/** What a caller brings to one call. */
export interface CallOptions {
  /** Time the call may take, in ms (the gRPC deadline, or the router's default). */
  readonly timeoutMs: number;
  /** Aborted with a CallCancelledError when the caller goes away. */
  readonly signal?: AbortSignal;
  /** Progress notifications of the call (a streamed call). */
  readonly onprogress?: (p: { progress: number; total?: number; message?: string }) => void;
}

/** A tool call's result with the server that answered. */
export interface RoutedResult<T> {
  readonly result: T;
  /** Namespace of the MCP server that answered. */
  readonly server: string;
}

export class CallPath {
  constructor(
    private readonly catalog: Catalog,
    /** Calls in flight (both doors); unbounded when not given. */
    readonly slots: CallSlots = new CallSlots(Number.MAX_SAFE_INTEGER),
  ) {}

  /** The catalogue as it is now: a new object whenever it changes (what may be cached against it). */
  get snapshot(): CatalogSnapshot {
    return this.catalog.snapshot;
  }

  /** True when `server` names an MCP server the router has (listed or not). */
  hasServer(server: string): boolean {
    return this.catalog.instancesOf(server).length > 0;
  }

  tools(server = ''): ToolEntry[] {
    const all = [...this.catalog.snapshot.tools.values()];
    return server ? all.filter((t) => t.namespace === server) : all;
  }

  prompts(server = ''): PromptEntry[] {
    const all = [...this.catalog.snapshot.prompts.values()];
    return server ? all.filter((p) => p.namespace === server) : all;
  }

  resources(server = ''): ResourceEntry[] {
    const all = [...this.catalog.snapshot.resources.values()];
    return server ? all.filter((r) => r.namespace === server) : all;
  }

  /** The catalogue's entry for a tool name; one refresh first for a server never listed. */
  lookupTool(name: unknown): ToolEntry | Promise<ToolEntry> {
    const n = requireString(name, 'name');
    return this.catalog.snapshot.tools.get(n) ?? this.lookupMissing('tool', n, () => this.catalog.snapshot.tools.get(n));
  }

  async lookupPrompt(name: unknown): Promise<PromptEntry> {
    const n = requireString(name, 'name');
    return this.catalog.snapshot.prompts.get(n) ?? this.lookupMissing('prompt', n, () => this.catalog.snapshot.prompts.get(n));
  }

  resourceTemplates(server = ''): ResourceTemplateEntry[] {
    const all = this.catalog.snapshot.resourceTemplates;
    return server ? all.filter((t) => t.namespace === server) : [...all];
  }

  /** The owner of a URI: a listed resource, else the server whose most specific resource template matches it. */
  lookupResource(uri: unknown): ResourceEntry {
    const u = requireString(uri, 'uri');
    if (u.length > MAX_RESOURCE_URI_LENGTH) throw new InvalidArgumentError(`uri is ${u.length} characters long; the router reads resources by URIs of at most ${MAX_RESOURCE_URI_LENGTH} characters`);
    const snap = this.catalog.snapshot;
    const entry = snap.resources.get(u);
    if (entry) return entry;
    for (const t of snap.templateMatchOrder) {
      if (t.matcher.matches(u)) return { namespace: t.namespace, resource: { uri: u, name: t.template.name } };
    }
    throw new NotFoundError(`unknown resource ${JSON.stringify(u)}; list the resources and resource templates to see what can be read`);
  }

  /** Checks `args` against the tool's input schema. */
  validateArgs(entry: ToolEntry, args: Record<string, unknown>): Record<string, unknown> {
    if (entry.validate && !entry.validate(args)) {
      const why = (entry.validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}`).join('; ');
      throw new InvalidArgumentError(`invalid arguments for tool ${entry.name}: ${why}`);
    }
    return args;
  }

  async callTool(entry: ToolEntry, args: Record<string, unknown>, o: CallOptions): Promise<RoutedResult<CallToolResult>> {
    const valid = this.validateArgs(entry, args);
    const result = await this.slots.run(() => this.withFailover(entry.namespace, (b) => b.callTool(entry.tool.name, valid, { timeout: o.timeoutMs, signal: o.signal, onprogress: o.onprogress })));
    return { result: result as CallToolResult, server: entry.namespace };
  }

  async readResource(entry: ResourceEntry, o: CallOptions): Promise<RoutedResult<ReadResourceResult>> {
    const result = await this.slots.run(() => this.withFailover(entry.namespace, (b) => b.readResource(entry.resource.uri, { timeout: o.timeoutMs, signal: o.signal })));
    return { result, server: entry.namespace };
  }

  async getPrompt(entry: PromptEntry, args: Record<string, unknown>, o: CallOptions): Promise<RoutedResult<GetPromptResult>> {
    const strings: Record<string, string> = {};
    for (const [k, v] of Object.entries(args ?? {})) {
      if (typeof v !== 'string') throw new InvalidArgumentError(`prompt ${entry.name} argument ${JSON.stringify(k)} must be a string`);
      strings[k] = v;
    }
    for (const a of entry.prompt.arguments ?? []) {
      if (a.required && !(a.name in strings)) throw new InvalidArgumentError(`prompt ${entry.name} needs argument ${JSON.stringify(a.name)}`);
    }
    const result = await this.slots.run(() => this.withFailover(entry.namespace, (b) => b.getPrompt(entry.prompt.name, strings, { timeout: o.timeoutMs, signal: o.signal })));
    return { result, server: entry.namespace };
  }

  /**
   * Runs `fn` on an instance of `namespace`; when the request certainly never
   * reached that instance (connection refused, TLS refused, circuit open),
   * tries the next one in this call's own order, each instance at most once.
   */
  async withFailover<T>(namespace: string, fn: (b: Backend) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const backend of this.catalog.order(namespace)) {
      try {
        return await fn(backend);
      } catch (err) {
        if (!(err instanceof BackendUnavailableError && err.notSent)) throw err;
        last = err;
      }
    }
    throw last;
  }

  /**
   * Slow path for a name the catalogue does not know. If it belongs to a
   * server the router has no listing for (never reached, or every instance
   * down), the catalogue is refreshed once; a server that still cannot be
   * reached is UNAVAILABLE (its tools are unknown, not absent), else NOT_FOUND.
   */
  private async lookupMissing<T>(kind: 'tool' | 'prompt', name: string, find: () => T | undefined): Promise<T> {
    const owner = this.catalog.unlistedNamespaceOf(name);
    if (owner !== undefined) {
      await this.catalog.refresh(`${kind} ${name} of unlisted server ${owner}`);
      const found = find();
      if (found) return found;
      const instances = this.catalog.instancesOf(owner);
      if (instances.length && instances.every((b) => !b.healthy)) {
        throw new BackendUnavailableError(`MCP server ${owner} is unavailable, so its ${kind}s are unknown: ${instances.map((b) => b.lastError).find((e) => e) ?? 'no session'}`);
      }
    }
    throw new NotFoundError(`unknown ${kind} ${JSON.stringify(name)}; list the ${kind}s to see the available names`);
  }
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(`${field} is required`);
  return value;
}

/** The parts of a catalogue entry a client sees (shared by both doors' listings). */
export type { Prompt, Resource, Tool };
