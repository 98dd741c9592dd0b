/**
 * The MCP routers as one Docker Swarm service: `replicas` = the router count (a
 * number or a token such as a Terraform variable), on an overlay network, with a
 * zero-downtime rolling update (start-first: a new task is healthy before the old
 * one drains), rollback, restart policy, resources and placement.
 *
 * Each task registers in Consul with its address on the overlay network
 * (MCP_ROUTER_ADVERTISE_CIDR = the overlay's subnet: a task also has addresses on
 * docker_gwbridge and, with the routing mesh, on ingress, in no promised order) and
 * an instance ID made of its task name, so the old and the new task of a slot never
 * share a registration during an update.
 */
import { Service, ServiceConfig } from '@cdktf/provider-docker/lib/service';
import { Construct } from 'constructs';
import { LIMITS, PORTS, ROUTER_DEFAULTS, ROUTER_ENV, ROUTER_SERVICE } from '../../router-app/src/contract';
import { AUTH_ENV, RouterAuthProps, routerAuthSettings, validateRouterAuth } from '../router-auth';
import { ContainerSecurityProps, serviceLockdown } from '../container-security';
import { ROUTER_SECURITY_DEFAULTS, sizedRouterCommand } from '../router-fleet';
import { isUnresolved, propError, validateInteger, validateName, validatePort, validateRequiredString } from '../validation';
import { validateRouterEnvironment, validateSessionKeySource } from '../router-env';
import {
  placementBlock,
  resourcesBlock,
  restartBlock,
  SwarmPlacementProps,
  SwarmResourcesProps,
  SwarmRestartProps,
  SwarmUpdateProps,
  lockdownLimits,
  updateBlock,
  validatePlacement,
  validateResources,
  validateRestart,
  validateSubnet,
  validateUpdate,
} from './swarm-options';

/** Where the session-keys file is mounted in a router task. */
const SESSION_KEYS_PATH = '/run/mcp-router/session-keys';

export interface RouterServiceProps {
  /** How many router tasks: a number from 1 to `maxInstances`, or a token (e.g. a TerraformVariable's `numberValue`). */
  readonly instanceCount: number;
  /** Upper bound for `instanceCount` (HAProxy's server-template slots). @default 10 */
  readonly maxInstances?: number;
  /** Image every node can get (a registry reference on a multi-node swarm; a local build on one node). */
  readonly image: string;
  /** The overlay network (a name or a docker_network resource's `name`). */
  readonly networkName: string;
  /** The overlay network's subnet: each task registers its address in it. */
  readonly subnet: string;
  /** Consul agent address on the network (CONSUL_HOST). */
  readonly consulHost: string;
  /** @default 8500 */
  readonly consulPort?: number;
  /** Consul service name the routers register under. @default 'mcp-router' */
  readonly serviceName?: string;
  /** Name of the Swarm service. @default 'mcp-router' */
  readonly swarmServiceName?: string;
  /** Extra environment (e.g. MCP_BACKENDS, LOG_LEVEL); the platform's own variables cannot be overridden. @default {} */
  readonly environment?: { [name: string]: string };
  /** Session-signing keys as a Terraform reference (never a literal). @default none */
  readonly sessionKeys?: string;
  /** Instead of `sessionKeys`: a keys file at this absolute path on every node, mounted read-only. @default none */
  readonly sessionKeysHostPath?: string;
  /** Authentication and authorization (files it names must be on every node). @default no authentication */
  readonly auth?: RouterAuthProps;
  /** Directory of per-backend credential files on every node, mounted read-only. @default none */
  readonly backendCredentialsHostDir?: string;
  /** Rolling update. @default parallelism 1, start-first, delay 5 s, monitor 15 s, failure action rollback */
  readonly update?: SwarmUpdateProps;
  /** Rollback. @default parallelism 1, start-first, delay 0, monitor 5 s, failure action pause */
  readonly rollback?: SwarmUpdateProps;
  /** Restart policy. @default condition any, delay 5 s, no attempt limit */
  readonly restart?: SwarmRestartProps;
  /** Limits and reservations of each task. @default none */
  readonly resources?: SwarmResourcesProps;
  /** Constraints, spread preferences, most tasks per node. @default anywhere */
  readonly placement?: SwarmPlacementProps;
  /** Seconds after SIGTERM before SIGKILL (covers the router's drain delay + grace). @default 20 */
  readonly stopGraceSeconds?: number;
  /**
   * The tasks' lockdown, as for the router containers: read-only root with a tmpfs on /tmp, every
   * capability dropped, json-file log rotation, memory and CPU limits (used where `resources` sets
   * none). `noNewPrivileges` is not available on a Swarm service (refused when true).
   * @default read-only root, no capabilities, logs 10 MiB x 3, 256 MiB and 1 CPU
   */
  readonly security?: ContainerSecurityProps;
}

const ID = 'RouterService';
const E = ROUTER_ENV;
/** Variables the service sets itself. */
const RESERVED_ENV: readonly string[] = [
  E.consulHost, E.consulPort, E.port, E.metricsPort, E.mcpPort, E.serviceName, E.sessionKeys, E.sessionKeysFile,
  E.advertiseAddress, E.advertiseCidr, E.instanceId, E.hostname, ...AUTH_ENV,
];

export class RouterService extends Construct {
  /** The docker_service. */
  public readonly service: Service;
  /** Name of the Swarm service (`docker service ps <name>`). */
  public readonly serviceName: string;

  constructor(scope: Construct, id: string, props: RouterServiceProps) {
    super(scope, id);
    const maxInstances = props.maxInstances ?? LIMITS.maxInstances.default;
    validateInteger(ID, 'maxInstances', maxInstances, LIMITS.maxInstances.min, LIMITS.maxInstances.max);
    if (props.instanceCount === undefined) throw propError(ID, 'instanceCount', undefined, `an integer from 1 to ${maxInstances} (maxInstances) or a token`);
    validateInteger(ID, 'instanceCount', props.instanceCount, 1, maxInstances, ' (maxInstances); raise maxInstances for more routers');
    const consulServiceName = props.serviceName ?? ROUTER_SERVICE.name;
    validateName(ID, 'serviceName', consulServiceName);
    const swarmName = props.swarmServiceName ?? ROUTER_SERVICE.name;
    validateName(ID, 'swarmServiceName', swarmName);
    validateRequiredString(ID, 'image', props.image, 'a non-empty image reference (on a multi-node swarm, one every node can pull)');
    validateRequiredString(ID, 'networkName', props.networkName, 'the overlay network\'s name');
    validateRequiredString(ID, 'consulHost', props.consulHost, 'the host name or IP of a Consul agent on the overlay network');
    validateSubnet(ID, 'subnet', props.subnet);
    validatePort(ID, 'consulPort', props.consulPort);
    validateUpdate(ID, 'update', props.update);
    validateUpdate(ID, 'rollback', props.rollback);
    validateRestart(ID, 'restart', props.restart);
    validateResources(ID, 'resources', props.resources);
    validatePlacement(ID, 'placement', props.placement);
    validateInteger(ID, 'stopGraceSeconds', props.stopGraceSeconds, 1, 3600);
    const env = validateRouterEnvironment(ID, props.environment, RESERVED_ENV);
    const keysPath = props.sessionKeysHostPath;
    validateSessionKeySource(ID, props.sessionKeys, keysPath, 'present on every node');
    validateRouterAuth(ID, 'auth', props.auth);
    const credsDir = props.backendCredentialsHostDir;
    if (credsDir !== undefined && !isUnresolved(credsDir) && (typeof credsDir !== 'string' || !/^\/[^\s]*$/.test(credsDir))) {
      throw propError(ID, 'backendCredentialsHostDir', credsDir, 'an absolute path of a directory present on every node');
    }
    const auth = routerAuthSettings(props.auth, credsDir);
    const binds = [...(keysPath !== undefined ? [{ hostPath: keysPath, containerPath: SESSION_KEYS_PATH, readOnly: true }] : []), ...auth.volumes];

    const pairs: [string, string][] = [
      [E.consulHost, props.consulHost],
      [E.consulPort, String(props.consulPort ?? ROUTER_DEFAULTS.consulPort)],
      [E.port, String(PORTS.grpc)],
      [E.metricsPort, String(PORTS.routerAdmin)],
      [E.mcpPort, String(PORTS.mcp)],
      [E.serviceName, consulServiceName],
      [E.advertiseCidr, props.subnet],
      // Swarm templates, expanded per task: a readable host name, a unique instance ID.
      [E.hostname, '{{.Service.Name}}-{{.Task.Slot}}'],
      [E.instanceId, `${ROUTER_SERVICE.idPrefix}{{.Task.Name}}`],
      ...(props.sessionKeys !== undefined ? [[E.sessionKeys, props.sessionKeys] as [string, string]] : []),
      ...(keysPath !== undefined ? [[E.sessionKeysFile, SESSION_KEYS_PATH] as [string, string]] : []),
      ...auth.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
      ...Object.entries(env).sort(([a], [b]) => a.localeCompare(b)),
    ];
    const lockdown = serviceLockdown(ID, 'security', props.security, ROUTER_SECURITY_DEFAULTS);
    const limits = lockdownLimits(ID, 'resources', props.resources, props.security, lockdown);
    const resources = resourcesBlock(limits);
    // The image's CMD with its heap flags scaled to the task's memory limit (undefined: the image's own fits).
    const args = sizedRouterCommand(this, ID, props.resources?.limitMemoryMb !== undefined ? 'resources.limitMemoryMb' : 'security.memoryMb', limits?.limitMemoryMb);
    const placement = placementBlock(props.placement);
    const config: ServiceConfig = {
      name: swarmName,
      mode: { replicated: { replicas: props.instanceCount } },
      taskSpec: {
        containerSpec: {
          image: props.image,
          hostname: '{{.Service.Name}}-{{.Task.Slot}}',
          env: Object.fromEntries(pairs),
          ...(args !== undefined ? { args } : {}),
          stopSignal: 'SIGTERM',
          stopGracePeriod: `${props.stopGraceSeconds ?? 20}s`,
          // Swarm kills a task whose check fails `retries` times in a row (one host only marks it), so
          // the check is patient: a busy node must not lose routers to slow `node` start-ups.
          healthcheck: { test: ['CMD', 'node', 'dist/healthcheck.js'], interval: '10s', timeout: '10s', retries: 3, startPeriod: '30s' },
          ...lockdown.containerSpec,
          ...(binds.length + lockdown.mounts.length ? { mounts: [...binds.map((b) => ({ type: 'bind', source: b.hostPath, target: b.containerPath, readOnly: b.readOnly })), ...lockdown.mounts] } : {}),
        },
        networksAdvanced: [{ name: props.networkName }],
        ...(lockdown.logDriver ? { logDriver: lockdown.logDriver } : {}),
        restartPolicy: restartBlock(props.restart),
        ...(resources ? { resources } : {}),
        ...(placement ? { placement } : {}),
      },
      updateConfig: updateBlock(props.update),
      rollbackConfig: updateBlock(props.rollback, true),
      // HAProxy finds the tasks through Consul: no virtual IP (IPVS) in front of them.
      endpointSpec: { mode: 'dnsrr' },
    };
    this.service = new Service(this, 'Service', config);
    this.serviceName = swarmName;
  }
}
