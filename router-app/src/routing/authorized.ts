/**
 * The call path seen through one caller's rights, shared by both front doors
 * (so a rule holds the same on gRPC and MCP):
 * - listings hold only what the caller may call;
 * - a tool, prompt or resource the caller may not use is PERMISSION_DENIED
 *   whether or not it exists (a stranger cannot probe for names), and is
 *   refused before any lookup (it cannot make the router refresh its
 *   catalogue either).
 */
import type { AccessControl, Access } from '../auth/access';
import type { Backend } from '../mcp/backend';
import type { PromptEntry, ResourceEntry, ResourceTemplateEntry, ToolEntry } from '../mcp/catalog';
import { NotFoundError } from '../mcp/errors';
import { CallPath, requireString } from './call-path';

/** The namespace a namespaced name `<server>__<name>` would belong to. */
function namespaceOf(name: string): string {
  const i = name.indexOf('__');
  return i > 0 ? name.slice(0, i) : '';
}

export class AuthorizedCalls {
  constructor(
    readonly calls: CallPath,
    private readonly ac: AccessControl,
  ) {}

  tools(a: Access, server = ''): ToolEntry[] {
    const all = this.calls.tools(server);
    return a.grant.all ? all : all.filter((t) => a.grant.tool(t.name, t.namespace));
  }

  prompts(a: Access, server = ''): PromptEntry[] {
    const all = this.calls.prompts(server);
    return a.grant.all ? all : all.filter((p) => a.grant.prompt(p.name, p.namespace));
  }

  resources(a: Access, server = ''): ResourceEntry[] {
    const all = this.calls.resources(server);
    return a.grant.all ? all : all.filter((r) => a.grant.resource(r.resource.uri, r.namespace));
  }

  resourceTemplates(a: Access, server = ''): ResourceTemplateEntry[] {
    const all = this.calls.resourceTemplates(server);
    return a.grant.all ? all : all.filter((t) => a.grant.namespace(t.namespace));
  }

  /**
   * True when the router has `server` and the caller may use something of it.
   * A server the caller may not see is as unknown as one that does not exist.
   */
  hasServer(a: Access, server: string): boolean {
    if (!this.calls.hasServer(server)) return false;
    return a.grant.all || a.grant.namespace(server) || this.tools(a, server).length + this.prompts(a, server).length + this.resources(a, server).length > 0;
  }

  /** Backends of the namespaces in which the caller may use something. */
  servers(a: Access, backends: readonly Backend[]): Backend[] {
    if (a.grant.all) return [...backends];
    const visible = new Set<string>();
    for (const t of this.tools(a)) visible.add(t.namespace);
    for (const p of this.prompts(a)) visible.add(p.namespace);
    for (const r of this.resources(a)) visible.add(r.namespace);
    return backends.filter((b) => visible.has(b.descriptor.namespace) || a.grant.namespace(b.descriptor.namespace));
  }

  lookupTool(a: Access, name: unknown): ToolEntry | Promise<ToolEntry> {
    if (a.grant.all) return this.calls.lookupTool(name);
    const n = requireString(name, 'name');
    this.ac.authorize(a, 'tool', n, namespaceOf(n));
    const found = this.calls.lookupTool(n);
    return found instanceof Promise ? found.then((e) => this.check(a, 'tool', e), (err) => this.hide(a, 'tool', n, err)) : this.check(a, 'tool', found);
  }

  async lookupPrompt(a: Access, name: unknown): Promise<PromptEntry> {
    if (a.grant.all) return this.calls.lookupPrompt(name);
    const n = requireString(name, 'name');
    this.ac.authorize(a, 'prompt', n, namespaceOf(n));
    try {
      return this.check(a, 'prompt', await this.calls.lookupPrompt(n));
    } catch (err) {
      return this.hide(a, 'prompt', n, err);
    }
  }

  lookupResource(a: Access, uri: unknown): ResourceEntry {
    if (a.grant.all) return this.calls.lookupResource(uri);
    const u = requireString(uri, 'uri');
    let entry: ResourceEntry;
    try {
      entry = this.calls.lookupResource(u);
    } catch (err) {
      // Not found: allowed by URI pattern → say so; else the caller learns nothing.
      if (err instanceof NotFoundError && !a.grant.resourceByUri(u)) this.ac.authorize(a, 'resource', u, undefined);
      throw err;
    }
    this.ac.authorize(a, 'resource', u, entry.namespace);
    return entry;
  }

  private check<T extends { name: string; namespace: string }>(a: Access, kind: 'tool' | 'prompt', e: T): T {
    this.ac.authorize(a, kind, e.name, e.namespace);
    return e;
  }

  private hide(a: Access, kind: 'tool' | 'prompt', name: string, err: unknown): never {
    // A name the caller may use by its prefix but that does not exist is NOT_FOUND; that tells it nothing new.
    if (!(err instanceof NotFoundError)) throw err;
    this.ac.authorize(a, kind, name, namespaceOf(name));
    throw err;
  }
}
