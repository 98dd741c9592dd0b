/**
 * The aggregated catalogue: backends grouped by namespace (several instances
 * of one MCP server share a namespace and are called round-robin), tools and
 * prompts under namespaced names, resources by URI. Rebuilt when the backend
 * set changes, when a backend announces list_changed, and on a TTL; each
 * rebuild is a new immutable snapshot with a version number (the front doors
 * cache what they build from a snapshot by that version).
 */
import { EventEmitter } from 'node:events';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { Prompt, Resource, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../logger';
import { Backend, BackendDescriptor, BackendOptions, DEFAULT_LISTING_LIMITS } from './backend';
import type { CallOutcome } from '../metrics';
import { ListingLimitError, NotFoundError } from './errors';
import { assignNames, namespacePrefix } from './naming';
import { MAX_SCHEMA_DEPTH, nestsDeeperThan } from '../json-depth';
import { UriTemplateMatcher } from './uri-template-matcher';
import { SeenOnce } from '../seen-once';

export interface ToolEntry {
  readonly name: string;
  readonly namespace: string;
  readonly tool: Tool;
  readonly validate?: ValidateFunction;
}
export interface PromptEntry {
  readonly name: string;
  readonly namespace: string;
  readonly prompt: Prompt;
}
export interface ResourceEntry {
  readonly namespace: string;
  readonly resource: Resource;
}
export interface ResourceTemplateEntry {
  readonly namespace: string;
  readonly template: ResourceTemplate;
  /** Whether a URI is an instance of the template (the SDK's RFC 6570 patterns, in linear time). */
  readonly matcher: UriTemplateMatcher;
}

export interface CatalogSnapshot {
  readonly version: number;
  readonly tools: ReadonlyMap<string, ToolEntry>;
  readonly prompts: ReadonlyMap<string, PromptEntry>;
  readonly resources: ReadonlyMap<string, ResourceEntry>;
  /** Resource templates in namespace order (as listed). */
  readonly resourceTemplates: readonly ResourceTemplateEntry[];
  /**
   * The same, most specific first (the most literal characters; ties in namespace order): the first
   * that matches a URI owns it, so a catch-all such as `{+uri}` never takes `file:///{+path}`'s URIs.
   */
  readonly templateMatchOrder: readonly ResourceTemplateEntry[];
}

const EMPTY: CatalogSnapshot = { version: 0, tools: new Map(), prompts: new Map(), resources: new Map(), resourceTemplates: [], templateMatchOrder: [] };

/**
 * Bounds of a resource template the router matches URIs against: matching costs the URI's length
 * times the template's expressions at worst (RE2's automaton), for every unlisted URI read. The
 * longest templates the reference servers list have a few expressions and well under 200 characters.
 */
export const MAX_TEMPLATE_LENGTH = 1_024;
export const MAX_TEMPLATE_EXPRESSIONS = 16;

/** Characters of a URI template outside its expressions: how much of a URI it pins down. */
export function literalLength(uriTemplate: string): number {
  return uriTemplate.replace(/\{[^}]*\}/g, '').length;
}

/** A tool only callable as an MCP task: the router's client does not run tasks, so it is not offered. */
/** The least time between two rebuilds a backend's list_changed notifications start. */
export const LIST_CHANGED_MIN_INTERVAL_MS = 1_000;

const needsTasks = (tool: Tool) => (tool as { execution?: { taskSupport?: string } }).execution?.taskSupport === 'required';

export class Catalog extends EventEmitter {
  private readonly backends = new Map<string, Backend>();
  private snapshot_: CatalogSnapshot = EMPTY;
  private refreshing?: Promise<void>;
  private pending = false;
  private ttlTimer?: NodeJS.Timeout;
  private readonly rr = new Map<string, number>();
  /** Instances per namespace, rebuilt when the backend set changes (pick() is on the call path). */
  private byNamespace = new Map<string, Backend[]>();
  private readonly ajv: Ajv;
  /** Backends whose listing is in flight. */
  private readonly listing = new Set<Backend>();
  /** The refusal last logged per backend (a listing refused again for the same reason is not logged again). */
  private readonly refusedLogged = new Map<string, string>();

  constructor(
    private readonly backendOptions: BackendOptions,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {
    super();
    // ajv's own warnings (e.g. an unknown format) go to the router's JSON log, not to stdout.
    const ajvLog = {
      log: (...args: unknown[]) => logger.debug({ ajv: args.map(String).join(' ') }, 'ajv'),
      warn: (...args: unknown[]) => logger.warn({ ajv: args.map(String).join(' ') }, 'ajv warning'),
      error: (...args: unknown[]) => logger.error({ ajv: args.map(String).join(' ') }, 'ajv error'),
    };
    // addUsedSchema false: a compiled schema's $id is not registered for other schemas to $ref (tools are independent).
    this.ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false, addUsedSchema: false, logger: ajvLog });
    // JSON Schema formats (uri, date-time, email, …) are checked, not ignored.
    addFormats(this.ajv);
  }

  get snapshot(): CatalogSnapshot {
    return this.snapshot_;
  }

  allBackends(): Backend[] {
    return [...this.backends.values()];
  }

  start(): void {
    this.ttlTimer = setInterval(() => void this.refresh('ttl'), this.ttlMs);
    this.ttlTimer.unref();
  }

  /** Replaces the backend set (from discovery); refreshes when it changed. */
  setBackends(descriptors: readonly BackendDescriptor[]): void {
    const wanted = new Map(descriptors.map((d) => [d.id, d]));
    let changed = false;
    for (const [id, b] of this.backends) {
      const d = wanted.get(id);
      if (!d || d.url !== b.descriptor.url || d.namespace !== b.descriptor.namespace || d.tlsServerName !== b.descriptor.tlsServerName || d.credentials !== b.descriptor.credentials) {
        this.backends.delete(id);
        clearTimeout(this.listChangedTimers.get(b));
        this.listChangedTimers.delete(b);
        void b.close();
        this.refusedLogged.delete(id);
        // Gone for good, unless re-added just below: its metric series go too.
        if (!d) this.emit('backend-removed', b);
        changed = true;
      }
    }
    for (const d of descriptors) {
      if (this.backends.has(d.id)) continue;
      const b = new Backend(d, this.backendOptions);
      b.on('list_changed', () => this.onListChanged(b));
      b.on('call', (outcome: CallOutcome) => this.emit('backend-call', b, outcome));
      b.on('health', (up: boolean) => {
        this.emit('backend-health', b, up);
        // A backend that comes back may have a different catalogue (unless its session came up for a listing, which reads it anyway).
        if (up && !this.listing.has(b)) void this.refresh(`backend ${d.id} up`);
      });
      this.backends.set(d.id, b);
      changed = true;
    }
    if (changed) {
      const byNs = new Map<string, Backend[]>();
      for (const b of this.backends.values()) {
        const list = byNs.get(b.descriptor.namespace);
        if (list) list.push(b);
        else byNs.set(b.descriptor.namespace, [b]);
      }
      this.byNamespace = byNs;
      void this.refresh('backend set changed');
    }
  }

  /**
   * Resolves when the rebuild running now, and the one queued behind it if
   * any, have finished (each is bounded by the listing deadline); later ones
   * (a TTL, a backend's list_changed) are not waited for.
   */
  async settled(): Promise<void> {
    const running = this.refreshing;
    if (!running) return;
    await running;
    // A pending run starts as the running one ends (refresh's finally): wait for that one too, no more.
    if (this.refreshing && this.refreshing !== running) await this.refreshing;
  }

  /**
   * A backend said its lists changed: a rebuild, at most one per LIST_CHANGED_MIN_INTERVAL_MS for
   * that backend (later ones in the window become one rebuild at its end), so a backend sending
   * list_changed without pause cannot keep the router relisting every backend.
   */
  private onListChanged(b: Backend): void {
    if (this.listChangedTimers.has(b) || !this.backends.has(b.id)) return;
    const wait = (this.listChangedAt.get(b) ?? 0) - Date.now();
    if (wait > 0) {
      const t = setTimeout(() => {
        this.listChangedTimers.delete(b);
        this.onListChanged(b);
      }, wait);
      t.unref();
      this.listChangedTimers.set(b, t);
      return;
    }
    this.listChangedAt.set(b, Date.now() + LIST_CHANGED_MIN_INTERVAL_MS);
    void this.refresh(`list_changed from ${b.id}`);
  }

  /** Rebuilds the catalogue; concurrent requests coalesce into one more run. */
  refresh(reason: string): Promise<void> {
    if (this.refreshing) {
      this.pending = true;
      return this.refreshing;
    }
    this.refreshing = this.rebuild(reason).finally(() => {
      this.refreshing = undefined;
      if (this.pending) {
        this.pending = false;
        void this.refresh('coalesced');
      }
    });
    return this.refreshing;
  }

  /**
   * Lists every backend again and rebuilds the snapshot from each one's
   * settled result: a backend that fails, goes over a listing bound or takes
   * too long costs only its own entries (it keeps its last good listing).
   * Snapshots are assembled as listings settle (at most one per 50 ms), so a
   * slow backend does not hold back the others' entries; a last one follows
   * when every listing has settled.
   */
  private async rebuild(reason: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const assembleSoon = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        this.assemble(`${reason} (partial)`);
      }, 50);
    };
    await Promise.allSettled([...this.backends.values()].map((b) => this.listWithin(b).finally(assembleSoon)));
    if (timer) clearTimeout(timer);
    this.assemble(reason);
  }

  /** One backend's listing, bounded by the listing deadline even if a request ignores its abort. */
  private async listWithin(b: Backend): Promise<void> {
    const timeoutMs = (this.backendOptions.listing ?? DEFAULT_LISTING_LIMITS).timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ListingLimitError('timeout', `listing of ${b.descriptor.namespace} (${b.id}) refused: not complete within ${timeoutMs} ms (MCP_ROUTER_LISTING_TIMEOUT_MS)`)), timeoutMs + 1_000);
      timer.unref();
    });
    this.listing.add(b);
    try {
      await Promise.race([b.refreshListing(), late]);
      this.refusedLogged.delete(b.id);
    } catch (err) {
      if (err instanceof ListingLimitError) {
        b.listingError = err.message;
        this.emit('listing-refused', b, err.limit);
        // Said once per backend and message, not at every refresh.
        if (this.refusedLogged.get(b.id) !== err.message) {
          this.refusedLogged.set(b.id, err.message);
          this.logger.warn({ backend: b.id, limit: err.limit, err: err.message }, 'listing refused; the backend keeps its last good listing');
        }
      } else {
        this.logger.warn({ backend: b.id, err: (err as Error).message }, 'listing failed');
      }
    } finally {
      this.listing.delete(b);
      clearTimeout(timer);
    }
  }

  /** A new snapshot from the backends' current listings. */
  private assemble(reason: string): void {
    const backends = [...this.backends.values()];
    // One listing per namespace: the first instance (by id) that answered.
    const byNs = new Map<string, Backend>();
    for (const b of backends.sort((x, y) => (x.id < y.id ? -1 : 1))) {
      if (!byNs.has(b.descriptor.namespace) && b.listed) {
        byNs.set(b.descriptor.namespace, b);
      }
    }
    // Keep namespaces whose instances are all down but still registered: their calls fail fast with UNAVAILABLE.
    for (const b of backends) if (!byNs.has(b.descriptor.namespace)) byNs.set(b.descriptor.namespace, b);

    const toolItems: Array<{ server: string; name: string; tool: Tool }> = [];
    const promptItems: Array<{ server: string; name: string; prompt: Prompt }> = [];
    const resources = new Map<string, ResourceEntry>();
    const resourceTemplates: ResourceTemplateEntry[] = [];
    const previousMatchers = new Map(this.snapshot_.resourceTemplates.map((e) => [`${e.namespace}\u0000${e.template.uriTemplate}`, e.matcher] as const));
    for (const [ns, b] of byNs) {
      for (const tool of b.listing.tools) {
        if (needsTasks(tool)) {
          this.logLeftOut(ns, tool.name, 'info', 'tool needs MCP tasks (execution.taskSupport "required"), which the router does not run');
          continue;
        }
        if (nestsDeeperThan([tool.inputSchema, tool.outputSchema, tool.annotations], MAX_SCHEMA_DEPTH + 1)) {
          this.logLeftOut(ns, tool.name, 'warn', `tool schema nests more than ${MAX_SCHEMA_DEPTH} levels deep (past what protobuf encodes and decodes in a ListTools answer)`);
          continue;
        }
        toolItems.push({ server: ns, name: tool.name, tool });
      }
      for (const template of b.listing.resourceTemplates) {
        const t = template.uriTemplate;
        const expressions = t.split('{').length - 1;
        if (t.length > MAX_TEMPLATE_LENGTH || expressions > MAX_TEMPLATE_EXPRESSIONS) {
          this.logLeftOut(ns, t.slice(0, 200), 'warn', `resource template longer than ${MAX_TEMPLATE_LENGTH} characters or with more than ${MAX_TEMPLATE_EXPRESSIONS} expressions (matching a URI costs its length times the expressions)`, 'uriTemplate');
          continue;
        }
        try {
          // A template already compiled for the last catalogue is reused (compiling costs more than matching).
          const matcher = previousMatchers.get(`${ns}\u0000${t}`) ?? new UriTemplateMatcher(t);
          resourceTemplates.push({ namespace: ns, template, matcher });
        } catch (err) {
          this.logLeftOut(ns, t.slice(0, 200), 'warn', `resource template does not parse (${(err as Error).message})`, 'uriTemplate');
        }
      }
      for (const prompt of b.listing.prompts) promptItems.push({ server: ns, name: prompt.name, prompt });
      for (const resource of b.listing.resources) if (!resources.has(resource.uri)) resources.set(resource.uri, { namespace: ns, resource });
    }
    const previous = this.snapshot_;
    const tools = new Map<string, ToolEntry>();
    for (const [name, item] of assignNames(toolItems)) {
      const old = previous.tools.get(name);
      const sameSchema = old && old.namespace === item.server && JSON.stringify(old.tool.inputSchema) === JSON.stringify(item.tool.inputSchema);
      tools.set(name, { name, namespace: item.server, tool: item.tool, validate: sameSchema ? old!.validate : this.compile(item.tool) });
    }
    const prompts = new Map<string, PromptEntry>();
    for (const [name, item] of assignNames(promptItems)) prompts.set(name, { name, namespace: item.server, prompt: item.prompt });
    const specificity = new Map(resourceTemplates.map((t) => [t, literalLength(t.template.uriTemplate)] as const));
    // Array.prototype.sort is stable: equal specificity keeps namespace order.
    const templateMatchOrder = [...resourceTemplates].sort((a, b) => specificity.get(b)! - specificity.get(a)!);
    this.snapshot_ = { version: previous.version + 1, tools, prompts, resources, resourceTemplates, templateMatchOrder };
    this.logger.debug({ reason, tools: tools.size, prompts: prompts.size, resources: resources.size }, 'catalogue rebuilt');
    this.emit('updated', this.snapshot_);
  }

  private readonly listChangedAt = new WeakMap<Backend, number>();
  private readonly listChangedTimers = new Map<Backend, NodeJS.Timeout>();
  /** Why a tool or template is not offered, said once per item and reason (not at every rebuild). */
  private readonly leftOutLogged = new SeenOnce();
  private logLeftOut(server: string, item: string, level: 'info' | 'warn', why: string, field: 'tool' | 'uriTemplate' = 'tool'): void {
    if (!this.leftOutLogged.first(`${server}\u0000${item}\u0000${why}`)) return;
    this.logger[level]({ server, [field]: item }, `${why}: not offered`);
  }

  private compile(tool: Tool): ValidateFunction | undefined {
    const schema = tool.inputSchema as object;
    try {
      return this.ajv.compile(schema);
    } catch (err) {
      this.logger.warn({ tool: tool.name, err: (err as Error).message }, 'input schema does not compile; arguments go unchecked');
      return undefined;
    } finally {
      // ajv keeps every schema it compiled (and its $id) for good: a backend whose schemas change at
      // every listing would grow it without end, and a $id two tools share would fail the second.
      // The validator works on without it.
      try {
        this.ajv.removeSchema(schema);
      } catch {
        // nothing was kept
      }
    }
  }

  /**
   * For a tool/prompt name the catalogue does not know: the namespace it
   * belongs to when that namespace has backends but no listing yet (never
   * reached, or every instance down), else undefined.
   */
  unlistedNamespaceOf(name: string): string | undefined {
    const listed = new Set<string>();
    for (const b of this.backends.values()) if (b.listed) listed.add(b.descriptor.namespace);
    let best: string | undefined;
    for (const b of this.backends.values()) {
      const ns = b.descriptor.namespace;
      if (listed.has(ns) || !name.startsWith(namespacePrefix(ns))) continue;
      if (!best || ns.length > best.length) best = ns;
    }
    return best;
  }

  /** Every instance of `namespace`. */
  instancesOf(namespace: string): Backend[] {
    return [...(this.byNamespace.get(namespace) ?? [])];
  }

  /**
   * The instances of `namespace` in the order one call should try them:
   * round-robin over calls (each call starts one further), instances whose
   * circuit is open last. Each call gets its own order, so concurrent calls
   * never use up an attempt on an instance another call's failover moved past.
   */
  order(namespace: string): Backend[] {
    const candidates = this.byNamespace.get(namespace) ?? [];
    if (candidates.length === 0) throw new NotFoundError(`no MCP server named ${namespace}`);
    const start = this.rr.get(namespace) ?? 0;
    this.rr.set(namespace, (start + 1) % candidates.length);
    const rotated = candidates.length === 1 ? [candidates[0]] : [...candidates.slice(start % candidates.length), ...candidates.slice(0, start % candidates.length)];
    const usable = rotated.filter((b) => b.circuitState !== 'open');
    return usable.length === rotated.length ? rotated : [...usable, ...rotated.filter((b) => b.circuitState === 'open')];
  }

  async close(): Promise<void> {
    if (this.ttlTimer) clearInterval(this.ttlTimer);
    for (const t of this.listChangedTimers.values()) clearTimeout(t);
    this.listChangedTimers.clear();
    await Promise.all([...this.backends.values()].map((b) => b.close()));
    this.backends.clear();
    this.byNamespace = new Map();
  }
}
