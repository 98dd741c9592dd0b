/**
 * Containers locked down by default: one place for what every container
 * construct of this package (and any later one, e.g. a Swarm service or a
 * Consul cluster member) applies to its docker_container.
 *
 * - the root filesystem is read-only; what a process writes goes to a tmpfs
 *   the construct names (and to the volumes its image declares);
 * - every Linux capability is dropped (none of the platform's ports is below
 *   1024, so nothing is added back) and `no-new-privileges` is set;
 * - memory and CPU are limited (each construct sizes its defaults; see the
 *   README's "Containers locked down by default");
 * - the json-file log rotates (max-size, max-file).
 *
 * Each is a prop of `ContainerSecurityProps`, so a deployment can relax it.
 * A construct calls `containerLockdown(...)` and spreads `attributes` into its
 * ContainerConfig:
 *
 *   const lockdown = containerLockdown(ID, 'security', props.security, { memoryMb: 256, cpus: 1, tmpfs: { '/tmp': 'size=16m' } });
 *   new Container(this, 'Container', { ...config, ...lockdown.attributes });
 *
 * Files the plan would `upload` cannot go into a read-only container: the
 * provider copies them to "/" before the start, and the engine refuses that
 * ("container rootfs is marked read-only", even for a path inside a volume).
 * Constructs hand such files over in the environment instead, written by the
 * entrypoint to a tmpfs (env-files.ts: HAProxy's config, the Consul ACL tokens,
 * the routers' and demo servers' Consul tokens; Consul's agent config by the
 * image's own CONSUL_LOCAL_CONFIG). So every container, ACLs on or off, runs with
 * a read-only root by default. A token handed over that way is visible to
 * `docker inspect` (Docker API access is root on the host anyway); it is not in
 * the container's writable layer, and the process's own environment does not keep it.
 */
import { ContainerConfig } from '@cdktf/provider-docker/lib/container';
import { Fn, Op, Token } from 'cdktf';
import { isUnresolved, propError } from './validation';

/** CFS period for CPU limits (Docker's default, 100 ms). */
export const CPU_PERIOD_US = 100_000;

export interface ContainerSecurityProps {
  /**
   * Mount the container's root filesystem read-only. What the process writes goes to the
   * container's tmpfs mounts (see `tmpfs`) and to the volumes its image declares. With Consul ACLs
   * too: the containers that take a token get it in their environment and their entrypoint writes
   * it to a tmpfs file (env-files.ts).
   * @default true (every container, ACLs on or off)
   */
  readonly readOnlyRootFilesystem?: boolean;
  /**
   * Extra tmpfs mounts while the root filesystem is read-only: container path to mount
   * options, e.g. `{ '/var/cache/app': 'size=32m' }`. Added to the container's own
   * (router and demo servers: /tmp; HAProxy: /run/haproxy, where its config is written;
   * Consul: /consul/config; with ACLs the token files' /run/mcp-router, /run/mcp-demo,
   * /consul/secrets, which a path here cannot replace). @default {} (the container's own only)
   */
  readonly tmpfs?: { [path: string]: string };
  /** Drop every Linux capability (`capabilities.drop = ["ALL"]`). `false` keeps Docker's default set. @default true */
  readonly dropAllCapabilities?: boolean;
  /**
   * Capabilities to add back, by name (`NET_BIND_SERVICE` to listen on a port below 1024;
   * none of the platform's ports is). @default [] (none)
   */
  readonly addCapabilities?: string[];
  /** Set `no-new-privileges`: no process can gain privileges (setuid binaries, file capabilities). @default true */
  readonly noNewPrivileges?: boolean;
  /**
   * Memory limit in MiB (6 or more); 0 for no limit.
   * @default per container: router 256, HAProxy 64 + 48 KiB per maxconn, Consul 256, demo server 256
   */
  readonly memoryMb?: number;
  /**
   * CPU limit in CPUs (a CFS quota, e.g. 1.5); 0 for no limit.
   * @default per container: router 1, HAProxy its nbthread or 2, Consul 1, demo server 1
   */
  readonly cpus?: number;
  /** Rotate the container's json-file log at this size in MiB; 0 leaves logging to the engine's defaults. @default 10 */
  readonly logMaxSizeMb?: number;
  /** Log files kept (the current one included) when rotating. @default 3 */
  readonly logMaxFiles?: number;
}

/** What a construct fills in for its container. */
export interface ContainerSecurityDefaults {
  /** Memory limit in MiB (0: none). */
  readonly memoryMb: number;
  /** CPU limit in CPUs (0: none). */
  readonly cpus: number;
  /** tmpfs mounts the container's process needs while the root filesystem is read-only. */
  readonly tmpfs?: { readonly [path: string]: string };
  /**
   * tmpfs mounts for files the entrypoint writes from the environment (env-files.ts), secrets
   * among them: mounted whatever `readOnlyRootFilesystem` says, so such a file never reaches
   * the container's writable layer, and not replaceable by `security.tmpfs`.
   */
  readonly secretsTmpfs?: { readonly [path: string]: string };
}

/** The docker_container attributes of a lockdown, and what they resolved to. */
export interface ContainerLockdown {
  /** Spread into the ContainerConfig. */
  readonly attributes: Partial<ContainerConfig>;
  readonly readOnlyRootFilesystem: boolean;
  /** The tmpfs mounts (the secrets' always; the others only while the root filesystem is read-only). */
  readonly tmpfs: { readonly [path: string]: string };
}

export const LOG_DEFAULTS = { maxSizeMb: 10, maxFiles: 3 } as const;

/** Linux capability names (capabilities(7)), as Docker takes them (without CAP_). */
const CAPABILITIES = [
  'AUDIT_CONTROL', 'AUDIT_READ', 'AUDIT_WRITE', 'BLOCK_SUSPEND', 'BPF', 'CHECKPOINT_RESTORE', 'CHOWN', 'DAC_OVERRIDE',
  'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'IPC_LOCK', 'IPC_OWNER', 'KILL', 'LEASE', 'LINUX_IMMUTABLE', 'MAC_ADMIN',
  'MAC_OVERRIDE', 'MKNOD', 'NET_ADMIN', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_RAW', 'PERFMON', 'SETFCAP', 'SETGID',
  'SETPCAP', 'SETUID', 'SYSLOG', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_CHROOT', 'SYS_MODULE', 'SYS_NICE', 'SYS_PACCT', 'SYS_PTRACE',
  'SYS_RAWIO', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'WAKE_ALARM',
];

const KEYS: readonly string[] = ['readOnlyRootFilesystem', 'tmpfs', 'dropAllCapabilities', 'addCapabilities', 'noNewPrivileges', 'memoryMb', 'cpus', 'logMaxSizeMb', 'logMaxFiles'];

/** `security.` before a field's name; nothing when the fields are the construct's own props. */
const at = (prop: string) => (prop === '' ? '' : `${prop}.`);

const isLiteral = (v: unknown) => v !== undefined && !isUnresolved(v);

/**
 * Checks a ContainerSecurityProps (unknown keys too: a typo would silently keep a default);
 * errors name `<construct>: <prop>.<field>`. Tokens are left to Terraform.
 */
export function validateContainerSecurity(construct: string, prop: string, s: ContainerSecurityProps | undefined): void {
  if (s === undefined) return;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw propError(construct, prop, s, 'an object of container security settings (ContainerSecurityProps)');
  for (const key of Object.keys(s)) {
    if (!KEYS.includes(key)) throw propError(construct, `${at(prop)}${key}`, (s as Record<string, unknown>)[key], `left out: ${key} is not a container security setting (known: ${KEYS.join(', ')})`);
  }
  for (const key of ['readOnlyRootFilesystem', 'dropAllCapabilities', 'noNewPrivileges'] as const) {
    if (s[key] !== undefined && typeof s[key] !== 'boolean') throw propError(construct, `${at(prop)}${key}`, s[key], 'true or false');
  }
  if (isLiteral(s.memoryMb) && (typeof s.memoryMb !== 'number' || !Number.isInteger(s.memoryMb) || (s.memoryMb !== 0 && (s.memoryMb < 6 || s.memoryMb > 1_048_576)))) {
    throw propError(construct, `${at(prop)}memoryMb`, s.memoryMb, 'an integer from 6 to 1048576 (MiB; Docker\'s minimum is 6), or 0 for no limit');
  }
  if (isLiteral(s.cpus) && (typeof s.cpus !== 'number' || !Number.isFinite(s.cpus) || (s.cpus !== 0 && (s.cpus < 0.01 || s.cpus > 1024)))) {
    throw propError(construct, `${at(prop)}cpus`, s.cpus, 'a number of CPUs from 0.01 to 1024, or 0 for no limit');
  }
  if (isLiteral(s.logMaxSizeMb) && (typeof s.logMaxSizeMb !== 'number' || !Number.isInteger(s.logMaxSizeMb) || s.logMaxSizeMb < 0 || s.logMaxSizeMb > 102_400)) {
    throw propError(construct, `${at(prop)}logMaxSizeMb`, s.logMaxSizeMb, 'an integer from 1 to 102400 (MiB), or 0 for the engine\'s log settings');
  }
  if (isLiteral(s.logMaxFiles) && (typeof s.logMaxFiles !== 'number' || !Number.isInteger(s.logMaxFiles) || s.logMaxFiles < 1 || s.logMaxFiles > 100)) {
    throw propError(construct, `${at(prop)}logMaxFiles`, s.logMaxFiles, 'an integer from 1 to 100');
  }
  if (s.logMaxFiles !== undefined && s.logMaxSizeMb === 0) {
    throw propError(construct, `${at(prop)}logMaxFiles`, s.logMaxFiles, 'left unset when logMaxSizeMb is 0 (no rotation)');
  }
  if (s.addCapabilities !== undefined) {
    if (!Array.isArray(s.addCapabilities)) throw propError(construct, `${at(prop)}addCapabilities`, s.addCapabilities, 'a list of Linux capability names such as NET_BIND_SERVICE');
    s.addCapabilities.forEach((c, i) => {
      if (isUnresolved(c)) return;
      const name = typeof c === 'string' ? c.toUpperCase().replace(/^CAP_/, '') : c;
      if (name === 'ALL') throw propError(construct, `${at(prop)}addCapabilities[${i}]`, c, 'a single capability; to keep Docker\'s default set, set dropAllCapabilities: false');
      if (typeof name !== 'string' || !CAPABILITIES.includes(name)) throw propError(construct, `${at(prop)}addCapabilities[${i}]`, c, `a Linux capability name (${CAPABILITIES.join(', ')})`);
    });
  }
  if (s.tmpfs !== undefined) {
    if (typeof s.tmpfs !== 'object' || s.tmpfs === null || Array.isArray(s.tmpfs)) throw propError(construct, `${at(prop)}tmpfs`, s.tmpfs, 'a map of absolute container paths to tmpfs mount options (e.g. "size=16m")');
    for (const [path, options] of Object.entries(s.tmpfs)) {
      if (!/^\/[A-Za-z0-9._\/-]*$/.test(path) || path === '/' || path.split('/').includes('..')) throw propError(construct, `${at(prop)}tmpfs`, path, 'absolute container paths (not "/", no "..") as keys');
      if (isUnresolved(options)) continue;
      if (typeof options !== 'string' || !/^[A-Za-z0-9=,._-]*$/.test(options)) throw propError(construct, `${at(prop)}tmpfs.${path}`, options, 'tmpfs mount options such as "size=16m" or "size=16m,mode=1777"');
    }
  }
}

/**
 * The docker_container attributes of a locked-down container: the given settings over
 * the construct's defaults. Validates `security` first (errors name `construct` and `prop`).
 */
export function containerLockdown(construct: string, prop: string, security: ContainerSecurityProps | undefined, defaults: ContainerSecurityDefaults): ContainerLockdown {
  validateContainerSecurity(construct, prop, security);
  const s = security ?? {};
  const readOnly = s.readOnlyRootFilesystem ?? true;
  const dropAll = s.dropAllCapabilities ?? true;
  const add = (s.addCapabilities ?? []).map((c) => (isUnresolved(c) ? c : c.toUpperCase().replace(/^CAP_/, '')));
  const memoryMb = s.memoryMb ?? defaults.memoryMb;
  const cpus = s.cpus ?? defaults.cpus;
  const logMaxSizeMb = s.logMaxSizeMb ?? LOG_DEFAULTS.maxSizeMb;
  const tmpfs = { ...(readOnly ? { ...defaults.tmpfs, ...s.tmpfs } : {}), ...defaults.secretsTmpfs };
  const capabilities = dropAll || add.length > 0 ? { ...(dropAll ? { drop: ['ALL'] } : {}), ...(add.length > 0 ? { add: [...add].sort() } : {}) } : undefined;
  const attributes: Partial<ContainerConfig> = {
    ...(readOnly ? { readOnly: true } : {}),
    ...(Object.keys(tmpfs).length > 0 ? { tmpfs } : {}),
    ...(capabilities ? { capabilities } : {}),
    ...((s.noNewPrivileges ?? true) ? { securityOpts: ['no-new-privileges:true'] } : {}),
    ...(memoryMb !== 0 ? { memory: memoryMb } : {}),
    // A CFS quota rather than `cpus`: the pinned provider (kreuzwerker/docker 3.6.2) panics
    // on `cpus` (its create asserts the string to float32; fixed in 3.7.0).
    ...(cpus !== 0 ? { cpuPeriod: CPU_PERIOD_US, cpuQuota: isUnresolved(cpus) ? Token.asNumber(Fn.floor(Token.asNumber(Op.mul(cpus, CPU_PERIOD_US)))) : Math.round(cpus * CPU_PERIOD_US) } : {}),
    ...(logMaxSizeMb !== 0 ? { logDriver: 'json-file', logOpts: { 'max-size': `${logMaxSizeMb}m`, 'max-file': String(s.logMaxFiles ?? LOG_DEFAULTS.maxFiles) } } : {}),
  };
  return { attributes, readOnlyRootFilesystem: readOnly, tmpfs };
}

/** Settings for every container overlaid with a part's own, field by field (McpRouterPlatform's containerSecurity and e.g. routerSecurity). */
export function mergeContainerSecurity(base: ContainerSecurityProps | undefined, own: ContainerSecurityProps | undefined): ContainerSecurityProps | undefined {
  if (base === undefined) return own;
  if (own === undefined) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(own)) if (v !== undefined) out[k] = v;
  return out as ContainerSecurityProps;
}

/** What a Swarm service's task (docker_service) takes of a lockdown. */
export interface ServiceLockdown {
  /** Spread into task_spec.container_spec. */
  readonly containerSpec: { readonly readOnly?: boolean; readonly capDrop?: string[]; readonly capAdd?: string[] };
  /** tmpfs mounts to add to container_spec.mounts (only while the root filesystem is read-only). */
  readonly mounts: { type: string; target: string; tmpfsOptions?: { sizeBytes?: number; mode?: number } }[];
  /** task_spec.log_driver, when logs rotate. */
  readonly logDriver?: { name: string; options: { [key: string]: string } };
  /** Limits for task_spec.resources.limits (0: none). */
  readonly memoryMb: number;
  readonly cpus: number;
  readonly readOnlyRootFilesystem: boolean;
}

/** Why a Swarm service cannot take `noNewPrivileges`. */
export const SERVICE_NO_NEW_PRIVILEGES_REASON = "false or unset with target SWARM: the pinned provider's docker_service (kreuzwerker/docker 3.6.2) has no no-new-privileges setting, so Swarm tasks run without it";

const SIZE_UNITS: { [unit: string]: number } = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A tmpfs options string ("size=16m,mode=1777") as a Swarm tmpfs mount's options: Swarm takes size and mode only. */
function swarmTmpfsOptions(construct: string, prop: string, path: string, options: string): { sizeBytes?: number; mode?: number } {
  const out: { sizeBytes?: number; mode?: number } = {};
  for (const part of options.split(',').filter((p) => p !== '')) {
    const size = /^size=(\d+)([kmg]?)$/i.exec(part);
    const mode = /^mode=([0-7]{3,4})$/.exec(part);
    if (size) out.sizeBytes = Number(size[1]) * SIZE_UNITS[size[2].toLowerCase()];
    else if (mode) out.mode = parseInt(mode[1], 8);
    else throw propError(construct, `${at(prop)}tmpfs.${path}`, options, 'size=<n>[k|m|g] and mode=<octal> only with target SWARM (a Swarm tmpfs mount takes no other option)');
  }
  return out;
}

/**
 * The lockdown of a Swarm service's tasks, from the same props and defaults as a
 * container's (containerLockdown): read-only root with tmpfs mounts, capabilities
 * dropped, json-file log rotation, and the memory and CPU limits for the task's
 * resources. `noNewPrivileges` is not available on a docker_service (the provider
 * has no field for it): `true` is refused, and the default leaves it off.
 */
export function serviceLockdown(construct: string, prop: string, security: ContainerSecurityProps | undefined, defaults: ContainerSecurityDefaults): ServiceLockdown {
  if (security?.noNewPrivileges === true) throw propError(construct, `${at(prop)}noNewPrivileges`, true, SERVICE_NO_NEW_PRIVILEGES_REASON);
  const c = containerLockdown(construct, prop, { ...security, noNewPrivileges: false }, defaults);
  const s = security ?? {};
  const caps = c.attributes.capabilities as { drop?: string[]; add?: string[] } | undefined;
  const logOpts = c.attributes.logOpts as { [key: string]: string } | undefined;
  return {
    containerSpec: {
      ...(c.readOnlyRootFilesystem ? { readOnly: true } : {}),
      ...(caps?.drop ? { capDrop: caps.drop } : {}),
      ...(caps?.add ? { capAdd: caps.add } : {}),
    },
    mounts: Object.entries(c.tmpfs).map(([target, options]) => {
      const tmpfsOptions = isUnresolved(options) ? undefined : swarmTmpfsOptions(construct, prop, target, options);
      return { type: 'tmpfs', target, ...(tmpfsOptions && Object.keys(tmpfsOptions).length ? { tmpfsOptions } : {}) };
    }),
    ...(logOpts ? { logDriver: { name: 'json-file', options: logOpts } } : {}),
    memoryMb: s.memoryMb ?? defaults.memoryMb,
    cpus: s.cpus ?? defaults.cpus,
    readOnlyRootFilesystem: c.readOnlyRootFilesystem,
  };
}
