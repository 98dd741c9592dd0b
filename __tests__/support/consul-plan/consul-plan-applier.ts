/**
 * TEST-ONLY CONSUL PLAN APPLIER. It stands in for the Terraform Consul
 * provider (hashicorp/consul, the version @cdktf/provider-consul pins), which
 * cannot be downloaded here: it reads a synthesized plan (cdk.tf.json) and
 * applies its consul_* resources to a real Consul through the HTTP API, with
 * the management token, the way the provider does — consul_acl_policy,
 * consul_acl_token (policies, node and service identities),
 * consul_acl_token_policy_attachment (the anonymous token's DNS policy),
 * consul_node and consul_service (catalogue registrations with their check
 * definitions) — and reads `data.consul_acl_token_secret_id` back from
 * Consul. So the policies and tokens under test are exactly the deployed ones.
 *
 * Expressions (count, var.*, count.index, references between resources,
 * functions such as jsonencode) are evaluated by the real `terraform` binary
 * (the docker plan applier's TerraformEvaluator). The provider block's address
 * and token are replaced by the Consul under test. Anything it does not
 * understand — a consul_* type, an attribute, a block, a meta-argument, a
 * data source — is refused before Consul is touched; docker_* and random_*
 * resources are someone else's (the docker plan applier) and are skipped.
 *
 * It also evaluates any template of the plan (e.g. the content of a file a
 * container gets) against what it applied — `evaluate()` — so a test hands a
 * process exactly the token file the plan hands its container.
 */
import * as fs from 'node:fs';
import { blockList, PlanApplierError } from '../docker-plan/plan-schema';
import { hclLiteral, isTemplate, TerraformEvaluator } from '../docker-plan/terraform-eval';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Values = Record<string, Json>;

type Scalar = 'string' | 'number' | 'bool';
type Spec = Scalar | { readonly list: Scalar } | { readonly map: 'string' } | { readonly block: Record<string, Spec> } | { readonly refuse: string };

const NOT_NEEDED = 'not implemented by the Consul plan applier (nothing in this project uses it); implement it in __tests__/support/consul-plan before using it';

/** What the applier understands of each consul_* resource type (and the one data source). */
export const CONSUL_SCHEMAS: Readonly<Record<string, Record<string, Spec>>> = {
  consul_acl_policy: { name: 'string', description: 'string', rules: 'string', datacenters: { list: 'string' }, namespace: { refuse: 'Enterprise only' }, partition: { refuse: 'Enterprise only' } },
  consul_acl_token: {
    description: 'string',
    policies: { list: 'string' },
    local: 'bool',
    node_identities: { block: { node_name: 'string', datacenter: 'string' } },
    service_identities: { block: { service_name: 'string', datacenters: { list: 'string' } } },
    accessor_id: { refuse: NOT_NEEDED },
    roles: { refuse: NOT_NEEDED },
    templated_policies: { refuse: NOT_NEEDED },
    expiration_time: { refuse: NOT_NEEDED },
    namespace: { refuse: 'Enterprise only' },
    partition: { refuse: 'Enterprise only' },
  },
  consul_acl_token_policy_attachment: { token_id: 'string', policy: 'string' },
  consul_node: { name: 'string', address: 'string', datacenter: 'string', meta: { map: 'string' }, token: { refuse: 'a per-resource token: the provider token is used' }, partition: { refuse: 'Enterprise only' } },
  consul_service: {
    name: 'string',
    service_id: 'string',
    node: 'string',
    address: 'string',
    port: 'number',
    datacenter: 'string',
    tags: { list: 'string' },
    meta: { map: 'string' },
    enable_tag_override: 'bool',
    check: {
      block: {
        check_id: 'string',
        name: 'string',
        notes: 'string',
        status: 'string',
        tcp: 'string',
        http: 'string',
        method: 'string',
        interval: 'string',
        timeout: 'string',
        tls_skip_verify: 'bool',
        deregister_critical_service_after: 'string',
        header: { refuse: NOT_NEEDED },
      },
    },
    weights: { refuse: NOT_NEEDED },
    external: { refuse: 'deprecated by the provider' },
    namespace: { refuse: 'Enterprise only' },
    partition: { refuse: 'Enterprise only' },
  },
  'data.consul_acl_token_secret_id': { accessor_id: 'string', pgp_key: { refuse: 'encrypted secrets: the platform reads the secret itself' }, namespace: { refuse: 'Enterprise only' }, partition: { refuse: 'Enterprise only' } },
};

const META = new Set(['count', 'depends_on', '//']);
/** A reference to what this applier produces (or a random_* value given to it). */
const REF_RE = /\b((?:data\.)?(?:consul_[a-z_]+|random_[a-z]+))\.([A-Za-z0-9_-]+)(?:\[(\*|\d+)\])?\.([a-z_]+)\b/g;

function checkBlock(where: string, schema: Record<string, Spec>, value: Values): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PlanApplierError(`${where}: expected a block, got ${JSON.stringify(value)}`);
  for (const [key, v] of Object.entries(value)) {
    const spec = schema[key];
    if (spec === undefined) throw new PlanApplierError(`${where}: attribute "${key}" is not understood by the Consul plan applier (known: ${Object.keys(schema).join(', ')})`);
    if (typeof spec === 'object' && 'refuse' in spec) throw new PlanApplierError(`${where}: attribute "${key}" is refused: ${spec.refuse}`);
    if (typeof spec === 'object' && 'block' in spec) blockList(v).forEach((item, i) => checkBlock(`${where}.${key}[${i}]`, spec.block, item));
  }
}

interface Resource {
  readonly kind: string; // e.g. consul_acl_token or data.consul_acl_token_secret_id
  readonly name: string;
  readonly base: string; // kind.name
  readonly config: Values;
  readonly deps: Set<string>;
}

export interface ConsulPlanApplierOptions {
  /** The plan (cdk.tf.json) or its path. */
  readonly plan: string | Values;
  /** The Consul under test and its management token (instead of the plan's provider block). */
  readonly consul: { readonly url: string; readonly token: string };
  /** Values of the plan's variables. */
  readonly variables?: Record<string, string | number | boolean>;
  /** Values of random_* resources the plan refers to (e.g. `random_uuid.X` → { result }). */
  readonly randoms?: Record<string, Values>;
  /** @default `terraform` on PATH */
  readonly terraformBin?: string;
  /** One line per applied instance. */
  readonly log?: (line: string) => void;
}

export class ConsulPlanApplier {
  readonly plan: Values;
  private readonly values = new Map<string, Values | Values[]>();
  private readonly evaluator: TerraformEvaluator;
  private readonly resources: Resource[];
  /** Addresses applied, in order. */
  readonly applied: string[] = [];

  constructor(private readonly options: ConsulPlanApplierOptions) {
    this.plan = typeof options.plan === 'string' ? JSON.parse(fs.readFileSync(options.plan, 'utf8')) : options.plan;
    this.evaluator = new TerraformEvaluator({ variables: this.plan.variable ?? {}, values: options.variables ?? {}, terraformBin: options.terraformBin });
    for (const [k, v] of Object.entries(options.randoms ?? {})) this.values.set(k, v);
    this.resources = this.read();
  }

  /** Applies every consul_* resource and data source of the plan, in dependency order. */
  async apply(): Promise<void> {
    const done = new Set<string>();
    let left = [...this.resources];
    while (left.length) {
      const ready = left.filter((r) => [...r.deps].every((d) => done.has(d) || this.values.has(d)));
      if (!ready.length) throw new PlanApplierError(`dependency cycle or unknown reference among ${left.map((r) => r.base).join(', ')}`);
      // One wave at a time, its instances one after another (Consul's ACL writes are cheap; order keeps logs readable).
      for (const r of ready) {
        await this.applyResource(r);
        done.add(r.base);
      }
      left = left.filter((r) => !ready.includes(r));
    }
  }

  /** Evaluates plan templates (e.g. a container's upload content) against what was applied; `index` is count.index. */
  async evaluate(templates: ReadonlyArray<{ readonly template: string; readonly index?: number; readonly where?: string }>): Promise<Json[]> {
    return this.evaluator.evaluate(templates.map((t, i) => ({ where: t.where ?? `template ${i}`, template: this.substitute(t.template, t.index) })));
  }

  /** What an applied resource or data source produced (one object, or one per count index). */
  valuesOf(base: string): Values | Values[] | undefined {
    return this.values.get(base);
  }

  /** The base address of the one resource whose construct path ends with `pathSuffix` (e.g. 'Acl/RouterTokenSecret'). */
  addressOf(kind: string, pathSuffix: string): string {
    const hits = this.resources.filter((r) => r.kind === kind && String(r.config['//']?.metadata?.path ?? '').endsWith(pathSuffix));
    if (hits.length !== 1) throw new Error(`expected one ${kind} whose path ends with ${pathSuffix}; found ${hits.map((h) => h.base).join(', ') || 'none'}`);
    return hits[0].base;
  }

  // --- plan reading ----------------------------------------------------------------

  private read(): Resource[] {
    const out: Resource[] = [];
    const add = (kind: string, byName: Record<string, Values>) => {
      for (const [name, config] of Object.entries(byName)) {
        const where = `${kind}.${name}`;
        const schema = CONSUL_SCHEMAS[kind];
        if (!schema) throw new PlanApplierError(`${where}: "${kind}" is not understood by the Consul plan applier (known: ${Object.keys(CONSUL_SCHEMAS).join(', ')})`);
        const attributes: Values = {};
        for (const [k, v] of Object.entries(config)) {
          if (META.has(k)) continue;
          if (['for_each', 'lifecycle', 'provider', 'provisioner', 'connection'].includes(k)) throw new PlanApplierError(`${where}: meta-argument "${k}" is not understood by the Consul plan applier`);
          attributes[k] = v;
        }
        checkBlock(where, schema, attributes);
        const deps = new Set<string>();
        const scan = (v: Json) => {
          if (typeof v === 'string') for (const m of v.matchAll(REF_RE)) deps.add(`${m[1]}.${m[2]}`);
          else if (Array.isArray(v)) v.forEach(scan);
          else if (v && typeof v === 'object') Object.entries(v).forEach(([k, x]) => k !== '//' && scan(x));
        };
        scan(config);
        for (const d of (config.depends_on ?? []) as string[]) deps.add(String(d).replace(/^\$\{|\}$/g, ''));
        for (const d of deps) if (!/^(data\.)?(consul_|random_)/.test(d)) throw new PlanApplierError(`${where}: depends on ${d}, which the Consul plan applier does not produce`);
        out.push({ kind, name, base: where, config, deps });
      }
    };
    for (const [type, byName] of Object.entries((this.plan.resource ?? {}) as Record<string, Record<string, Values>>)) {
      if (type.startsWith('consul_')) add(type, byName);
      else if (!/^(docker_|random_)/.test(type)) throw new PlanApplierError(`resource type "${type}" is neither the Consul plan applier's nor the docker plan applier's`);
    }
    for (const [type, byName] of Object.entries((this.plan.data ?? {}) as Record<string, Record<string, Values>>)) {
      if (type.startsWith('consul_')) add(`data.${type}`, byName);
      else if (type !== 'terraform_remote_state') throw new PlanApplierError(`data source "${type}" is not understood by the Consul plan applier`);
    }
    const known = new Set([...out.map((r) => r.base), ...this.values.keys()]);
    for (const r of out) for (const d of r.deps) if (!known.has(d)) throw new PlanApplierError(`${r.base}: refers to ${d}, which is not in the plan (nor given as a random value)`);
    return out;
  }

  private substitute(template: string, index: number | undefined): string {
    let t = index !== undefined ? template.replace(/\bcount\.index\b/g, String(index)) : template;
    t = t.replace(REF_RE, (whole, kind: string, name: string, sel: string | undefined, attr: string) => {
      const v = this.values.get(`${kind}.${name}`);
      if (v === undefined) throw new PlanApplierError(`${whole}: referenced before it was applied`);
      const pick = (x: Values) => {
        if (!(attr in x)) throw new PlanApplierError(`${whole}: attribute "${attr}" is not known to the Consul plan applier (has: ${Object.keys(x).join(', ')})`);
        return x[attr];
      };
      if (Array.isArray(v)) {
        if (sel === '*') return hclLiteral(v.map(pick));
        if (sel === undefined || v[Number(sel)] === undefined) throw new PlanApplierError(`${whole}: ${kind}.${name} has count ${v.length}; refer to one instance`);
        return hclLiteral(pick(v[Number(sel)]));
      }
      if (sel !== undefined) throw new PlanApplierError(`${whole}: ${kind}.${name} has no count`);
      return hclLiteral(pick(v));
    });
    return t;
  }

  private async evaluateConfig(r: Resource, index: number | undefined): Promise<Values> {
    const requests: { where: string; template: string }[] = [];
    const setters: ((v: Json) => void)[] = [];
    const walk = (v: Json, where: string, set: (x: Json) => void): Json => {
      if (typeof v === 'string' && isTemplate(v)) {
        requests.push({ where, template: this.substitute(v, index) });
        setters.push(set);
        return v;
      }
      if (Array.isArray(v)) {
        const arr = v.slice();
        arr.forEach((x, i) => (arr[i] = walk(x, `${where}[${i}]`, (y) => (arr[i] = y))));
        return arr;
      }
      if (v && typeof v === 'object') {
        const obj: Values = {};
        for (const [k, x] of Object.entries(v)) {
          if (META.has(k)) continue;
          obj[k] = walk(x, `${where}.${k}`, (y) => (obj[k] = y));
        }
        return obj;
      }
      return v;
    };
    const config = walk(r.config, index === undefined ? r.base : `${r.base}[${index}]`, () => undefined) as Values;
    const evaluated = await this.evaluator.evaluate(requests);
    evaluated.forEach((v, i) => setters[i](v));
    return config;
  }

  private async countOf(r: Resource): Promise<number | undefined> {
    let count = r.config.count;
    if (count === undefined) return undefined;
    if (typeof count === 'string' && isTemplate(count)) [count] = await this.evaluator.evaluate([{ where: `${r.base}.count`, template: this.substitute(count, undefined) }]);
    const n = Number(count);
    if (!Number.isInteger(n) || n < 0) throw new PlanApplierError(`${r.base}.count must be a whole number >= 0; got ${JSON.stringify(count)}`);
    return n;
  }

  // --- applying ----------------------------------------------------------------------

  private async applyResource(r: Resource): Promise<void> {
    const count = await this.countOf(r);
    const indexes = count === undefined ? [undefined] : Array.from({ length: count }, (_, i) => i);
    const results: Values[] = [];
    for (const index of indexes) {
      const c = await this.evaluateConfig(r, index);
      const address = index === undefined ? r.base : `${r.base}[${index}]`;
      results.push(await this.applyInstance(r.kind, address, c));
      this.applied.push(address);
      this.options.log?.(`+ ${address}`);
    }
    this.values.set(r.base, count === undefined ? results[0] : results);
  }

  private async api(method: string, path: string, body?: unknown): Promise<Json> {
    const res = await fetch(`${this.options.consul.url}${path}`, {
      method,
      headers: { 'x-consul-token': this.options.consul.token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new PlanApplierError(`Consul ${method} ${path}: HTTP ${res.status} ${text.trim()}`);
    return text ? JSON.parse(text) : undefined;
  }

  private async applyInstance(kind: string, address: string, c: Values): Promise<Values> {
    switch (kind) {
      case 'consul_acl_policy': {
        const p = await this.api('PUT', '/v1/acl/policy', { Name: c.name, Description: c.description ?? '', Rules: c.rules, ...(c.datacenters ? { Datacenters: c.datacenters } : {}) });
        return { ...c, id: p.ID, name: p.Name };
      }
      case 'consul_acl_token': {
        const t = await this.api('PUT', '/v1/acl/token', {
          Description: c.description ?? '',
          Policies: ((c.policies ?? []) as string[]).map((Name) => ({ Name })),
          NodeIdentities: blockList(c.node_identities).map((n) => ({ NodeName: n.node_name, Datacenter: n.datacenter })),
          ServiceIdentities: blockList(c.service_identities).map((s) => ({ ServiceName: s.service_name, ...(s.datacenters ? { Datacenters: s.datacenters } : {}) })),
          Local: c.local === true,
        });
        // The provider's id is the accessor ID; the secret is not an attribute (the data source reads it).
        return { ...c, id: t.AccessorID, accessor_id: t.AccessorID };
      }
      case 'consul_acl_token_policy_attachment': {
        const t = await this.api('GET', `/v1/acl/token/${encodeURIComponent(c.token_id)}`);
        const policies = [...(t.Policies ?? []).map((p: { Name: string }) => ({ Name: p.Name })), { Name: c.policy }];
        await this.api('PUT', `/v1/acl/token/${encodeURIComponent(c.token_id)}`, { AccessorID: t.AccessorID, Description: t.Description, Local: t.Local, Policies: policies, NodeIdentities: t.NodeIdentities ?? [], ServiceIdentities: t.ServiceIdentities ?? [] });
        return { ...c, id: `${c.token_id}:${c.policy}` };
      }
      case 'consul_node': {
        await this.api('PUT', '/v1/catalog/register', { ...(c.datacenter ? { Datacenter: c.datacenter } : {}), Node: c.name, Address: c.address, NodeMeta: c.meta ?? {} });
        return { ...c, id: `${c.name}-${c.address}` };
      }
      case 'consul_service': {
        const node = (await this.api('GET', `/v1/catalog/node/${encodeURIComponent(c.node)}`)) as { Node?: { Address: string } } | null;
        if (!node?.Node) throw new PlanApplierError(`${address}: node ${c.node} is not in the catalogue`);
        const id = c.service_id ?? c.name;
        await this.api('PUT', '/v1/catalog/register', {
          ...(c.datacenter ? { Datacenter: c.datacenter } : {}),
          Node: c.node,
          Address: node.Node.Address,
          SkipNodeUpdate: true,
          Service: { ID: id, Service: c.name, Address: c.address ?? '', Port: c.port ?? 0, Tags: c.tags ?? [], Meta: c.meta ?? {}, EnableTagOverride: c.enable_tag_override === true },
          Checks: blockList(c.check).map((k) => ({
            Node: c.node,
            CheckID: k.check_id,
            Name: k.name,
            Notes: k.notes ?? '',
            Status: k.status ?? 'critical',
            ServiceID: id,
            Definition: {
              ...(k.tcp ? { TCP: k.tcp } : {}),
              ...(k.http ? { HTTP: k.http, Method: k.method ?? 'GET', TLSSkipVerify: k.tls_skip_verify === true } : {}),
              Interval: k.interval,
              Timeout: k.timeout,
              ...(k.deregister_critical_service_after !== undefined ? { DeregisterCriticalServiceAfter: k.deregister_critical_service_after } : {}),
            },
          })),
        });
        return { ...c, id };
      }
      case 'data.consul_acl_token_secret_id': {
        const t = await this.api('GET', `/v1/acl/token/${encodeURIComponent(c.accessor_id)}`);
        return { ...c, id: c.accessor_id, secret_id: t.SecretID };
      }
      default:
        throw new PlanApplierError(`${address}: "${kind}" is not understood by the Consul plan applier`);
    }
  }
}
