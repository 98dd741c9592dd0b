/**
 * What the plan applier understands of a synthesized plan (cdk.tf.json): the
 * resource types, their attributes and nested blocks, with the defaults of the
 * Terraform docker provider the plan pins (kreuzwerker/docker 3.6.2). Anything
 * else — an unknown attribute, block, meta-argument, resource type or top-level
 * section — is refused before the engine is touched, naming the resource and the
 * attribute, so nothing in the plan is ever silently skipped.
 */

export class PlanApplierError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanApplierError';
  }
}

type Scalar = 'string' | 'number' | 'bool';
/** A list (or set) of scalars, a map of strings, a nested block, or an attribute the applier refuses with a reason. */
export type AttributeSpec =
  | Scalar
  | { readonly list: Scalar }
  | { readonly map: 'string' }
  | { readonly block: BlockSchema; readonly maxItems?: number }
  | { readonly refuse: string };
export type BlockSchema = Readonly<Record<string, AttributeSpec>>;

const NOT_NEEDED = 'not implemented by the plan applier (nothing in this project uses it); implement it in __tests__/support/docker-plan before using it';

const LABELS: AttributeSpec = { block: { label: 'string', value: 'string' } };

export const CONTAINER_SCHEMA: BlockSchema = {
  name: 'string',
  image: 'string',
  hostname: 'string',
  domainname: 'string',
  command: { list: 'string' },
  entrypoint: { list: 'string' },
  env: { list: 'string' },
  user: 'string',
  working_dir: 'string',
  labels: LABELS,
  restart: 'string',
  max_retry_count: 'number',
  stop_signal: 'string',
  stop_timeout: 'number',
  destroy_grace_seconds: 'number',
  must_run: 'bool',
  start: 'bool',
  wait: 'bool',
  wait_timeout: 'number',
  container_read_refresh_timeout_milliseconds: 'number',
  remove_volumes: 'bool',
  rm: 'bool',
  init: 'bool',
  tty: 'bool',
  stdin_open: 'bool',
  privileged: 'bool',
  read_only: 'bool',
  publish_all_ports: 'bool',
  healthcheck: {
    maxItems: 1,
    block: { test: { list: 'string' }, interval: 'string', timeout: 'string', start_period: 'string', start_interval: 'string', retries: 'number' },
  },
  ports: { block: { internal: 'number', external: 'number', ip: 'string', protocol: 'string' } },
  networks_advanced: { block: { name: 'string', aliases: { list: 'string' }, ipv4_address: 'string', ipv6_address: 'string' } },
  network_mode: 'string',
  upload: {
    block: { file: 'string', content: 'string', content_base64: 'string', source: 'string', source_hash: 'string', executable: 'bool', permissions: 'string' },
  },
  volumes: { block: { host_path: 'string', container_path: 'string', volume_name: 'string', read_only: 'bool', from_container: 'string' } },
  mounts: {
    block: {
      target: 'string',
      source: 'string',
      type: 'string',
      read_only: 'bool',
      bind_options: { maxItems: 1, block: { propagation: 'string' } },
      tmpfs_options: { maxItems: 1, block: { size_bytes: 'number', mode: 'number' } },
      volume_options: { maxItems: 1, block: { no_copy: 'bool', labels: LABELS, driver_name: 'string', driver_options: { map: 'string' }, subpath: { refuse: 'needs Docker API 1.45; the engine here speaks 1.41' } } },
    },
  },
  tmpfs: { map: 'string' },
  capabilities: { maxItems: 1, block: { add: { list: 'string' }, drop: { list: 'string' } } },
  security_opts: { list: 'string' },
  sysctls: { map: 'string' },
  ulimit: { block: { name: 'string', soft: 'number', hard: 'number' } },
  memory: 'number',
  memory_swap: 'number',
  shm_size: 'number',
  cpu_shares: 'number',
  cpu_set: 'string',
  cpu_period: 'number',
  cpu_quota: 'number',
  cpus: {
    refuse:
      'the pinned provider (kreuzwerker/docker 3.6.2) panics on it: its create asserts the string attribute to float32 ' +
      '(fixed in 3.7.0, "Correctly get and set nanoCPUs", #771); use cpu_period + cpu_quota',
  },
  log_driver: 'string',
  log_opts: { map: 'string' },
  dns: { list: 'string' },
  dns_opts: { list: 'string' },
  dns_search: { list: 'string' },
  host: { block: { host: 'string', ip: 'string' } },
  group_add: { list: 'string' },
  ipc_mode: 'string',
  pid_mode: 'string',
  userns_mode: 'string',
  runtime: 'string',
  attach: { refuse: `(run-to-completion containers) ${NOT_NEEDED}` },
  logs: { refuse: `(run-to-completion containers) ${NOT_NEEDED}` },
  devices: { refuse: NOT_NEEDED },
  gpus: { refuse: NOT_NEEDED },
  storage_opts: { refuse: NOT_NEEDED },
  cgroupns_mode: { refuse: NOT_NEEDED },
  cgroup_parent: { refuse: NOT_NEEDED },
};

export const IMAGE_SCHEMA: BlockSchema = {
  name: 'string',
  keep_locally: 'bool',
  force_remove: 'bool',
  triggers: { map: 'string' },
  build: {
    maxItems: 1,
    block: {
      context: 'string',
      dockerfile: 'string',
      build_args: { map: 'string' },
      tag: { list: 'string' },
      target: 'string',
      label: { map: 'string' },
      no_cache: 'bool',
      remove: 'bool',
      force_remove: 'bool',
      pull_parent: 'bool',
      network_mode: 'string',
      extra_hosts: { list: 'string' },
      suppress_output: 'bool',
      builder: { refuse: `(buildx) ${NOT_NEEDED}` },
      secrets: { refuse: NOT_NEEDED },
      platform: { refuse: NOT_NEEDED },
      auth_config: { refuse: 'registry credentials: no registry is reachable here' },
    },
  },
  pull_triggers: { refuse: 'pulls: no registry is reachable here' },
  platform: { refuse: NOT_NEEDED },
};

export const NETWORK_SCHEMA: BlockSchema = {
  name: 'string',
  driver: 'string',
  attachable: 'bool',
  internal: 'bool',
  ingress: 'bool',
  ipv6: 'bool',
  options: { map: 'string' },
  labels: LABELS,
  check_duplicate: 'bool',
  ipam_driver: 'string',
  ipam_options: { map: 'string' },
  ipam_config: { block: { subnet: 'string', ip_range: 'string', gateway: 'string', aux_address: { map: 'string' } } },
};

const HEALTHCHECK: AttributeSpec = {
  maxItems: 1,
  block: { test: { list: 'string' }, interval: 'string', timeout: 'string', start_period: 'string', start_interval: 'string', retries: 'number' },
};
const UPDATE: AttributeSpec = {
  maxItems: 1,
  block: { parallelism: 'number', delay: 'string', failure_action: 'string', monitor: 'string', max_failure_ratio: 'string', order: 'string' },
};
const SWARM_ONLY = 'a Swarm feature nothing in this project uses; implement it in __tests__/support/docker-plan before using it';

/** docker_service (Docker Swarm), as the Swarm target uses it; applied through the Engine API's /services. */
export const SERVICE_SCHEMA: BlockSchema = {
  name: 'string',
  labels: LABELS,
  mode: { maxItems: 1, block: { replicated: { maxItems: 1, block: { replicas: 'number' } }, global: 'bool' } },
  task_spec: {
    maxItems: 1,
    block: {
      container_spec: {
        maxItems: 1,
        block: {
          image: 'string',
          hostname: 'string',
          env: { map: 'string' },
          args: { list: 'string' },
          command: { list: 'string' },
          dir: 'string',
          user: 'string',
          groups: { list: 'string' },
          labels: LABELS,
          stop_signal: 'string',
          stop_grace_period: 'string',
          read_only: 'bool',
          cap_add: { list: 'string' },
          cap_drop: { list: 'string' },
          sysctl: { map: 'string' },
          healthcheck: HEALTHCHECK,
          configs: { block: { config_id: 'string', config_name: 'string', file_name: 'string', file_uid: 'string', file_gid: 'string', file_mode: 'number' } },
          mounts: {
            block: {
              target: 'string',
              source: 'string',
              type: 'string',
              read_only: 'bool',
              bind_options: { maxItems: 1, block: { propagation: 'string' } },
              tmpfs_options: { maxItems: 1, block: { size_bytes: 'number', mode: 'number' } },
              volume_options: { refuse: SWARM_ONLY },
            },
          },
          hosts: { block: { host: 'string', ip: 'string' } },
          dns_config: { maxItems: 1, block: { nameservers: { list: 'string' }, options: { list: 'string' }, search: { list: 'string' } } },
          secrets: { refuse: SWARM_ONLY },
          privileges: { refuse: SWARM_ONLY },
          isolation: { refuse: SWARM_ONLY },
        },
      },
      networks_advanced: { block: { name: 'string', aliases: { list: 'string' }, driver_opts: { list: 'string' } } },
      restart_policy: { maxItems: 1, block: { condition: 'string', delay: 'string', max_attempts: 'number', window: 'string' } },
      resources: {
        maxItems: 1,
        block: {
          limits: { maxItems: 1, block: { nano_cpus: 'number', memory_bytes: 'number' } },
          reservation: { maxItems: 1, block: { nano_cpus: 'number', memory_bytes: 'number', generic_resources: { refuse: SWARM_ONLY } } },
        },
      },
      placement: { maxItems: 1, block: { constraints: { list: 'string' }, prefs: { list: 'string' }, max_replicas: 'number', platforms: { refuse: SWARM_ONLY } } },
      log_driver: { maxItems: 1, block: { name: 'string', options: { map: 'string' } } },
      force_update: 'number',
      runtime: { refuse: SWARM_ONLY },
    },
  },
  update_config: UPDATE,
  rollback_config: UPDATE,
  endpoint_spec: {
    maxItems: 1,
    block: { mode: 'string', ports: { block: { name: 'string', protocol: 'string', target_port: 'number', published_port: 'number', publish_mode: 'string' } } },
  },
  converge_config: { refuse: `(the provider waits for the tasks) ${SWARM_ONLY}` },
  auth: { refuse: 'registry credentials: no registry is reachable here' },
};

/** docker_config (Docker Swarm config object). */
export const CONFIG_SCHEMA: BlockSchema = {
  name: 'string',
  data: 'string',
};

/**
 * hashicorp/random's random_password, as the platform uses it (the MCP session
 * key): the applier makes the value itself (see the applier's header).
 */
export const RANDOM_PASSWORD_SCHEMA: BlockSchema = {
  length: 'number',
  special: 'bool',
};

/**
 * hashicorp/random's random_uuid, as the platform uses it (the initial Consul management
 * token of the ACL layout's Consul stack): no attributes; the applier makes the value.
 */
export const RANDOM_UUID_SCHEMA: BlockSchema = {};

export const RESOURCE_SCHEMAS: Readonly<Record<string, BlockSchema>> = {
  docker_container: CONTAINER_SCHEMA,
  docker_image: IMAGE_SCHEMA,
  docker_network: NETWORK_SCHEMA,
  docker_service: SERVICE_SCHEMA,
  docker_config: CONFIG_SCHEMA,
  random_password: RANDOM_PASSWORD_SCHEMA,
  random_uuid: RANDOM_UUID_SCHEMA,
};

/** Meta-arguments the applier handles; "//" is a comment key in Terraform's JSON syntax. */
const META = new Set(['count', 'depends_on', '//']);

/** Provider configuration attributes the applier honours. */
export const PROVIDER_SCHEMA: BlockSchema = { host: 'string' };

/** A block given as an object or a list of objects (both are valid Terraform JSON), as a list. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function blockList(value: unknown): Record<string, any>[] {
  if (value === undefined || value === null) return [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (Array.isArray(value) ? value : [value]) as Record<string, any>[];
}

function checkBlock(where: string, schema: BlockSchema, value: Record<string, unknown>): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PlanApplierError(`${where}: expected a block (object), got ${JSON.stringify(value)}`);
  }
  for (const [key, v] of Object.entries(value)) {
    const spec = schema[key];
    if (spec === undefined) {
      throw new PlanApplierError(`${where}: attribute "${key}" is not understood by the plan applier (known: ${Object.keys(schema).join(', ')})`);
    }
    if (typeof spec === 'object' && 'refuse' in spec) {
      throw new PlanApplierError(`${where}: attribute "${key}" is refused: ${spec.refuse}`);
    }
    if (typeof spec === 'object' && 'block' in spec) {
      const items = blockList(v);
      if (spec.maxItems !== undefined && items.length > spec.maxItems) {
        throw new PlanApplierError(`${where}: block "${key}" may appear at most ${spec.maxItems} time(s); got ${items.length}`);
      }
      items.forEach((item, i) => checkBlock(`${where}.${key}[${i}]`, spec.block, item));
    }
  }
}

/** The one lifecycle setting the applier handles: `{ create_before_destroy: true }` (immutable Swarm configs). */
export function isCreateBeforeDestroy(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && (v as Record<string, unknown>).create_before_destroy === true;
}

/** Refuses anything in one resource the applier does not understand. */
export function checkResource(type: string, name: string, config: Record<string, unknown>): void {
  const schema = RESOURCE_SCHEMAS[type];
  const where = `${type}.${name}`;
  if (!schema) {
    throw new PlanApplierError(`${where}: resource type "${type}" is not understood by the plan applier (known: ${Object.keys(RESOURCE_SCHEMAS).join(', ')})`);
  }
  const attributes: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(config)) {
    if (META.has(key)) continue;
    if (key === 'lifecycle' && isCreateBeforeDestroy(v)) continue;
    if (['for_each', 'lifecycle', 'provider', 'provisioner', 'connection'].includes(key)) {
      throw new PlanApplierError(`${where}: meta-argument "${key}" is not understood by the plan applier (it handles count, depends_on and lifecycle { create_before_destroy = true })`);
    }
    attributes[key] = v;
  }
  checkBlock(where, schema, attributes);
  if (config.depends_on !== undefined && (!Array.isArray(config.depends_on) || config.depends_on.some((d) => typeof d !== 'string'))) {
    throw new PlanApplierError(`${where}: depends_on must be a list of resource addresses; got ${JSON.stringify(config.depends_on)}`);
  }
}

/** Refuses plan sections the applier does not understand (data sources, modules, locals...). */
export function checkPlan(plan: Record<string, unknown>): void {
  const known = new Set(['//', 'terraform', 'provider', 'variable', 'output', 'resource']);
  for (const key of Object.keys(plan)) {
    if (!known.has(key)) throw new PlanApplierError(`plan section "${key}" is not understood by the plan applier (known: ${[...known].join(', ')})`);
  }
  const providers = (plan.provider ?? {}) as Record<string, unknown>;
  for (const [name, configs] of Object.entries(providers)) {
    if (name === 'random') {
      // hashicorp/random takes no settings the platform uses.
      for (const [i, c] of blockList(configs).entries()) checkBlock(`provider.random[${i}]`, {}, c);
      continue;
    }
    if (name !== 'docker') throw new PlanApplierError(`provider "${name}" is not understood by the plan applier (it applies docker_* resources, random_password and random_uuid)`);
    for (const [i, c] of blockList(configs).entries()) {
      if ('alias' in c) throw new PlanApplierError(`provider.docker[${i}]: aliased providers are not understood by the plan applier`);
      checkBlock(`provider.docker[${i}]`, PROVIDER_SCHEMA, c);
    }
  }
  const resources = (plan.resource ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
  for (const [type, byName] of Object.entries(resources)) {
    for (const [name, config] of Object.entries(byName)) checkResource(type, name, config);
  }
}
