/**
 * TEST-ONLY PLAN APPLIER. It stands in for the Terraform docker provider
 * (kreuzwerker/docker 3.6.2, the version the plan pins) in this sandbox only,
 * where Terraform cannot download any provider. Deployments use `cdktf deploy`
 * and the real provider; nothing outside __tests__ may import this module.
 *
 * It reads a synthesized plan (cdk.tf.json) and applies its docker_network,
 * docker_image (local name or build) and docker_container resources — and, for the
 * Swarm target, docker_config and docker_service (the engine must be a swarm
 * manager) — to a Docker engine through the Engine API (dockerode), the way the
 * provider does: same
 * defaults, same order of calls (create, leave the default bridge, join the
 * networks_advanced, upload files, start, wait for "running"), same stop on
 * destroy (destroy_grace_seconds, 0 unless set). Expressions (count, var.*,
 * count.index, functions such as the image trigger's sha1/fileset) are evaluated
 * by the real `terraform` binary (terraform-eval.ts). Whatever it does not
 * understand — an attribute, a block, a meta-argument, a resource type — is
 * refused before the engine is touched (plan-schema.ts).
 *
 * Re-applying converges like `terraform apply`: unchanged objects stay, changed
 * ones are replaced, instances beyond a lowered count and resources gone from the
 * plan are destroyed, a stopped container whose must_run is true is recreated.
 * Its "state" lives on the engine: every object it creates carries the labels
 * below, so destroy() finds everything of a state even after a failed run.
 *
 * It also stands in for hashicorp/random's random_password and random_uuid (the MCP session
 * key, the initial Consul management token): the value is derived from the state ID and the address, so it stays
 * the same across applies of one state, as a value in Terraform state would.
 *
 * A changed docker_service is updated in place, as the provider does (a rolling
 * update by the service's update_config; a new name replaces it); like the
 * provider without converge_config, the apply does not wait for the tasks. A
 * resource with lifecycle { create_before_destroy = true } (the immutable,
 * hash-named docker_config) gets its replacement created first and the old
 * object destroyed after everything else converged.
 *
 * Deliberate differences from the provider: a configuration change always
 * replaces a container (the provider updates a few attributes in place), and an
 * image with a build block is rebuilt on every apply (Docker's layer cache makes
 * an unchanged rebuild a no-op that keeps the image ID; its triggers are still
 * evaluated by Terraform, so they must be valid).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import ignore from '@balena/dockerignore';
import * as tarFs from 'tar-fs';
import * as tarStream from 'tar-stream';
import { BuildLog } from './buildkit-log';
import { blockList, checkPlan, PlanApplierError } from './plan-schema';
import { EvaluationRequest, hclLiteral, isTemplate, REFERENCE_RE, TerraformEvaluator } from './terraform-eval';

export { PlanApplierError } from './plan-schema';

/** The provider version whose behaviour this applier reproduces. */
export const MODELLED_PROVIDER = { source: 'kreuzwerker/docker', version: '3.6.2' } as const;

export const LABEL_STATE = 'org.mcp-router-platform.plan-applier.state';
export const LABEL_ADDRESS = 'org.mcp-router-platform.plan-applier.address';
const LABEL_CONFIG = 'org.mcp-router-platform.plan-applier.config';
const LABEL_GRACE = 'org.mcp-router-platform.plan-applier.destroy-grace-seconds';
const LABEL_REMOVE_VOLUMES = 'org.mcp-router-platform.plan-applier.remove-volumes';
const LABEL_KEEP = 'org.mcp-router-platform.plan-applier.keep-locally';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Values = Record<string, Json>;

export interface PlanApplierOptions {
  /** The cdk.tf.json to apply, re-read by every apply(); Terraform would run in its directory (path.module). */
  readonly planFile: string;
  /** Name of this applier's state; every object it creates is labelled with it. Use a unique one per test. */
  readonly stateId: string;
  /** Engine client. @default the plan's provider host (unix socket), else DOCKER_HOST / the default socket */
  readonly docker?: Docker;
  /** @default `terraform` on PATH */
  readonly terraformBin?: string;
  /** Progress lines (one per resource instance). @default none */
  readonly log?: (line: string) => void;
}

export interface ApplyOptions {
  /** Values of the plan's variables (`-var name=value`). */
  readonly variables?: Record<string, string | number | boolean>;
}

export interface ApplyResult {
  readonly outputs: Record<string, Json>;
  readonly created: string[];
  readonly replaced: string[];
  /** Updated in place (docker_service: a rolling update). */
  readonly updated: string[];
  readonly destroyed: string[];
  readonly unchanged: string[];
  readonly durationMs: number;
}

interface Resource {
  readonly type: string;
  readonly name: string;
  readonly base: string; // type.name
  readonly config: Values;
  readonly deps: Set<string>;
}

interface Owned {
  readonly kind: 'container' | 'service' | 'config' | 'network' | 'image';
  readonly id: string;
  readonly address: string;
  readonly labels: Record<string, string>;
  readonly running?: boolean;
}

const baseOf = (address: string) => address.replace(/\[\d+\]$/, '');
const indexOf = (address: string) => {
  const m = /\[(\d+)\]$/.exec(address);
  return m ? Number(m[1]) : undefined;
};
const hashOf = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);

/** Go duration (as the provider's time.ParseDuration reads it) in nanoseconds. */
export function goDurationNs(where: string, value: unknown): number {
  if (value === undefined) return 0;
  const units: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const s = String(value);
  if (s === '0') return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) throw new PlanApplierError(`${where}: "${s}" is not a duration such as 10s, 1m30s or 500ms`);
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]];
  return Math.round(total);
}

function num(where: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new PlanApplierError(`${where}: expected a number, got ${JSON.stringify(v)}`);
  return n;
}
function bool(v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  return v === true || v === 'true';
}
const labelsOf = (v: unknown) => Object.fromEntries(blockList(v).map((l) => [String(l.label), String(l.value)]));

export class DockerPlanApplier {
  private docker?: Docker;
  private readonly log: (line: string) => void;

  constructor(private readonly options: PlanApplierOptions) {
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(options.stateId)) throw new PlanApplierError(`stateId must be 1-100 letters, digits, ".", "_" or "-"; got ${JSON.stringify(options.stateId)}`);
    this.docker = options.docker;
    this.log = options.log ?? (() => undefined);
  }

  /** Applies the plan file with the given variable values; converges what this state already created. */
  async apply(applyOptions: ApplyOptions = {}): Promise<ApplyResult> {
    const started = Date.now();
    const plan = JSON.parse(fs.readFileSync(this.options.planFile, 'utf8')) as Values;
    const moduleDir = path.dirname(path.resolve(this.options.planFile));
    checkPlan(plan);
    this.checkProviderVersion(plan);
    const docker = this.engine(plan);
    const evaluator = new TerraformEvaluator({ variables: plan.variable ?? {}, values: applyOptions.variables ?? {}, terraformBin: this.options.terraformBin });
    await evaluator.evaluate([]); // the variables' types and validations, before anything changes

    const resources = this.resources(plan);
    const result = { created: [] as string[], replaced: [] as string[], updated: [] as string[], destroyed: [] as string[], unchanged: [] as string[] };
    /** Old objects of create_before_destroy replacements, destroyed once everything converged. */
    const deferred: Owned[] = [];
    const values = new Map<string, Values | Values[]>();
    const owned = await this.owned(docker);
    const subst = (template: string, index: number | undefined) => this.substitute(template, index, moduleDir, values, resources);

    // Resources gone from the plan: containers first (they use networks and images).
    const planned = new Set(resources.map((r) => r.base));
    const gone = owned.filter((o) => !planned.has(baseOf(o.address)));
    for (const kind of DESTROY_ORDER) {
      await Promise.all(gone.filter((o) => o.kind === kind).map(async (o) => {
        await this.destroyOwned(docker, o);
        result.destroyed.push(o.address);
      }));
    }

    for (const wave of this.waves(resources)) {
      await Promise.all(
        wave.map(async (r) => {
          const count = await this.countOf(r, evaluator, subst);
          const indexes = count === undefined ? [undefined] : Array.from({ length: count }, (_, i) => i);
          // Instances this plan no longer has (beyond a lowered count, or indexed/unindexed after
          // count was added/removed) go first, as Terraform plans them. Images are looked up, not owned.
          const planned = (o: Owned) => (count === undefined ? indexOf(o.address) === undefined : (indexOf(o.address) ?? count) < count);
          const extra = owned.filter((o) => o.kind !== 'image' && baseOf(o.address) === r.base && !planned(o));
          await Promise.all(extra.map(async (o) => {
            await this.destroyOwned(docker, o);
            result.destroyed.push(o.address);
          }));
          const configs = await this.evaluateInstances(r, indexes, evaluator, subst);
          const instanceValues = await Promise.all(
            indexes.map(async (index, k) => {
              const address = index === undefined ? r.base : `${r.base}[${index}]`;
              const existing = owned.find((o) => o.address === address);
              const { values: v, action } = await this.converge(docker, r, address, configs[k], existing, moduleDir, deferred);
              result[action].push(address);
              return v;
            }),
          );
          values.set(r.base, count === undefined ? instanceValues[0] : instanceValues);
        }),
      );
    }

    for (const o of deferred) await this.destroyOwned(docker, o);

    const outputs: Record<string, Json> = {};
    const outputEntries = Object.entries((plan.output ?? {}) as Record<string, { value: Json }>);
    const requests: EvaluationRequest[] = [];
    for (const [name, o] of outputEntries) {
      if (typeof o.value === 'string' && isTemplate(o.value)) requests.push({ where: `output.${name}`, template: subst(o.value, undefined) });
    }
    const evaluated = await evaluator.evaluate(requests);
    let k = 0;
    for (const [name, o] of outputEntries) outputs[name] = typeof o.value === 'string' && isTemplate(o.value) ? evaluated[k++] : o.value;
    return { outputs, ...result, durationMs: Date.now() - started };
  }

  /** Destroys everything labelled with this state (containers, then networks, then images not kept locally). */
  async destroy(): Promise<string[]> {
    const docker = this.docker ?? new Docker();
    const owned = await this.owned(docker);
    const done: string[] = [];
    for (const kind of DESTROY_ORDER) {
      await Promise.all(owned.filter((o) => o.kind === kind).map(async (o) => {
        await this.destroyOwned(docker, o);
        done.push(o.address);
      }));
    }
    return done;
  }

  // --- plan reading --------------------------------------------------------------

  private checkProviderVersion(plan: Values): void {
    const req = plan.terraform?.required_providers?.docker;
    if (req && (req.source !== MODELLED_PROVIDER.source || req.version !== MODELLED_PROVIDER.version)) {
      throw new PlanApplierError(
        `terraform.required_providers.docker is ${req.source} ${req.version}; the plan applier reproduces ${MODELLED_PROVIDER.source} ${MODELLED_PROVIDER.version} ` +
          '(check its defaults and behaviour in the new version, then update MODELLED_PROVIDER)',
      );
    }
  }

  private engine(plan: Values): Docker {
    if (this.docker) return this.docker;
    const host = blockList(plan.provider?.docker)[0]?.host as string | undefined;
    const value = host ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    if (!value.startsWith('unix://')) throw new PlanApplierError(`provider.docker.host "${value}": the plan applier connects to unix:// sockets only`);
    this.docker = new Docker({ socketPath: value.slice('unix://'.length) });
    return this.docker;
  }

  private resources(plan: Values): Resource[] {
    const out: Resource[] = [];
    for (const [type, byName] of Object.entries((plan.resource ?? {}) as Record<string, Record<string, Values>>)) {
      for (const [name, config] of Object.entries(byName)) {
        const deps = new Set<string>();
        const scan = (v: Json) => {
          if (typeof v === 'string') for (const m of v.matchAll(REFERENCE_RE)) deps.add(`${m[1]}.${m[2]}`);
          else if (Array.isArray(v)) v.forEach(scan);
          else if (v && typeof v === 'object') Object.entries(v).forEach(([key, x]) => key !== '//' && scan(x));
        };
        scan(config);
        // depends_on holds references, bare or (as cdktf writes them) wrapped in ${ }.
        for (const d of (config.depends_on ?? []) as string[]) {
          const m = /^(?:\$\{)?(docker_[a-z_]+\.[A-Za-z0-9_-]+)\}?$/.exec(d);
          if (!m || (d.startsWith('${') !== d.endsWith('}'))) throw new PlanApplierError(`${type}.${name}.depends_on: "${d}" is not a docker_* resource reference`);
          deps.add(m[1]);
        }
        out.push({ type, name, base: `${type}.${name}`, config, deps });
      }
    }
    const known = new Set(out.map((r) => r.base));
    for (const r of out) {
      for (const d of r.deps) if (!known.has(d)) throw new PlanApplierError(`${r.base}: refers to ${d}, which is not in the plan`);
    }
    return out;
  }

  /** Resources in dependency order; the members of a wave are independent (applied in parallel, as Terraform does). */
  private waves(resources: Resource[]): Resource[][] {
    const done = new Set<string>();
    const waves: Resource[][] = [];
    let left = [...resources];
    while (left.length) {
      const ready = left.filter((r) => [...r.deps].every((d) => done.has(d) || d === r.base));
      if (!ready.length) throw new PlanApplierError(`dependency cycle among ${left.map((r) => r.base).join(', ')}`);
      waves.push(ready);
      for (const r of ready) done.add(r.base);
      left = left.filter((r) => !ready.includes(r));
    }
    return waves;
  }

  private async countOf(r: Resource, evaluator: TerraformEvaluator, subst: (t: string, i?: number) => string): Promise<number | undefined> {
    let count = r.config.count;
    if (count === undefined) return undefined;
    if (typeof count === 'string' && isTemplate(count)) [count] = await evaluator.evaluate([{ where: `${r.base}.count`, template: subst(count, undefined) }]);
    const n = num(`${r.base}.count`, count)!;
    if (!Number.isInteger(n) || n < 0) throw new PlanApplierError(`${r.base}.count must be a whole number >= 0; got ${JSON.stringify(count)}`);
    return n;
  }

  /** Every instance's configuration with its templates evaluated (one Terraform run per resource). */
  private async evaluateInstances(r: Resource, indexes: (number | undefined)[], evaluator: TerraformEvaluator, subst: (t: string, i?: number) => string): Promise<Values[]> {
    const requests: EvaluationRequest[] = [];
    const setters: ((v: Json) => void)[] = [];
    const configs = indexes.map((index) => {
      const prefix = index === undefined ? r.base : `${r.base}[${index}]`;
      const walk = (v: Json, where: string, set: (x: Json) => void): Json => {
        if (typeof v === 'string' && isTemplate(v)) {
          requests.push({ where, template: subst(v, index) });
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
          for (const [key, x] of Object.entries(v)) {
            if (key === '//' || key === 'count' || key === 'depends_on') continue;
            obj[key] = walk(x, `${where}.${key}`, (y) => (obj[key] = y));
          }
          return obj;
        }
        return v;
      };
      return walk(r.config, prefix, () => undefined) as Values;
    });
    const evaluated = await evaluator.evaluate(requests);
    evaluated.forEach((v, i) => setters[i](v));
    return configs;
  }

  /** Replaces references Terraform cannot see in the scratch config by literals. */
  private substitute(template: string, index: number | undefined, moduleDir: string, values: Map<string, Values | Values[]>, resources: Resource[]): string {
    let out = template.replace(REFERENCE_RE, (whole, type: string, name: string, sel: string | undefined, attr: string) => {
      const base = `${type}.${name}`;
      const v = values.get(base);
      if (v === undefined) {
        const exists = resources.some((r) => r.base === base);
        throw new PlanApplierError(`${whole}: ${exists ? 'referenced before it was applied (a missing dependency?)' : 'no such resource in the plan'}`);
      }
      const pick = (inst: Values) => {
        if (!(attr in inst)) throw new PlanApplierError(`${whole}: attribute "${attr}" is not known to the plan applier (has: ${Object.keys(inst).join(', ')})`);
        return inst[attr];
      };
      if (Array.isArray(v)) {
        if (sel === '*') return hclLiteral(v.map(pick));
        if (sel === undefined) throw new PlanApplierError(`${whole}: ${base} has count; refer to one instance ([i]) or all ([*])`);
        if (v[Number(sel)] === undefined) throw new PlanApplierError(`${whole}: index ${sel} is beyond the count (${v.length})`);
        return hclLiteral(pick(v[Number(sel)]));
      }
      if (sel !== undefined) throw new PlanApplierError(`${whole}: ${base} has no count`);
      return hclLiteral(pick(v));
    });
    if (index !== undefined) out = out.replace(/\bcount\.index\b/g, String(index));
    out = out.replace(/\bpath\.(module|root)\b/g, hclLiteral(moduleDir));
    return out;
  }

  // --- engine state ------------------------------------------------------------------

  private async owned(docker: Docker): Promise<Owned[]> {
    const filters = { label: [`${LABEL_STATE}=${this.options.stateId}`] };
    const [containers, networks, images] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters }), docker.listImages({ filters })]);
    // Services and configs exist on a swarm manager only.
    const swarm = (await docker.info()).Swarm?.ControlAvailable === true;
    const [services, swarmConfigs] = swarm ? await Promise.all([docker.listServices({ filters }), docker.listConfigs({ filters })]) : [[], []];
    // A container inherits its image's labels: the task containers of a service running an image
    // this state built carry the image's state label. They belong to their service, not to the state.
    const own = containers.filter((c) => c.Labels['com.docker.swarm.service.id'] === undefined && c.Labels[LABEL_CONFIG] !== undefined);
    return [
      ...services.map((v) => ({ kind: 'service' as const, id: v.ID!, address: v.Spec?.Labels?.[LABEL_ADDRESS] ?? '', labels: v.Spec?.Labels ?? {} })),
      ...swarmConfigs.map((c) => ({ kind: 'config' as const, id: c.ID, address: c.Spec?.Labels?.[LABEL_ADDRESS] ?? '', labels: c.Spec?.Labels ?? {} })),
      ...own.map((c) => ({ kind: 'container' as const, id: c.Id, address: c.Labels[LABEL_ADDRESS], labels: c.Labels, running: c.State === 'running' })),
      ...networks.map((n) => ({ kind: 'network' as const, id: n.Id, address: n.Labels?.[LABEL_ADDRESS] ?? '', labels: n.Labels ?? {} })),
      ...images.map((i) => ({ kind: 'image' as const, id: i.Id, address: i.Labels?.[LABEL_ADDRESS] ?? '', labels: i.Labels ?? {} })),
    ];
  }

  private async destroyOwned(docker: Docker, o: Owned): Promise<void> {
    const t0 = Date.now();
    if (o.kind === 'container') await this.removeContainer(docker, o.id, Number(o.labels[LABEL_GRACE] ?? 0), o.labels[LABEL_REMOVE_VOLUMES] !== 'false');
    else if (o.kind === 'service') await this.removeService(docker, o.id);
    else if (o.kind === 'config') await docker.getConfig(o.id).remove().catch(ignore404);
    else if (o.kind === 'network') await this.removeNetwork(docker, o.id);
    else if (o.labels[LABEL_KEEP] === 'false') await docker.getImage(o.id).remove({ force: false }).catch(ignore404);
    this.log(`- ${o.address} (${Date.now() - t0} ms)`);
  }

  /**
   * Removes a service, then waits (bounded) until its task containers are gone: a task stops
   * within its stop_grace_period, and the service's network cannot be removed before.
   */
  private async removeService(docker: Docker, id: string): Promise<void> {
    await docker.getService(id).remove().catch(ignore404);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const left = await docker.listContainers({ all: true, filters: { label: [`com.docker.swarm.service.id=${id}`] } });
      if (left.length === 0) return;
      if (Date.now() > deadline) throw new PlanApplierError(`service ${id}: ${left.length} task container(s) still there 120 s after the service was removed`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Removes a network, retrying for a while when the engine still counts an endpoint of a container just removed. */
  private async removeNetwork(docker: Docker, id: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await docker.getNetwork(id).remove();
        return;
      } catch (err) {
        const e = err as { statusCode?: number };
        if (e.statusCode === 404) return;
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** The provider's delete: stop with destroy_grace_seconds (0: SIGKILL right after the stop signal), remove, wait. */
  private async removeContainer(docker: Docker, id: string, graceSeconds: number, removeVolumes: boolean): Promise<void> {
    const c = docker.getContainer(id);
    await c.stop({ t: graceSeconds }).catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 304 && err.statusCode !== 404) throw err;
    });
    await c.remove({ v: removeVolumes, force: true }).catch(ignore404);
    await c.wait({ condition: 'not-running' }).catch(ignore404);
  }

  // --- converge one instance -------------------------------------------------------------

  private async converge(
    docker: Docker,
    r: Resource,
    address: string,
    config: Values,
    existing: Owned | undefined,
    moduleDir: string,
    deferred: Owned[],
  ): Promise<{ values: Values; action: 'created' | 'replaced' | 'updated' | 'unchanged' }> {
    const t0 = Date.now();
    if (r.type === 'random_password') {
      // Stands in for hashicorp/random: a value derived from this state's ID and the address, so it
      // is the same at every apply of this state (as a value in Terraform state would be) and
      // different for every test. Letters and digits only, as `special: false` asks.
      const length = Number(config.length ?? 16);
      if (config.special !== false) throw new PlanApplierError(`${address}: only special = false is modelled by the plan applier`);
      let result = '';
      for (let i = 0; result.length < length; i++) result += createHash('sha256').update(`${this.options.stateId}\u0000${address}\u0000${i}`).digest('base64').replace(/[^A-Za-z0-9]/g, '');
      return { values: { result: result.slice(0, length), id: 'none' }, action: 'unchanged' };
    }
    if (r.type === 'random_uuid') {
      // Stands in for hashicorp/random's random_uuid, as for random_password: derived from this
      // state's ID and the address (stable across applies of one state), in UUID form.
      const h = createHash('sha256').update(`${this.options.stateId}\u0000${address}`).digest('hex');
      const result = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
      return { values: { result, id: result }, action: 'unchanged' };
    }
    if (r.type === 'docker_image') {
      // A build is created (first build of this state), replaced (a new image ID) or unchanged; an image
      // named only is looked up on the engine and always counts as unchanged.
      const before = (await docker.listImages({ filters: { label: [`${LABEL_STATE}=${this.options.stateId}`, `${LABEL_ADDRESS}=${address}`] } })).map((i) => i.Id);
      const values = await this.applyImage(docker, address, config, moduleDir);
      const built = blockList(config.build).length > 0;
      const action = !built || before.includes(values.image_id) ? 'unchanged' : before.length ? 'replaced' : 'created';
      this.log(`${action === 'unchanged' ? '=' : action === 'created' ? '+' : '-/+'} ${address} ${values.image_id} (${Date.now() - t0} ms)`);
      return { values, action };
    }
    const hash = hashOf(config);
    const same = existing && existing.labels[LABEL_CONFIG] === hash;
    if (r.type === 'docker_config') {
      if (same) return { values: { ...config, id: existing.id }, action: 'unchanged' };
      // Immutable: a change is a new config; with create_before_destroy the old one goes last.
      if (existing && r.config.lifecycle?.create_before_destroy) deferred.push(existing);
      else if (existing) await this.destroyOwned(docker, existing);
      const created = await docker.createConfig({ Name: String(config.name), Data: String(config.data), Labels: this.stateLabels(address, hash) } as never);
      this.log(`${existing ? '-/+' : '+'} ${address} (${Date.now() - t0} ms)`);
      return { values: { ...config, id: (created as { id: string }).id }, action: existing ? 'replaced' : 'created' };
    }
    if (r.type === 'docker_service') {
      if (same) return { values: { ...config, id: existing.id }, action: 'unchanged' };
      const spec = serviceSpec(address, config, this.stateLabels(address, hash));
      if (existing) {
        const current = await docker.getService(existing.id).inspect();
        if (current.Spec?.Name === spec.Name) {
          // In place, as the provider does: Swarm rolls the tasks by update_config.
          await docker.getService(existing.id).update({ ...spec, version: current.Version.Index } as never);
          this.log(`~ ${address} (${Date.now() - t0} ms)`);
          return { values: { ...config, id: existing.id }, action: 'updated' };
        }
        await this.destroyOwned(docker, existing); // a new name: replaced
      }
      const created = (await docker.createService(spec as never)) as unknown as { id?: string; ID?: string };
      this.log(`${existing ? '-/+' : '+'} ${address} (${Date.now() - t0} ms)`);
      return { values: { ...config, id: created.id ?? created.ID }, action: existing ? 'replaced' : 'created' };
    }
    if (r.type === 'docker_network') {
      if (same) return { values: await this.networkValues(docker, existing.id, config), action: 'unchanged' };
      if (existing) await this.destroyOwned(docker, existing);
      const values = await this.createNetwork(docker, address, config, hash);
      this.log(`${existing ? '-/+' : '+'} ${address} (${Date.now() - t0} ms)`);
      return { values, action: existing ? 'replaced' : 'created' };
    }
    // docker_container: a stopped container whose must_run is true is gone for the provider (its read deletes it).
    const mustRun = bool(config.must_run, true);
    if (same && (existing.running || !mustRun)) return { values: await this.containerValues(docker, existing.id, config), action: 'unchanged' };
    if (existing) await this.destroyOwned(docker, existing);
    const values = await this.createContainer(docker, address, config, hash, moduleDir);
    this.log(`${existing ? '-/+' : '+'} ${address} (${Date.now() - t0} ms)`);
    return { values, action: existing ? 'replaced' : 'created' };
  }

  private stateLabels(address: string, hash: string, extra: Record<string, string> = {}): Record<string, string> {
    return { [LABEL_STATE]: this.options.stateId, [LABEL_ADDRESS]: address, [LABEL_CONFIG]: hash, ...extra };
  }

  // --- docker_network ---------------------------------------------------------------------

  private async createNetwork(docker: Docker, address: string, c: Values, hash: string): Promise<Values> {
    const ipam = blockList(c.ipam_config);
    const net = await docker.createNetwork({
      Name: String(c.name),
      Driver: c.driver ?? 'bridge',
      Internal: bool(c.internal, false),
      Attachable: bool(c.attachable, false),
      Ingress: bool(c.ingress, false),
      EnableIPv6: bool(c.ipv6, false),
      Options: c.options ?? {},
      Labels: { ...labelsOf(c.labels), ...this.stateLabels(address, hash) },
      IPAM: {
        Driver: c.ipam_driver ?? 'default',
        Options: c.ipam_options ?? {},
        Config: ipam.map((p) => ({ Subnet: p.subnet, IPRange: p.ip_range, Gateway: p.gateway, AuxiliaryAddresses: p.aux_address })),
      },
    } as Docker.NetworkCreateOptions);
    return this.networkValues(docker, net.id, c);
  }

  private async networkValues(docker: Docker, id: string, c: Values): Promise<Values> {
    const info = await docker.getNetwork(id).inspect();
    return { ...c, id: info.Id, name: info.Name, driver: info.Driver, scope: info.Scope };
  }

  // --- docker_image ---------------------------------------------------------------------

  private async applyImage(docker: Docker, address: string, c: Values, moduleDir: string): Promise<Values> {
    const name = String(c.name);
    const build = blockList(c.build)[0];
    if (build) {
      const context = path.resolve(moduleDir, String(build.context));
      if (!fs.existsSync(context)) throw new PlanApplierError(`${address}.build.context: ${context} does not exist`);
      const dockerfile = String(build.dockerfile ?? 'Dockerfile');
      // Docker's own rules: .dockerignore patterns, relative to the context; the Dockerfile is always sent.
      const dockerignore = path.join(context, '.dockerignore');
      const ig = ignore().add(fs.existsSync(dockerignore) ? fs.readFileSync(dockerignore, 'utf8') : '');
      const pack = tarFs.pack(context, {
        ignore: (file: string) => {
          const rel = path.relative(context, file).split(path.sep).join('/');
          return rel !== '' && rel !== dockerfile && rel !== '.dockerignore' && ig.ignores(rel);
        },
      });
      const stream = await docker.buildImage(pack as unknown as NodeJS.ReadableStream, {
        t: [name, ...((build.tag ?? []) as string[])] as unknown as string,
        dockerfile,
        buildargs: build.build_args ?? {},
        labels: { ...(build.label ?? {}), [LABEL_STATE]: this.options.stateId, [LABEL_ADDRESS]: address, [LABEL_KEEP]: String(bool(c.keep_locally, false)) },
        nocache: bool(build.no_cache, false),
        rm: bool(build.remove, true),
        forcerm: bool(build.force_remove, false),
        pull: bool(build.pull_parent, false),
        ...(build.target ? { target: build.target } : {}),
        ...(build.network_mode ? { networkmode: build.network_mode } : {}),
        ...(build.extra_hosts?.length ? { extrahosts: (build.extra_hosts as string[]).join(',') } : {}),
        // The provider builds with BuildKit when the engine's API is 1.39 or newer.
        version: '2',
      } as unknown as Docker.ImageBuildOptions);
      const log = new BuildLog();
      let failed: string | undefined;
      await new Promise<void>((resolve, reject) =>
        docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve()), (e: Values) => {
          log.add(e);
          if (e.error || e.errorDetail) failed = e.errorDetail?.message ?? e.error;
        }),
      );
      if (failed) throw new PlanApplierError(`${address}: image build failed: ${failed}\n${log.tail()}`);
    }
    let info: Docker.ImageInspectInfo;
    try {
      info = await docker.getImage(name).inspect();
    } catch {
      throw new PlanApplierError(`${address}: image ${name} is not on the engine and the plan applier does not pull (no registry is reachable here); run scripts/provision-docker-engine.sh`);
    }
    return { ...c, image_id: info.Id, id: `${info.Id}${name}`, repo_digest: info.RepoDigests?.[0] ?? '' };
  }

  // --- docker_container -------------------------------------------------------------------

  private async createContainer(docker: Docker, address: string, c: Values, hash: string, moduleDir: string): Promise<Values> {
    const where = address;
    const ports = blockList(c.ports);
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of ports) {
      const key = `${num(`${where}.ports.internal`, p.internal)}/${p.protocol ?? 'tcp'}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: p.ip ?? '0.0.0.0', HostPort: p.external === undefined ? '' : String(num(`${where}.ports.external`, p.external)) });
    }
    const volumes: Record<string, object> = {};
    const binds: string[] = [];
    const volumesFrom: string[] = [];
    for (const [i, v] of blockList(c.volumes).entries()) {
      const source = v.volume_name || v.host_path;
      if (v.from_container && v.container_path) throw new PlanApplierError(`${where}.volumes[${i}]: both a container and a path`);
      if (v.from_container) volumesFrom.push(String(v.from_container));
      else if (!v.container_path) throw new PlanApplierError(`${where}.volumes[${i}]: no container_path`);
      else {
        volumes[String(v.container_path)] = {};
        if (source) binds.push(`${source}:${v.container_path}:${bool(v.read_only, false) ? 'ro' : 'rw'}`);
      }
    }
    const mounts = blockList(c.mounts).map((m) => {
      const bindOptions = blockList(m.bind_options)[0];
      const tmpfs = blockList(m.tmpfs_options)[0];
      const vol = blockList(m.volume_options)[0];
      return {
        Type: m.type,
        Target: m.target,
        Source: m.source,
        ReadOnly: bool(m.read_only, false),
        ...(m.type === 'bind' && bindOptions ? { BindOptions: { Propagation: bindOptions.propagation } } : {}),
        ...(m.type === 'tmpfs' && tmpfs ? { TmpfsOptions: { SizeBytes: tmpfs.size_bytes, Mode: tmpfs.mode } } : {}),
        ...(m.type === 'volume' && vol
          ? { VolumeOptions: { NoCopy: bool(vol.no_copy, false), Labels: labelsOf(vol.labels), ...(vol.driver_name || vol.driver_options ? { DriverConfig: { Name: vol.driver_name, Options: vol.driver_options } } : {}) } }
          : {}),
      };
    });
    const hc = blockList(c.healthcheck)[0];
    const caps = blockList(c.capabilities)[0];
    const mb = (k: string) => (c[k] === undefined ? undefined : num(`${where}.${k}`, c[k])! * 1024 * 1024);
    const swap = num(`${where}.memory_swap`, c.memory_swap);
    const graceSeconds = num(`${where}.destroy_grace_seconds`, c.destroy_grace_seconds) ?? 0;
    const removeVolumes = bool(c.remove_volumes, true);

    const create: Docker.ContainerCreateOptions = {
      name: String(c.name),
      Image: String(c.image),
      Hostname: c.hostname ?? '',
      Domainname: c.domainname ?? '',
      Tty: bool(c.tty, false),
      OpenStdin: bool(c.stdin_open, false),
      StopSignal: c.stop_signal ?? '',
      ...(c.stop_timeout !== undefined ? { StopTimeout: num(`${where}.stop_timeout`, c.stop_timeout) } : {}),
      ...(c.env ? { Env: c.env } : {}),
      ...(c.command ? { Cmd: c.command } : {}),
      ...(c.entrypoint ? { Entrypoint: c.entrypoint } : {}),
      ...(c.user ? { User: c.user } : {}),
      ...(c.working_dir ? { WorkingDir: c.working_dir } : {}),
      ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
      ...(Object.keys(volumes).length ? { Volumes: volumes } : {}),
      Labels: {
        ...labelsOf(c.labels),
        ...this.stateLabels(address, hash, { [LABEL_GRACE]: String(graceSeconds), [LABEL_REMOVE_VOLUMES]: String(removeVolumes) }),
      },
      ...(hc
        ? {
            Healthcheck: {
              Test: hc.test,
              Interval: goDurationNs(`${where}.healthcheck.interval`, hc.interval),
              Timeout: goDurationNs(`${where}.healthcheck.timeout`, hc.timeout),
              StartPeriod: goDurationNs(`${where}.healthcheck.start_period`, hc.start_period),
              Retries: num(`${where}.healthcheck.retries`, hc.retries) ?? 0,
              // start_interval needs API 1.44; the provider sends it and a 1.41 engine ignores it.
            },
          }
        : {}),
      HostConfig: {
        Privileged: bool(c.privileged, false),
        PublishAllPorts: bool(c.publish_all_ports, false),
        RestartPolicy: { Name: c.restart ?? 'no', MaximumRetryCount: num(`${where}.max_retry_count`, c.max_retry_count) ?? 0 },
        ...(c.runtime ? { Runtime: c.runtime } : {}),
        Mounts: mounts as Docker.MountSettings[],
        AutoRemove: bool(c.rm, false),
        ReadonlyRootfs: bool(c.read_only, false),
        LogConfig: { Type: c.log_driver ?? 'json-file', Config: c.log_opts ?? {} },
        ...(c.tmpfs ? { Tmpfs: c.tmpfs } : {}),
        ...(Object.keys(bindings).length ? { PortBindings: bindings } : {}),
        ...(c.host ? { ExtraHosts: blockList(c.host).map((h) => `${h.host}:${h.ip}`) } : {}),
        ...(binds.length ? { Binds: binds } : {}),
        ...(volumesFrom.length ? { VolumesFrom: volumesFrom } : {}),
        ...(c.ulimit ? { Ulimits: blockList(c.ulimit).map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })) } : {}),
        ...(caps ? { CapAdd: caps.add ?? [], CapDrop: caps.drop ?? [] } : {}),
        ...(c.dns ? { Dns: c.dns } : {}),
        ...(c.dns_opts ? { DnsOptions: c.dns_opts } : {}),
        ...(c.dns_search ? { DnsSearch: c.dns_search } : {}),
        ...(c.security_opts ? { SecurityOpt: c.security_opts } : {}),
        ...(c.memory !== undefined ? { Memory: mb('memory') } : {}),
        ...(swap !== undefined ? { MemorySwap: swap > 0 ? swap * 1024 * 1024 : swap } : {}),
        ...(c.shm_size !== undefined ? { ShmSize: mb('shm_size') } : {}),
        ...(c.cpu_period !== undefined ? { CpuPeriod: num(`${where}.cpu_period`, c.cpu_period) } : {}),
        ...(c.cpu_quota !== undefined ? { CpuQuota: num(`${where}.cpu_quota`, c.cpu_quota) } : {}),
        ...(c.cpu_shares !== undefined ? { CpuShares: num(`${where}.cpu_shares`, c.cpu_shares) } : {}),
        ...(c.cpu_set ? { CpusetCpus: c.cpu_set } : {}),
        ...(c.network_mode ? { NetworkMode: c.network_mode } : {}),
        ...(c.userns_mode ? { UsernsMode: c.userns_mode } : {}),
        ...(c.pid_mode ? { PidMode: c.pid_mode } : {}),
        ...(c.sysctls ? { Sysctls: c.sysctls } : {}),
        ...(c.ipc_mode ? { IpcMode: c.ipc_mode } : {}),
        ...(c.group_add ? { GroupAdd: c.group_add } : {}),
        Init: bool(c.init, false),
      },
    };
    const container = await docker.createContainer(create);
    const created = Date.now();
    try {
      // As the provider: leave the default bridge, then join each networks_advanced entry.
      const networks = blockList(c.networks_advanced);
      if (networks.length) {
        await docker.getNetwork('bridge').disconnect({ Container: container.id, Force: false }).catch((err: { message?: string }) => {
          if (!/is not connected to the network bridge/.test(String(err.message))) throw err;
        });
        for (const n of networks) {
          await docker.getNetwork(String(n.name)).connect({
            Container: container.id,
            EndpointConfig: { Aliases: n.aliases ?? [], IPAMConfig: { IPv4Address: n.ipv4_address ?? '', IPv6Address: n.ipv6_address ?? '' } },
          });
        }
      }
      for (const [i, u] of blockList(c.upload).entries()) await container.putArchive(await this.uploadTar(`${where}.upload[${i}]`, u, moduleDir), { path: '/' });
      if (bool(c.start, true)) {
        await container.start();
        await this.waitRunning(container, where, created, num(`${where}.container_read_refresh_timeout_milliseconds`, c.container_read_refresh_timeout_milliseconds) ?? 15_000, bool(c.must_run, true));
        if (bool(c.wait, false)) await this.waitHealthy(container, where, (num(`${where}.wait_timeout`, c.wait_timeout) ?? 60) * 1000);
      }
    } catch (err) {
      await this.removeContainer(docker, container.id, 0, true).catch(() => undefined);
      throw err;
    }
    return this.containerValues(docker, container.id, c);
  }

  private async uploadTar(where: string, u: Values, moduleDir: string): Promise<Buffer> {
    const given = ['content', 'content_base64', 'source'].filter((k) => u[k] !== undefined && u[k] !== '');
    if (given.length !== 1) throw new PlanApplierError(`${where}: exactly one of content, content_base64 or source must be set; got ${given.join(', ') || 'none'}`);
    const body =
      u.content !== undefined && u.content !== ''
        ? Buffer.from(String(u.content), 'utf8')
        : u.content_base64
          ? Buffer.from(String(u.content_base64), 'base64')
          : fs.readFileSync(path.resolve(moduleDir, String(u.source)));
    let mode = bool(u.executable, false) ? 0o744 : 0o644;
    if (u.permissions) {
      if (!/^0[0-7]{3}$/.test(String(u.permissions))) throw new PlanApplierError(`${where}.permissions: "${u.permissions}" is not like 0644`);
      mode = parseInt(String(u.permissions), 8);
    }
    // One-file tar extracted at "/", exactly as the provider builds it.
    const pack = tarStream.pack();
    const chunks: Buffer[] = [];
    const done = new Promise<Buffer>((resolve, reject) => {
      pack.on('data', (d: unknown) => chunks.push(d as Buffer));
      pack.on('end', () => resolve(Buffer.concat(chunks)));
      pack.on('error', reject);
    });
    pack.entry({ name: String(u.file), mode, size: body.length, mtime: new Date() }, body);
    pack.finalize();
    return done;
  }

  /** The provider's read after create: running within the timeout, or the container is deleted and the apply fails. */
  private async waitRunning(container: Docker.Container, where: string, createdAt: number, timeoutMs: number, mustRun: boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await container.inspect();
      if (info.State.Running || !mustRun) return;
      const finished = Date.parse(info.State.FinishedAt);
      if ((Number.isFinite(finished) && finished > createdAt) || Date.now() > deadline) {
        const logs = (await container.logs({ stdout: true, stderr: true, tail: 30 })).toString('utf8');
        throw new PlanApplierError(`${where}: container ${Date.now() > deadline ? 'not running in time' : `exited immediately (code ${info.State.ExitCode})`}; last output:\n${logs}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async waitHealthy(container: Docker.Container, where: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await container.inspect();
      if (!info.State.Health) throw new PlanApplierError(`${where}: wait is true but the container has no healthcheck`);
      if (info.State.Health.Status === 'healthy') return;
      if (Date.now() > deadline) throw new PlanApplierError(`${where}: container not healthy within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private async containerValues(docker: Docker, id: string, c: Values): Promise<Values> {
    const info = await docker.getContainer(id).inspect();
    const networkData = Object.entries(info.NetworkSettings.Networks ?? {}).map(([name, n]) => ({
      network_name: name,
      ip_address: n.IPAddress,
      ip_prefix_length: n.IPPrefixLen,
      gateway: n.Gateway,
      mac_address: n.MacAddress,
    }));
    return { ...c, id: info.Id, name: info.Name.replace(/^\//, ''), network_data: networkData, exit_code: info.State.ExitCode };
  }
}

/** Objects in the order they are destroyed: what uses a network or an image goes first. */
const DESTROY_ORDER = ['container', 'service', 'config', 'network', 'image'] as const;

/**
 * The Engine API ServiceSpec for a docker_service block, as the provider builds it. Durations are
 * Go durations (nanoseconds in the API); fields the plan leaves unset get the engine's defaults.
 */
export function serviceSpec(where: string, c: Values, stateLabels: Record<string, string>): Values {
  const task = blockList(c.task_spec)[0] ?? {};
  const cs = blockList(task.container_spec)[0];
  if (!cs) throw new PlanApplierError(`${where}.task_spec.container_spec: required`);
  const ns = (path: string, v: unknown) => (v === undefined ? undefined : goDurationNs(`${where}.${path}`, v));
  const hc = blockList(cs.healthcheck)[0];
  const mode = blockList(c.mode)[0];
  const replicated = blockList(mode?.replicated)[0];
  const restart = blockList(task.restart_policy)[0];
  const resources = blockList(task.resources)[0];
  const limits = blockList(resources?.limits)[0];
  const reservation = blockList(resources?.reservation)[0];
  const placement = blockList(task.placement)[0];
  const log = blockList(task.log_driver)[0];
  const endpoint = blockList(c.endpoint_spec)[0];
  const dns = blockList(cs.dns_config)[0];
  const update = (u: Values | undefined, path: string) =>
    u && {
      Parallelism: num(`${where}.${path}.parallelism`, u.parallelism) ?? 1,
      Delay: ns(`${path}.delay`, u.delay) ?? 0,
      FailureAction: u.failure_action ?? 'pause',
      Monitor: ns(`${path}.monitor`, u.monitor) ?? 5e9,
      MaxFailureRatio: num(`${where}.${path}.max_failure_ratio`, u.max_failure_ratio) ?? 0,
      Order: u.order ?? 'stop-first',
    };
  const prune = (o: Values) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return prune({
    Name: String(c.name),
    Labels: { ...labelsOf(c.labels), ...stateLabels },
    TaskTemplate: prune({
      ContainerSpec: prune({
        Image: String(cs.image),
        Hostname: cs.hostname,
        Env: cs.env ? Object.entries(cs.env as Record<string, string>).map(([k, v]) => `${k}=${v}`) : undefined,
        Command: cs.command,
        Args: cs.args,
        Dir: cs.dir,
        User: cs.user,
        Groups: cs.groups,
        Labels: cs.labels ? labelsOf(cs.labels) : undefined,
        StopSignal: cs.stop_signal,
        StopGracePeriod: ns('task_spec.container_spec.stop_grace_period', cs.stop_grace_period),
        ReadOnly: cs.read_only === undefined ? undefined : bool(cs.read_only, false),
        CapabilityAdd: cs.cap_add,
        CapabilityDrop: cs.cap_drop,
        Sysctls: cs.sysctl,
        Healthcheck: hc && {
          Test: hc.test,
          Interval: ns('healthcheck.interval', hc.interval) ?? 0,
          Timeout: ns('healthcheck.timeout', hc.timeout) ?? 0,
          StartPeriod: ns('healthcheck.start_period', hc.start_period) ?? 0,
          Retries: num(`${where}.healthcheck.retries`, hc.retries) ?? 0,
        },
        Configs: cs.configs
          ? blockList(cs.configs).map((f) => ({
              ConfigID: f.config_id,
              ConfigName: f.config_name,
              File: { Name: f.file_name, UID: f.file_uid ?? '0', GID: f.file_gid ?? '0', Mode: num(`${where}.configs.file_mode`, f.file_mode) ?? 0o444 },
            }))
          : undefined,
        Mounts: cs.mounts
          ? blockList(cs.mounts).map((m) => {
              const b = blockList(m.bind_options)[0];
              const t = blockList(m.tmpfs_options)[0];
              return prune({
                Type: m.type,
                Source: m.source,
                Target: m.target,
                ReadOnly: bool(m.read_only, false),
                BindOptions: b ? { Propagation: b.propagation } : undefined,
                TmpfsOptions: t ? prune({ SizeBytes: t.size_bytes, Mode: t.mode }) : undefined,
              });
            })
          : undefined,
        Hosts: cs.hosts ? blockList(cs.hosts).map((h) => `${h.ip} ${h.host}`) : undefined,
        DNSConfig: dns ? prune({ Nameservers: dns.nameservers, Options: dns.options, Search: dns.search }) : undefined,
      }),
      RestartPolicy: restart && prune({
        Condition: restart.condition ?? 'any',
        Delay: ns('restart_policy.delay', restart.delay),
        MaxAttempts: num(`${where}.restart_policy.max_attempts`, restart.max_attempts),
        Window: ns('restart_policy.window', restart.window),
      }),
      Resources: resources && prune({
        Limits: limits && prune({ NanoCPUs: num(`${where}.limits.nano_cpus`, limits.nano_cpus), MemoryBytes: num(`${where}.limits.memory_bytes`, limits.memory_bytes) }),
        Reservations: reservation && prune({ NanoCPUs: num(`${where}.reservation.nano_cpus`, reservation.nano_cpus), MemoryBytes: num(`${where}.reservation.memory_bytes`, reservation.memory_bytes) }),
      }),
      Placement: placement && prune({
        Constraints: placement.constraints,
        Preferences: placement.prefs
          ? (placement.prefs as string[]).map((p) => {
              const m = /^spread=(.+)$/.exec(p);
              if (!m) throw new PlanApplierError(`${where}.task_spec.placement.prefs: "${p}" is not spread=<attribute>`);
              return { Spread: { SpreadDescriptor: m[1] } };
            })
          : undefined,
        MaxReplicas: num(`${where}.placement.max_replicas`, placement.max_replicas),
      }),
      Networks: task.networks_advanced ? blockList(task.networks_advanced).map((n) => prune({ Target: n.name, Aliases: n.aliases, DriverOpts: n.driver_opts })) : undefined,
      LogDriver: log ? { Name: log.name, Options: log.options ?? {} } : undefined,
      ForceUpdate: num(`${where}.task_spec.force_update`, task.force_update),
    }),
    Mode: mode?.global ? { Global: {} } : { Replicated: { Replicas: num(`${where}.mode.replicated.replicas`, replicated?.replicas) ?? 1 } },
    UpdateConfig: update(blockList(c.update_config)[0], 'update_config'),
    RollbackConfig: update(blockList(c.rollback_config)[0], 'rollback_config'),
    EndpointSpec: endpoint && prune({
      Mode: endpoint.mode ?? 'vip',
      Ports: endpoint.ports
        ? blockList(endpoint.ports).map((p) => prune({ Name: p.name, Protocol: p.protocol ?? 'tcp', TargetPort: num(`${where}.ports.target_port`, p.target_port), PublishedPort: num(`${where}.ports.published_port`, p.published_port), PublishMode: p.publish_mode ?? 'ingress' }))
        : undefined,
    }),
  });
}

function ignore404(err: { statusCode?: number }): void {
  if (err.statusCode !== 404) throw err;
}
