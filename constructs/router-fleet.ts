/**
 * N MCP router containers on one Docker network, hostnames
 * `<hostnamePrefix>-1..N`. The count may be a number (validated at synth) or a
 * token such as a Terraform variable (validated by the variable at plan time).
 */
import { Container, ContainerConfig } from '@cdktf/provider-docker/lib/container';
import { Op, TerraformCount } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { LIMITS, PORTS, ROUTER_DEFAULTS, ROUTER_ENV, ROUTER_SERVICE } from '../router-app/src/contract';
import { AUTH_ENV, RouterAuthProps, routerAuthSettings, validateRouterAuth } from './router-auth';
import { containerLockdown, ContainerSecurityDefaults, ContainerSecurityProps, validateContainerSecurity } from './container-security';
import { isUnresolved, propError, validateInteger, validateIpv4, validateName, validateOneOf, validatePort, validateRequiredString } from './validation';
import { validateRouterEnvironment, validateSessionKeySource } from './router-env';
import { envFilesEntrypoint } from './env-files';
import { contextCommand } from './build-trigger';
import { ROUTER_APP_DIR } from './router-image';
import { scaleHeapFlags, validateRouterMemory, warnIfUnsizedHeap } from './router-heap';

/** Ports of the router process (router-app's contract). */
export const ROUTER_GRPC_PORT: number = PORTS.grpc;
export const ROUTER_ADMIN_PORT: number = PORTS.routerAdmin;
export const ROUTER_MCP_PORT: number = PORTS.mcp;
/** Where the session-keys file is mounted in a router container. */
const SESSION_KEYS_PATH = '/run/mcp-router/session-keys';
/**
 * Where a router's Consul ACL token file is: written at start by the entrypoint from
 * ROUTER_CONSUL_TOKEN_ENV onto a tmpfs (`consulToken`), or mounted from the host (`consulTokenHostPath`).
 */
export const ROUTER_CONSUL_TOKEN_PATH = '/run/mcp-router/consul-token';
/** The variable that carries `consulToken` to the router's entrypoint (unset before the router starts). */
export const ROUTER_CONSUL_TOKEN_ENV = 'MCP_ROUTER_CONSUL_TOKEN';
/**
 * The router image's command (router-app/Dockerfile's CMD, read at load with the Dockerfile
 * parser), run by the token entrypoint: a container given an entrypoint does not get its image's CMD.
 */
export const ROUTER_COMMAND: readonly string[] = contextCommand(ROUTER_APP_DIR);
/** The tmpfs for the token file (`consulToken`), owned by the image's "node" user (uid/gid 1000), 0700. */
const ROUTER_SECRETS_TMPFS = { '/run/mcp-router': 'size=64k,uid=1000,gid=1000,mode=0700' };
/**
 * A router's lockdown defaults. Memory: the image runs node with --max-semi-space-size=16
 * --max-old-space-size=96 (sized for this default; another limit scales them, routerCommandFor), and the bench measured a router's peak RSS under load at ~131 MiB
 * with them (bench/FINDINGS.md §8, ~92 MiB idle after load); 256 MiB leaves ~2x that for what
 * V8's old-space cap does not bound (new space, code, gRPC and HTTP/2 buffers: calls and
 * answers up to 4 MiB each, 256 calls at once by default). CPU: a router's JavaScript runs on one thread, and the bench's scaling runs
 * show one router per core as the shape that scales (bench/RESULTS.md item 8).
 */
export const ROUTER_SECURITY_DEFAULTS: ContainerSecurityDefaults = { memoryMb: 256, cpus: 1, tmpfs: { '/tmp': 'size=16m' } };

/**
 * The router command for a memory limit in MiB: the image's CMD with its heap flags scaled from
 * the default limit (router-heap.ts), or undefined when the image's own CMD fits (the default
 * limit, no limit (0), or a limit given as a token, which is unknown until apply).
 */
export function routerCommandFor(memoryMb: number | undefined): string[] | undefined {
  if (memoryMb === undefined || memoryMb === 0 || isUnresolved(memoryMb)) return undefined;
  return scaleHeapFlags(ROUTER_COMMAND, memoryMb, ROUTER_SECURITY_DEFAULTS.memoryMb);
}

/**
 * What a router construct does with its memory limit (`prop` names it in errors and warnings):
 * refuses one below ROUTER_MIN_MEMORY_MB, warns about a token, and returns routerCommandFor's command.
 */
export function sizedRouterCommand(scope: IConstruct, construct: string, prop: string, memoryMb: number | undefined): string[] | undefined {
  validateRouterMemory(construct, prop, memoryMb);
  warnIfUnsizedHeap(scope, prop, memoryMb);
  return routerCommandFor(memoryMb);
}

/** Docker restart policy of the router containers. */
export enum RestartPolicy {
  NO = 'no',
  ON_FAILURE = 'on-failure',
  ALWAYS = 'always',
  UNLESS_STOPPED = 'unless-stopped',
}

export interface RouterFleetProps {
  /** How many routers: a number from 1 to `maxInstances`, or a token (e.g. a TerraformVariable's `numberValue`). */
  readonly instanceCount: number;
  /** Upper bound for `instanceCount` (HAProxy's server-template slots). @default 10 */
  readonly maxInstances?: number;
  /** Image to run (e.g. RouterImage.imageRef, or your own registry image). */
  readonly image: string;
  /** Docker network to join. */
  readonly networkName: string;
  /**
   * Consul agent address on the network (CONSUL_HOST); may be a template with `${count.index}`
   * (each router's own client agent).
   */
  readonly consulHost: string;
  /** Consul HTTP port (CONSUL_PORT). @default 8500 */
  readonly consulPort?: number;
  /**
   * Consul service name the routers register under (MCP_ROUTER_SERVICE_NAME); HAProxy
   * must resolve the same name. @default 'mcp-router'
   */
  readonly serviceName?: string;
  /** Container name and hostname prefix. @default 'mcp-router' */
  readonly hostnamePrefix?: string;
  /** Extra environment for every router (e.g. MCP_BACKENDS, LOG_LEVEL). Keys must not override the platform's own. @default {} */
  readonly environment?: { [name: string]: string };
  /**
   * CPU limit per router, in CPUs (the seed's `limits.cpus`); 0 for no limit. The same as
   * `security.cpus` (set one of them). @default 1 (ROUTER_SECURITY_DEFAULTS: a router's JavaScript runs on one core)
   */
  readonly cpus?: number;
  /**
   * Memory limit per router in MiB (the seed's `limits.memory`); 0 for no limit. The same as
   * `security.memoryMb` (set one of them). A literal limit other than the default runs the image's
   * CMD with its V8 heap flags scaled to it (routerCommandFor). @default 256 (ROUTER_SECURITY_DEFAULTS)
   */
  readonly memoryMb?: number;
  /**
   * Lockdown of the router containers: read-only root filesystem (a tmpfs on /tmp), all
   * capabilities dropped, no-new-privileges, memory and CPU limits, log rotation. Set a
   * field to relax it. @default every setting locked down (see ContainerSecurityProps)
   */
  readonly security?: ContainerSecurityProps;
  /**
   * Keys that sign the MCP front door's session IDs (`<id>=<secret>,...`, the
   * first signs, all verify), so every router accepts every session. Give a
   * Terraform reference (e.g. a random_password's `result`): the secret then
   * lives in Terraform state, never in the plan; a literal is refused.
   * @default none (each router signs with a key of its own; McpRouterPlatform always supplies keys)
   */
  readonly sessionKeys?: string;
  /**
   * Instead of `sessionKeys`: absolute path of a file with the keys on the Docker
   * host, mounted read-only into every router. @default none
   */
  readonly sessionKeysHostPath?: string;
  /**
   * The routers' Consul ACL token, as a Terraform reference (e.g. a Consul token secret read by
   * the Consul provider); a literal is refused. It reaches each router in its environment
   * (MCP_ROUTER_CONSUL_TOKEN), and the container's entrypoint (`/bin/sh -c`) writes it to a tmpfs
   * file (/run/mcp-router/consul-token, CONSUL_HTTP_TOKEN_FILE), unsets the variable and execs
   * the router (ROUTER_COMMAND, the router image's CMD: an image with another command needs
   * `consulTokenHostPath`). The root filesystem stays read-only; `docker inspect` shows the
   * variable, the router's own environment does not. @default none (no token)
   */
  readonly consulToken?: string;
  /**
   * Instead of `consulToken`: absolute path of a file holding the token on the Docker host,
   * mounted read-only into every router (e.g. for an existing Consul with ACLs). @default none
   */
  readonly consulTokenHostPath?: string;
  /** Docker restart policy. @default RestartPolicy.UNLESS_STOPPED */
  readonly restartPolicy?: RestartPolicy;
  /**
   * Publish router i's gRPC port on the host at `hostPortBase + i - 1` (debugging;
   * clients should use HAProxy). @default not published
   */
  readonly hostPortBase?: number;
  /** Host address for `hostPortBase`. @default '127.0.0.1' */
  readonly hostPortAddress?: string;
  /** Seconds Docker waits after SIGTERM before SIGKILL; covers drain delay + grace. @default 20 */
  readonly stopTimeoutSeconds?: number;
  /**
   * Who may call what: JWT and/or API key authentication, authorization rules, who sees
   * internals, per-identity rate limits (the same on the gRPC and MCP doors).
   * @default undefined: no authentication (MCP_ROUTER_AUTH=none)
   */
  readonly auth?: RouterAuthProps;
  /**
   * Absolute path of a directory on the Docker host with per-backend credential files
   * (`<name>.json`: static headers such as a backend's own API key), mounted read-only; a
   * backend names its file in `MCP_BACKENDS` (`credentials`) or Consul meta `mcp_credentials`.
   * @default none (no backend gets credentials)
   */
  readonly backendCredentialsHostDir?: string;
}

const ID = 'RouterFleet';
const E = ROUTER_ENV;
/** Variables the fleet sets itself: `environment` may not override them. */
const RESERVED_ENV: readonly string[] = [E.consulHost, E.consulPort, E.port, E.metricsPort, E.mcpPort, E.serviceName, E.sessionKeys, E.sessionKeysFile, E.consulToken, E.consulTokenFile, ROUTER_CONSUL_TOKEN_ENV, ...AUTH_ENV];
const RESTART_POLICIES: readonly RestartPolicy[] = Object.values(RestartPolicy);

export class RouterFleet extends Construct {
  /** The router containers (one resource with `count`). */
  public readonly containers: Container;
  /** Terraform expression: list of router container names. */
  public readonly instanceNames: string;
  /** The routers' gRPC port (router-app's contract): 50051. */
  public static readonly GRPC_PORT: number = ROUTER_GRPC_PORT;
  /** The routers' admin port (/metrics, /healthz, /readyz): 9464. */
  public static readonly ADMIN_PORT: number = ROUTER_ADMIN_PORT;
  /** The routers' MCP front-door port: 8080. */
  public static readonly MCP_PORT: number = ROUTER_MCP_PORT;

  /** The routers' gRPC port on the network. */
  public readonly grpcPort: number = ROUTER_GRPC_PORT;
  /** The routers' admin port on the network. */
  public readonly adminPort: number = ROUTER_ADMIN_PORT;
  /** The routers' MCP front-door port on the network. */
  public readonly mcpPort: number = ROUTER_MCP_PORT;

  constructor(scope: Construct, id: string, props: RouterFleetProps) {
    super(scope, id);
    const maxInstances = props.maxInstances ?? LIMITS.maxInstances.default;
    validateInteger(ID, 'maxInstances', maxInstances, LIMITS.maxInstances.min, LIMITS.maxInstances.max);
    if (props.instanceCount === undefined) throw propError(ID, 'instanceCount', undefined, `an integer from 1 to ${maxInstances} (maxInstances) or a token`);
    validateInteger(ID, 'instanceCount', props.instanceCount, 1, maxInstances, ` (maxInstances); raise maxInstances for more routers`);
    const prefix = props.hostnamePrefix ?? ROUTER_SERVICE.name;
    validateName(ID, 'hostnamePrefix', prefix);
    const serviceName = props.serviceName ?? ROUTER_SERVICE.name;
    validateName(ID, 'serviceName', serviceName);
    validateRequiredString(ID, 'networkName', props.networkName, 'a Docker network name (or a docker_network resource\'s name)');
    validateRequiredString(ID, 'consulHost', props.consulHost, 'the host name or IP of a Consul agent reachable on the network');
    validateOneOf(ID, 'restartPolicy', props.restartPolicy, RESTART_POLICIES);
    validatePort(ID, 'consulPort', props.consulPort);
    if (props.cpus !== undefined && props.security?.cpus !== undefined) throw propError(ID, 'cpus', props.cpus, 'left unset when security.cpus is set (one CPU limit)');
    if (props.memoryMb !== undefined && props.security?.memoryMb !== undefined) throw propError(ID, 'memoryMb', props.memoryMb, 'left unset when security.memoryMb is set (one memory limit)');
    // cpus and memoryMb are checked as the security settings they are, under their own names.
    const limit = (prop: 'cpus' | 'memoryMb') => (props[prop] === undefined ? {} : { [prop]: props[prop] });
    validateContainerSecurity(ID, '', { ...limit('cpus'), ...limit('memoryMb') });
    // A token given as a Terraform reference is written by the entrypoint to a tmpfs (env-files.ts);
    // consulTokenHostPath mounts the host's file instead.
    const lockdown = containerLockdown(ID, 'security', { ...props.security, ...limit('cpus'), ...limit('memoryMb') }, {
      ...ROUTER_SECURITY_DEFAULTS,
      ...(props.consulToken !== undefined ? { secretsTmpfs: ROUTER_SECRETS_TMPFS } : {}),
    });
    validateInteger(ID, 'stopTimeoutSeconds', props.stopTimeoutSeconds, 1, 3600);
    validateIpv4(ID, 'hostPortAddress', props.hostPortAddress);
    if (props.hostPortBase !== undefined) {
      validateInteger(ID, 'hostPortBase', props.hostPortBase, 1, 65535 - maxInstances + 1, ` (so that maxInstances (${maxInstances}) ports fit)`);
    }
    validateRequiredString(ID, 'image', props.image, 'a non-empty image reference (e.g. RouterImage.imageRef or registry/mcp-router:1.0)');
    const env = validateRouterEnvironment(ID, props.environment, RESERVED_ENV);

    const keysPath = props.sessionKeysHostPath;
    validateSessionKeySource(ID, props.sessionKeys, keysPath, 'on the Docker host');
    if (props.consulToken !== undefined && !isUnresolved(props.consulToken) && !/\$\{/.test(props.consulToken)) {
      throw propError(ID, 'consulToken', '(a literal string)', "a Terraform reference such as a Consul token secret's secret_id (a literal would put the secret in the plan), or use consulTokenHostPath");
    }
    const tokenPath = props.consulTokenHostPath;
    if (tokenPath !== undefined && !isUnresolved(tokenPath) && (typeof tokenPath !== 'string' || !/^\/[^\s]*[^\s/]$/.test(tokenPath))) {
      throw propError(ID, 'consulTokenHostPath', tokenPath, 'an absolute path of a file on the Docker host');
    }
    if (props.consulToken !== undefined && tokenPath !== undefined) throw propError(ID, 'consulTokenHostPath', tokenPath, 'left unset when consulToken is given (one source of the token)');
    const hasToken = props.consulToken !== undefined || tokenPath !== undefined;
    // The token file's content is a Terraform reference: the value exists at apply time only.
    const tokenFile =
      props.consulToken !== undefined
        ? envFilesEntrypoint(ID, 'router-entrypoint', [{ variable: ROUTER_CONSUL_TOKEN_ENV, path: ROUTER_CONSUL_TOKEN_PATH, content: props.consulToken }])
        : undefined;
    validateRouterAuth(ID, 'auth', props.auth);
    const credsDir = props.backendCredentialsHostDir;
    if (credsDir !== undefined && !isUnresolved(credsDir) && (typeof credsDir !== 'string' || !/^\/[^\s]*$/.test(credsDir))) {
      throw propError(ID, 'backendCredentialsHostDir', credsDir, 'an absolute path of a directory on the Docker host');
    }
    const auth = routerAuthSettings(props.auth, credsDir);
    const volumes = [
      ...(keysPath !== undefined ? [{ hostPath: keysPath, containerPath: SESSION_KEYS_PATH, readOnly: true }] : []),
      ...(tokenPath !== undefined ? [{ hostPath: tokenPath, containerPath: ROUTER_CONSUL_TOKEN_PATH, readOnly: true }] : []),
      ...auth.volumes,
    ];

    const command = sizedRouterCommand(this, ID, props.memoryMb !== undefined ? 'memoryMb' : 'security.memoryMb', lockdown.attributes.memory);
    const stopSeconds = props.stopTimeoutSeconds ?? 20;
    const count = TerraformCount.of(props.instanceCount);
    const name = `${prefix}-\${count.index + 1}`;
    const config: ContainerConfig = {
      count,
      name,
      hostname: name,
      image: props.image,
      restart: props.restartPolicy ?? RestartPolicy.UNLESS_STOPPED,
      stopSignal: 'SIGTERM',
      stopTimeout: stopSeconds,
      // The provider's destroy (scale-down, replacement) stops with destroy_grace_seconds,
      // SIGKILL right away when unset; give it the same grace as `docker stop` so a router
      // removed by a lower count drains like a stopped one.
      destroyGraceSeconds: stopSeconds,
      networksAdvanced: [{ name: props.networkName }],
      env: [
        `${E.consulHost}=${props.consulHost}`,
        `${E.consulPort}=${props.consulPort ?? ROUTER_DEFAULTS.consulPort}`,
        `${E.port}=${ROUTER_GRPC_PORT}`,
        `${E.metricsPort}=${ROUTER_ADMIN_PORT}`,
        `${E.mcpPort}=${ROUTER_MCP_PORT}`,
        `${E.serviceName}=${serviceName}`,
        ...(props.sessionKeys !== undefined ? [`${E.sessionKeys}=${props.sessionKeys}`] : []),
        ...(keysPath !== undefined ? [`${E.sessionKeysFile}=${SESSION_KEYS_PATH}`] : []),
        ...(hasToken ? [`${E.consulTokenFile}=${ROUTER_CONSUL_TOKEN_PATH}`] : []),
        ...(tokenFile?.env ?? []),
        ...auth.env,
        ...Object.entries(env)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k}=${v}`),
      ],
      healthcheck: { test: ['CMD', 'node', 'dist/healthcheck.js'], interval: '10s', timeout: '3s', retries: 3, startPeriod: '10s' },
      ...lockdown.attributes,
      ...(volumes.length > 0 ? { volumes } : {}),
      ...(tokenFile !== undefined ? { entrypoint: tokenFile.entrypoint } : {}),
      // The image's CMD, or its heap flags scaled to the memory limit; stated whenever there is an entrypoint (which drops the image's CMD).
      ...(command !== undefined || tokenFile !== undefined ? { command: command ?? [...ROUTER_COMMAND] } : {}),
      ...(props.hostPortBase !== undefined
        ? {
            ports: [
              {
                internal: ROUTER_GRPC_PORT,
                // One port per router: base + count.index (a literal base or a token such as a variable).
                external: Op.add(count.index, props.hostPortBase),
                ip: props.hostPortAddress ?? '127.0.0.1',
              },
            ],
          }
        : {}),
    };
    this.containers = new Container(this, 'Router', config);
    this.instanceNames = `\${${this.containers.fqn}[*].name}`;
  }
}
