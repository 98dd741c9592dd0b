/**
 * Docker Swarm settings of the platform (`target: DeploymentTarget.SWARM`) and the
 * pure functions that turn them into docker_service blocks: rolling update and
 * rollback, restart policy, resources, placement. Every value is validated by its
 * prop name (`swarm.routerUpdate.parallelism`), tokens are let through.
 */
import { Fn, Op } from 'cdktf';
import { checkObject, isUnresolved, propError, validateInteger, validateNumber, validateOneOf } from '../validation';

/** Where the platform runs. */
export enum DeploymentTarget {
  /** Containers on one Docker host (docker_container). */
  HOST = 'host',
  /** Services on a Docker Swarm (docker_service on an overlay network), applied through a manager. */
  SWARM = 'swarm',
}

/** Order of a task's replacement in a rolling update or rollback. */
export enum SwarmUpdateOrder {
  /** The new task starts (and becomes healthy) before the old one stops: no capacity is lost. */
  START_FIRST = 'start-first',
  /** The old task stops first (for a service that cannot run twice, or a node short of resources). */
  STOP_FIRST = 'stop-first',
}

/** What Swarm does when an updated task fails. */
export enum SwarmFailureAction {
  /** Roll the service back to its previous spec. */
  ROLLBACK = 'rollback',
  /** Stop the update and wait for an operator. */
  PAUSE = 'pause',
  /** Carry on with the next tasks. */
  CONTINUE = 'continue',
}

/** When Swarm restarts a task. */
export enum SwarmRestartCondition {
  /** Whenever it exits. */
  ANY = 'any',
  /** When it exits with a non-zero code. */
  ON_FAILURE = 'on-failure',
  /** Never. */
  NONE = 'none',
}

/** How a service's ports are published. */
export enum SwarmPublishMode {
  /**
   * The routing mesh: the port answers on every node and is balanced to the tasks wherever
   * they run. Needs IPVS (the ip_vs kernel module) on the nodes.
   */
  INGRESS = 'ingress',
  /** On the node that runs the task only (one task per node then); no IPVS needed. */
  HOST = 'host',
}

/** A rolling update (or rollback) of a service. */
export interface SwarmUpdateProps {
  /** Tasks replaced at once (0: all at once). @default 1 */
  readonly parallelism?: number;
  /** Seconds between two batches. @default 5 (update), 0 (rollback) */
  readonly delaySeconds?: number;
  /** `START_FIRST`: zero downtime; `STOP_FIRST`: never two tasks of a slot at once. @default SwarmUpdateOrder.START_FIRST */
  readonly order?: SwarmUpdateOrder;
  /** What a failed task does to the update. @default SwarmFailureAction.ROLLBACK (update), SwarmFailureAction.PAUSE (rollback) */
  readonly failureAction?: SwarmFailureAction;
  /** Seconds each new task is watched for failure after it starts. @default 15 (update), 5 (rollback) */
  readonly monitorSeconds?: number;
  /** Share of tasks (0 to 1) that may fail before failureAction applies. @default 0 */
  readonly maxFailureRatio?: number;
}

/** When and how often Swarm restarts a task. */
export interface SwarmRestartProps {
  /** @default SwarmRestartCondition.ANY */
  readonly condition?: SwarmRestartCondition;
  /** Seconds between restart attempts. @default 5 */
  readonly delaySeconds?: number;
  /** Restart attempts before giving up (0: no limit). @default 0 */
  readonly maxAttempts?: number;
  /** Seconds over which restarts are counted for maxAttempts (0: unbounded). @default 0 */
  readonly windowSeconds?: number;
}

/** CPU and memory of each task (the seed's `deploy.resources`). */
export interface SwarmResourcesProps {
  /** Most CPUs a task may use. @default no limit (or `routerCpus` for the routers) */
  readonly limitCpus?: number;
  /** Most memory a task may use, in MiB. @default no limit (or `routerMemoryMb` for the routers) */
  readonly limitMemoryMb?: number;
  /** CPUs a node must have free to take a task (scheduling). @default none */
  readonly reserveCpus?: number;
  /** Memory a node must have free to take a task, in MiB. @default none */
  readonly reserveMemoryMb?: number;
}

/** Where Swarm may put a service's tasks. */
export interface SwarmPlacementProps {
  /** Constraints every node must meet, e.g. `node.role==worker` or `node.labels.mcp==true`. @default none */
  readonly constraints?: string[];
  /**
   * Node attributes to spread tasks evenly over, in order, e.g. `node.labels.zone`
   * (a `spread` placement preference each). @default none
   */
  readonly spreadOver?: string[];
  /** Most tasks of the service on one node (0: no limit). @default 0 */
  readonly maxReplicasPerNode?: number;
}

/** The Swarm side of McpRouterPlatform (only with `target: DeploymentTarget.SWARM`). */
export interface SwarmProps {
  /**
   * Subnet of the overlay network the platform creates. Routers register in Consul with
   * their address in it (a task has one address per network it is on), and Consul binds
   * to it. With `existingNetworkName`, give that network's subnet.
   * @default '10.213.0.0/20'
   */
  readonly subnet?: string;
  /** How the public (and, when opened, admin) ports are published. @default SwarmPublishMode.INGRESS */
  readonly publishMode?: SwarmPublishMode;
  /** Rolling update of the routers. @default parallelism 1, start-first, delay 5 s, monitor 15 s, failure action rollback */
  readonly routerUpdate?: SwarmUpdateProps;
  /** Rollback of the routers. @default parallelism 1, start-first, delay 0, monitor 5 s, failure action pause */
  readonly routerRollback?: SwarmUpdateProps;
  /** Restart policy of the routers. @default condition any, delay 5 s, no attempt limit */
  readonly routerRestart?: SwarmRestartProps;
  /** Limits and reservations of each router task. @default limits from routerCpus/routerMemoryMb, no reservation */
  readonly routerResources?: SwarmResourcesProps;
  /** Where the routers run. @default anywhere, no spread preference */
  readonly routerPlacement?: SwarmPlacementProps;
  /** Seconds a router has to drain after SIGTERM before it is killed. @default 20 */
  readonly routerStopGraceSeconds?: number;
  /** HAProxy tasks. @default 1 */
  readonly haproxyReplicas?: number;
  /** Where HAProxy runs (with publishMode HOST, at most one task per node). @default anywhere */
  readonly haproxyPlacement?: SwarmPlacementProps;
  /** Where the Consul servers run (the platform's `consulServers`; more than one: one per node). @default anywhere */
  readonly consulPlacement?: SwarmPlacementProps;
}

export const SWARM_DEFAULTS = {
  subnet: '10.213.0.0/20',
  routerStopGraceSeconds: 20,
  haproxyReplicas: 1,
} as const;

const UPDATE_DEFAULTS = { parallelism: 1, delaySeconds: 5, order: SwarmUpdateOrder.START_FIRST, failureAction: SwarmFailureAction.ROLLBACK, monitorSeconds: 15, maxFailureRatio: 0 };
const ROLLBACK_DEFAULTS = { parallelism: 1, delaySeconds: 0, order: SwarmUpdateOrder.START_FIRST, failureAction: SwarmFailureAction.PAUSE, monitorSeconds: 5, maxFailureRatio: 0 };

const SECONDS_MAX = 86_400;
const seconds = (n: number | string) => `${n}s`;
const MIB = 1024 * 1024;

/** IPv4 CIDR with the network address itself (e.g. 10.213.0.0/20), prefix 8 to 28. */
export function validateSubnet(scope: string, prop: string, value: unknown): void {
  if (value === undefined || isUnresolved(value)) return;
  const m = typeof value === 'string' ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value) : null;
  const allowed = 'an IPv4 subnet such as 10.213.0.0/20 (prefix 8 to 28, host bits zero)';
  if (!m) throw propError(scope, prop, value, allowed);
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix < 8 || prefix > 28) throw propError(scope, prop, value, allowed);
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const host = prefix === 32 ? 0 : (2 ** (32 - prefix)) - 1;
  if ((addr & host) !== 0) throw propError(scope, prop, value, allowed);
}

function validateStringList(scope: string, prop: string, value: unknown, allowed: string, pattern: RegExp): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) throw propError(scope, prop, value, `a list of ${allowed}`);
  value.forEach((v, i) => {
    if (isUnresolved(v)) return;
    if (typeof v !== 'string' || !pattern.test(v)) throw propError(scope, `${prop}[${i}]`, v, allowed);
  });
}

export function validateUpdate(scope: string, prop: string, u: SwarmUpdateProps | undefined): void {
  if (u === undefined) return;
  checkObject(scope, prop, u, 'an object { parallelism?, delaySeconds?, order?, failureAction?, monitorSeconds?, maxFailureRatio? }');
  validateInteger(scope, `${prop}.parallelism`, u.parallelism, 0, 1000);
  validateInteger(scope, `${prop}.delaySeconds`, u.delaySeconds, 0, SECONDS_MAX);
  validateInteger(scope, `${prop}.monitorSeconds`, u.monitorSeconds, 0, SECONDS_MAX);
  validateNumber(scope, `${prop}.maxFailureRatio`, u.maxFailureRatio, 0, 1);
  validateOneOf(scope, `${prop}.order`, u.order, Object.values(SwarmUpdateOrder));
  validateOneOf(scope, `${prop}.failureAction`, u.failureAction, Object.values(SwarmFailureAction));
}

export function validateRestart(scope: string, prop: string, r: SwarmRestartProps | undefined): void {
  if (r === undefined) return;
  checkObject(scope, prop, r, 'an object { condition?, delaySeconds?, maxAttempts?, windowSeconds? }');
  validateOneOf(scope, `${prop}.condition`, r.condition, Object.values(SwarmRestartCondition));
  validateInteger(scope, `${prop}.delaySeconds`, r.delaySeconds, 0, SECONDS_MAX);
  validateInteger(scope, `${prop}.maxAttempts`, r.maxAttempts, 0, 1000);
  validateInteger(scope, `${prop}.windowSeconds`, r.windowSeconds, 0, SECONDS_MAX);
}

export function validateResources(scope: string, prop: string, r: SwarmResourcesProps | undefined): void {
  if (r === undefined) return;
  checkObject(scope, prop, r, 'an object { limitCpus?, limitMemoryMb?, reserveCpus?, reserveMemoryMb? }');
  validateNumber(scope, `${prop}.limitCpus`, r.limitCpus, 0.01, 1024);
  validateInteger(scope, `${prop}.limitMemoryMb`, r.limitMemoryMb, 6, 1_048_576);
  validateNumber(scope, `${prop}.reserveCpus`, r.reserveCpus, 0.01, 1024);
  validateInteger(scope, `${prop}.reserveMemoryMb`, r.reserveMemoryMb, 6, 1_048_576);
  const lit = (v: number | undefined) => v !== undefined && !isUnresolved(v);
  if (lit(r.limitCpus) && lit(r.reserveCpus) && r.reserveCpus! > r.limitCpus!) {
    throw propError(scope, `${prop}.reserveCpus`, r.reserveCpus, `at most limitCpus (${r.limitCpus})`);
  }
  if (lit(r.limitMemoryMb) && lit(r.reserveMemoryMb) && r.reserveMemoryMb! > r.limitMemoryMb!) {
    throw propError(scope, `${prop}.reserveMemoryMb`, r.reserveMemoryMb, `at most limitMemoryMb (${r.limitMemoryMb})`);
  }
}

/**
 * A task's resources with the lockdown's memory and CPU limits (container-security.ts) filled in
 * where `resources` sets none (0: no limit). Setting one limit in both places is refused.
 */
export function lockdownLimits(
  scope: string,
  prop: string,
  r: SwarmResourcesProps | undefined,
  security: { readonly memoryMb?: number; readonly cpus?: number } | undefined,
  lockdown: { readonly memoryMb: number; readonly cpus: number },
): SwarmResourcesProps | undefined {
  if (security?.memoryMb !== undefined && r?.limitMemoryMb !== undefined) throw propError(scope, `${prop}.limitMemoryMb`, r.limitMemoryMb, 'unset when security.memoryMb is set (one memory limit)');
  if (security?.cpus !== undefined && r?.limitCpus !== undefined) throw propError(scope, `${prop}.limitCpus`, r.limitCpus, 'unset when security.cpus is set (one CPU limit)');
  const limitMemoryMb = r?.limitMemoryMb ?? (lockdown.memoryMb === 0 ? undefined : lockdown.memoryMb);
  const limitCpus = r?.limitCpus ?? (lockdown.cpus === 0 ? undefined : lockdown.cpus);
  const out = { ...r, ...(limitMemoryMb !== undefined ? { limitMemoryMb } : {}), ...(limitCpus !== undefined ? { limitCpus } : {}) };
  return Object.keys(out).length ? out : undefined;
}

/** Swarm constraint expressions: `<attribute>==<value>` or `!=`. */
const CONSTRAINT_RE = /^[A-Za-z0-9_.-]+\s*(==|!=)\s*\S+$/;
const ATTRIBUTE_RE = /^(node\.labels\.|engine\.labels\.)?[A-Za-z0-9_.-]+$/;

export function validatePlacement(scope: string, prop: string, p: SwarmPlacementProps | undefined): void {
  if (p === undefined) return;
  checkObject(scope, prop, p, 'an object { constraints?, spreadOver?, maxReplicasPerNode? }');
  validateStringList(scope, `${prop}.constraints`, p.constraints, 'constraint expressions such as node.role==worker or node.labels.zone!=dmz', CONSTRAINT_RE);
  validateStringList(scope, `${prop}.spreadOver`, p.spreadOver, 'node attributes such as node.labels.zone', ATTRIBUTE_RE);
  validateInteger(scope, `${prop}.maxReplicasPerNode`, p.maxReplicasPerNode, 0, 1000);
}

/** The docker_service update_config or rollback_config block. */
export function updateBlock(u: SwarmUpdateProps | undefined, rollback = false) {
  const d = rollback ? ROLLBACK_DEFAULTS : UPDATE_DEFAULTS;
  return {
    parallelism: u?.parallelism ?? d.parallelism,
    delay: seconds(u?.delaySeconds ?? d.delaySeconds),
    order: u?.order ?? d.order,
    failureAction: u?.failureAction ?? d.failureAction,
    monitor: seconds(u?.monitorSeconds ?? d.monitorSeconds),
    maxFailureRatio: String(u?.maxFailureRatio ?? d.maxFailureRatio),
  };
}

/** The docker_service task_spec.restart_policy block. */
export function restartBlock(r: SwarmRestartProps | undefined) {
  return {
    condition: r?.condition ?? SwarmRestartCondition.ANY,
    delay: seconds(r?.delaySeconds ?? 5),
    maxAttempts: r?.maxAttempts ?? 0,
    window: seconds(r?.windowSeconds ?? 0),
  };
}

/** The docker_service task_spec.resources block, or undefined when nothing is set. */
export function resourcesBlock(r: SwarmResourcesProps | undefined) {
  const nano = (cpus: number) => (isUnresolved(cpus) ? Fn.floor(Op.mul(cpus, 1e9)) : Math.round(cpus * 1e9));
  const bytes = (mb: number) => (isUnresolved(mb) ? Op.mul(mb, MIB) : mb * MIB);
  const limits = {
    ...(r?.limitCpus !== undefined ? { nanoCpus: nano(r.limitCpus) } : {}),
    ...(r?.limitMemoryMb !== undefined ? { memoryBytes: bytes(r.limitMemoryMb) } : {}),
  };
  const reservation = {
    ...(r?.reserveCpus !== undefined ? { nanoCpus: nano(r.reserveCpus) } : {}),
    ...(r?.reserveMemoryMb !== undefined ? { memoryBytes: bytes(r.reserveMemoryMb) } : {}),
  };
  if (!Object.keys(limits).length && !Object.keys(reservation).length) return undefined;
  return { ...(Object.keys(limits).length ? { limits } : {}), ...(Object.keys(reservation).length ? { reservation } : {}) };
}

/** The docker_service task_spec.placement block, or undefined when nothing is set. */
export function placementBlock(p: SwarmPlacementProps | undefined, maxReplicasDefault = 0) {
  const max = p?.maxReplicasPerNode ?? maxReplicasDefault;
  const constraints = p?.constraints ?? [];
  const prefs = (p?.spreadOver ?? []).map((a) => `spread=${a}`);
  if (!constraints.length && !prefs.length && !max) return undefined;
  return {
    ...(constraints.length ? { constraints } : {}),
    ...(prefs.length ? { prefs } : {}),
    ...(max ? { maxReplicas: max } : {}),
  };
}

/** Checks the whole `swarm` prop of McpRouterPlatform. */
export function validateSwarmProps(scope: string, prop: string, s: SwarmProps | undefined): void {
  if (s === undefined) return;
  checkObject(scope, prop, s, 'an object of Swarm settings (SwarmProps)');
  validateSubnet(scope, `${prop}.subnet`, s.subnet);
  validateOneOf(scope, `${prop}.publishMode`, s.publishMode, Object.values(SwarmPublishMode));
  validateUpdate(scope, `${prop}.routerUpdate`, s.routerUpdate);
  validateUpdate(scope, `${prop}.routerRollback`, s.routerRollback);
  validateRestart(scope, `${prop}.routerRestart`, s.routerRestart);
  validateResources(scope, `${prop}.routerResources`, s.routerResources);
  validatePlacement(scope, `${prop}.routerPlacement`, s.routerPlacement);
  validateInteger(scope, `${prop}.routerStopGraceSeconds`, s.routerStopGraceSeconds, 1, 3600);
  validateInteger(scope, `${prop}.haproxyReplicas`, s.haproxyReplicas, 1, 100);
  validatePlacement(scope, `${prop}.haproxyPlacement`, s.haproxyPlacement);
  validatePlacement(scope, `${prop}.consulPlacement`, s.consulPlacement);
}
