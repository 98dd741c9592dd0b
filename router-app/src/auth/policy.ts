/**
 * Per-tool authorization: rules that map scopes, claims, subjects (or anyone)
 * to what may be called and seen, the same at both front doors.
 *
 *   { "rules": [
 *       { "match": { "scope": "tools:search" },              "allow": { "tools": ["search__*"] } },
 *       { "match": { "claim": "groups", "value": "sre" },    "allow": { "namespaces": ["ops", "demo"] } },
 *       { "match": { "subject": "ci-bot" },                  "allow": { "prompts": ["demo__greet"], "resources": ["demo://*"] } },
 *       { "match": { "anyone": true },                       "allow": { "tools": ["demo__echo"] } } ] }
 *
 * - `namespaces` grants every tool, prompt and resource of those MCP servers;
 *   `tools` and `prompts` take namespaced names (`<server>__<name>`),
 *   `resources` take URIs. A pattern is literal except `*`, which matches any
 *   run of characters.
 * - A caller gets the union of every rule that matches it; nothing else. The
 *   admin scope grants everything. With no rules source configured, every
 *   authenticated caller may call everything (authentication only).
 * - Listings show each caller only what it may call; a call to anything else
 *   is PERMISSION_DENIED, whether or not it exists.
 */
import { z } from 'zod';
import type { Identity } from './identity';

const Pattern = z.string().regex(/^[\x21-\x7e]{1,256}$/, { message: 'a pattern is 1-256 printable characters without spaces' });
const Allow = z
  .object({
    namespaces: z.array(Pattern).max(1000).optional(),
    tools: z.array(Pattern).max(1000).optional(),
    prompts: z.array(Pattern).max(1000).optional(),
    resources: z.array(Pattern).max(1000).optional(),
  })
  .strict();
const Match = z
  .object({
    scope: z.string().min(1).max(256).optional(),
    claim: z.string().regex(/^[A-Za-z0-9_:.-]{1,128}$/, { message: 'a claim is a name or a dotted path such as realm_access.roles' }).optional(),
    value: z.union([z.string().max(1024), z.number(), z.boolean()]).optional(),
    subject: z.string().min(1).max(256).optional(),
    anyone: z.literal(true).optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const kinds = [m.scope !== undefined, m.claim !== undefined, m.subject !== undefined, m.anyone !== undefined].filter(Boolean).length;
    if (kinds !== 1) ctx.addIssue({ code: 'custom', message: 'a match has exactly one of scope, claim (with value), subject or anyone' });
    if (m.claim !== undefined && m.value === undefined) ctx.addIssue({ code: 'custom', message: 'a claim match needs a value' });
    if (m.claim === undefined && m.value !== undefined) ctx.addIssue({ code: 'custom', message: 'value belongs to a claim match' });
  });
const RulesFile = z.object({ rules: z.array(z.object({ description: z.string().max(1024).optional(), match: Match, allow: Allow }).strict()).max(10_000) }).strict();

export type Rule = z.output<typeof RulesFile>['rules'][number];

/** `*` matches any run of characters; everything else is literal. */
export function patternRegex(patterns: readonly string[]): RegExp | undefined {
  if (patterns.length === 0) return undefined;
  const alt = patterns.map((p) => p.split('*').map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&')).join('.*'));
  return new RegExp(`^(?:${alt.join('|')})$`, 's');
}

function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (path in claims) return claims[path];
  let cur: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function matches(m: Rule['match'], id: Identity): boolean {
  if (m.anyone) return true;
  if (m.scope !== undefined) return id.scopes.has(m.scope);
  if (m.subject !== undefined) return id.method !== 'anonymous' && id.subject === m.subject;
  if (m.claim !== undefined) {
    const v = claimAt(id.claims, m.claim);
    return Array.isArray(v) ? v.includes(m.value) : v === m.value;
  }
  return false;
}

/** What one caller may call and see. */
export class Grant {
  constructor(
    /** Same key ⇔ same rights (listings are built and cached once per key). */
    readonly key: string,
    readonly all: boolean,
    private readonly ns?: RegExp,
    private readonly toolRe?: RegExp,
    private readonly promptRe?: RegExp,
    private readonly resourceRe?: RegExp,
  ) {}

  static readonly EVERYTHING = new Grant('*', true);

  namespace(ns: string): boolean {
    return this.all || (this.ns?.test(ns) ?? false);
  }
  tool(name: string, namespace: string): boolean {
    return this.namespace(namespace) || (this.toolRe?.test(name) ?? false);
  }
  prompt(name: string, namespace: string): boolean {
    return this.namespace(namespace) || (this.promptRe?.test(name) ?? false);
  }
  resource(uri: string, namespace: string | undefined): boolean {
    return (namespace !== undefined && this.namespace(namespace)) || (this.resourceRe?.test(uri) ?? false);
  }
  /** A resource allowed by URI pattern alone (no owner needed). */
  resourceByUri(uri: string): boolean {
    return this.all || (this.resourceRe?.test(uri) ?? false);
  }
}

export type Kind = 'tool' | 'prompt' | 'resource';

export class Policy {
  private readonly cache = new WeakMap<Identity, Grant>();

  private constructor(
    /** undefined: no rules source, every authenticated caller may call everything. */
    private readonly rules: readonly Rule[] | undefined,
    readonly version: number,
  ) {}

  /** Authentication only: everyone who gets in may call everything. */
  static allowAll(): Policy {
    return new Policy(undefined, 0);
  }

  /** A rules source that has nothing yet (e.g. the Consul key does not exist): nobody but the admin scope gets anything. */
  static denyAll(version: number): Policy {
    return new Policy([], version);
  }

  /** Parses a rules document; throws an Error naming the rule and field that are wrong. */
  static parse(text: string, version: number): Policy {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error('not JSON: expected { "rules": [ { "match": {...}, "allow": {...} } ] }');
    }
    const r = RulesFile.safeParse(json);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new Error(`${i.path.join('.') || '(root)'}: ${i.message}`);
    }
    return new Policy(r.data.rules, version);
  }

  get enforcing(): boolean {
    return this.rules !== undefined;
  }

  /** Scopes named by the rules (the protected resource metadata's scopes_supported). */
  scopes(): string[] {
    return [...new Set((this.rules ?? []).flatMap((r) => (r.match.scope !== undefined ? [r.match.scope] : [])))].sort();
  }

  grantFor(id: Identity): Grant {
    if (id.admin || this.rules === undefined) return Grant.EVERYTHING;
    let g = this.cache.get(id);
    if (!g) {
      const hit: number[] = [];
      const ns: string[] = [];
      const tools: string[] = [];
      const prompts: string[] = [];
      const resources: string[] = [];
      this.rules.forEach((r, i) => {
        if (!matches(r.match, id)) return;
        hit.push(i);
        ns.push(...(r.allow.namespaces ?? []));
        tools.push(...(r.allow.tools ?? []));
        prompts.push(...(r.allow.prompts ?? []));
        resources.push(...(r.allow.resources ?? []));
      });
      const everything = ns.includes('*');
      g = everything ? new Grant(`${this.version}:*`, true) : new Grant(`${this.version}:${hit.join(',')}`, false, patternRegex(ns), patternRegex(tools), patternRegex(prompts), patternRegex(resources));
      this.cache.set(id, g);
    }
    return g;
  }

  /** Scopes any of which would allow this (the MCP insufficient_scope challenge's `scope`). */
  grantingScopes(kind: Kind, name: string, namespace: string | undefined): string[] {
    const out = new Set<string>();
    for (const r of this.rules ?? []) {
      if (r.match.scope === undefined) continue;
      const a = r.allow;
      const nsOk = namespace !== undefined && (patternRegex(a.namespaces ?? [])?.test(namespace) ?? false);
      const own = kind === 'tool' ? a.tools : kind === 'prompt' ? a.prompts : a.resources;
      if (nsOk || (patternRegex(own ?? [])?.test(name) ?? false)) out.add(r.match.scope);
    }
    return [...out].sort();
  }
}
