/**
 * HAProxy in front of the routers. Its haproxy.cfg is rendered by
 * haproxy-templates' renderHaproxyConfig and handed to the container in its
 * environment (written to a tmpfs at start, env-files.ts); a
 * config change replaces the container. The public gRPC port is published on
 * `publicBindAddress`, the stats page on `adminBindAddress` (127.0.0.1).
 */
import { Container } from '@cdktf/provider-docker/lib/container';
import { Image } from '@cdktf/provider-docker/lib/image';
import { Construct } from 'constructs';
import { HaproxyRoutingOptions, renderHaproxyConfig, resolveHaproxyConfigOptions, ResolvedHaproxyConfigOptions, STATS_HEALTH_PATH } from '../haproxy-templates';
import { PATHS, PORTS } from '../router-app/src/contract';
import { containerLockdown, ContainerSecurityDefaults, ContainerSecurityProps } from './container-security';
import { envFilesEntrypoint } from './env-files';
import { checkObject, isUnresolved, propError, resolveAs, resolveEnableMcp, validateContainerPublishing, validateImage, validateLiteral, validatePort, validateRequiredString } from './validation';

export interface HaproxyLoadBalancerProps {
  /** Docker network shared with the routers and Consul. */
  readonly networkName: string;
  /** Consul DNS server on the network (host name or IP). */
  readonly consulDnsAddress: string;
  /**
   * Further Consul DNS servers (the other servers of a cluster): HAProxy's `resolvers` section
   * lists `consulDnsAddress` and these, and asks them all. @default none
   */
  readonly consulDnsAddresses?: string[];
  /** @default 8600 */
  readonly consulDnsPort?: number;
  /** Container name. @default 'mcp-haproxy' */
  readonly containerName?: string;
  /** HAProxy image (2.6 or newer). @default 'haproxy:2.8-alpine' */
  readonly image?: string;
  /** Host address for the public gRPC port. @default '0.0.0.0' */
  readonly publicBindAddress?: string;
  /** Host port for gRPC. @default 50051 */
  readonly publicPort?: number;
  /** Host address for the stats page. @default '127.0.0.1' */
  readonly adminBindAddress?: string;
  /** Host port for the stats page. @default 8404 */
  readonly statsPort?: number;
  /**
   * Host port of the public MCP endpoint (Streamable HTTP at /mcp, balanced per
   * request over the routers' MCP front doors), published on `publicBindAddress`.
   * @default 8080
   */
  readonly mcpPort?: number;
  /** `false` leaves the public MCP endpoint out (then `mcpPort` must be unset). @default true */
  readonly enableMcp?: boolean;
  /**
   * TLS termination: absolute path of a PEM file (certificate + key) on the Docker
   * host, mounted read-only into the container; the public listener then speaks TLS
   * (ALPN h2). The key stays on the host: nothing secret enters the plan.
   * @default undefined (plaintext gRPC)
   */
  readonly tlsCertificateHostPath?: string;
  /**
   * Basic authentication of the stats page and its Prometheus /metrics: absolute path of a
   * file on the Docker host holding an HAProxy userlist named `mcp_stats_users`, e.g.
   * `userlist mcp_stats_users` / `    user admin password $6$…` (a crypt(3) hash; `npm run auth --
   * stats-user admin` writes one). Mounted read-only and loaded before haproxy.cfg, so no
   * credential is in the plan; HAProxy does not start without it.
   * @default undefined (no authentication: the stats page is only on `adminBindAddress`)
   */
  readonly statsAuthHostPath?: string;
  /**
   * Renderer options (mode, balance, health check, timeouts, maxInstances, sticky
   * sessions, rate limit, TLS...). Listener addresses/ports and nameservers are
   * set by this construct. @default the renderer's defaults (http mode, roundrobin)
   */
  readonly config?: HaproxyRoutingOptions;
  /**
   * Lockdown of the HAProxy container: read-only root filesystem (its config is written to a
   * tmpfs on /run/haproxy at start), all capabilities dropped (every port it listens on is above
   * 1024), no-new-privileges, memory and CPU limits, log rotation. Set a field to relax it.
   * @default every setting locked down; memory 64 MiB + 48 KiB per `maxconn`, CPUs `nbthread` or 2
   */
  readonly security?: ContainerSecurityProps;
}

/** The userlist a `statsAuthHostPath` file defines. */
export const STATS_USERLIST = 'mcp_stats_users';

const ID = 'HaproxyLoadBalancer';
/** Where the container's entrypoint writes the rendered config (from MCP_HAPROXY_CONFIG) at start. */
const CONFIG_PATH = '/run/haproxy/haproxy.cfg';
const CONFIG_ENV = 'MCP_HAPROXY_CONFIG';
/**
 * The container's entrypoint (env-files.ts): writes the config from the environment (a read-only
 * container cannot take the provider's `upload`: the engine refuses to copy into its root
 * filesystem), readable by HAProxy's user only, unsets the variable, then runs the image's own
 * entrypoint with the command.
 */
const ENTRYPOINT_NAME = 'haproxy-entrypoint';
const TLS_PATH = '/usr/local/etc/haproxy/certs/server.pem';
const STATS_USERS_PATH = '/usr/local/etc/haproxy/stats-users.cfg';
/** Linux's default nr_open: the most file descriptors a container can be given. */
const MAX_NOFILE = 1_048_576;

/**
 * File descriptors HAProxy needs: two per proxied connection (`maxconn`), one per
 * server slot's check and its connection, and room for listeners, resolvers and
 * logs; at most MAX_NOFILE.
 */
export function haproxyNofile(maxconn: number, maxInstances: number): number {
  return Math.min(MAX_NOFILE, 2 * maxconn + 2 * maxInstances + 1024);
}

/**
 * HAProxy's lockdown defaults. Memory: 64 MiB for the process, its resolvers and stats, plus
 * 48 KiB per `maxconn` (two 16 KiB buffers per proxied connection, HTTP/2 and session state),
 * so a full `maxconn` fits (10000: 533 MiB); HAProxy allocates buffers as connections come,
 * so an idle one uses a small part of it. /run/haproxy, where the entrypoint writes the config,
 * is a tmpfs owned by the image's "haproxy" user (uid/gid 99 in the official images). CPU: `nbthread` when set, else 2; the bench measured
 * 25-60 ms of HAProxy CPU per 1,000 calls in http mode (bench/RESULTS.md item 8), so 2 CPUs
 * carry ~35-80k calls/s, the single-core rate of 4-8 routers; raise it with more routers.
 */
export function haproxySecurityDefaults(maxconn: number, nbthread: number | undefined): ContainerSecurityDefaults {
  return { memoryMb: 64 + Math.ceil((maxconn * 48) / 1024), cpus: nbthread ?? 2, tmpfs: { '/run/haproxy': 'size=4m,uid=99,gid=99' } };
}

export class HaproxyLoadBalancer extends Construct {
  /**
   * File descriptors HAProxy needs for `maxconn` and `maxInstances` (the container's
   * `nofile` ulimit): two per proxied connection, two per server slot, 1024 spare;
   * at most 1048576.
   */
  public static nofileFor(maxconn: number, maxInstances: number): number {
    return haproxyNofile(maxconn, maxInstances);
  }

  public readonly container: Container;
  public readonly image: Image;
  /** The rendered haproxy.cfg. */
  public readonly configText: string;
  /** The renderer options after defaults. */
  public readonly options: ResolvedHaproxyConfigOptions;
  /** Client endpoint on the host, e.g. 127.0.0.1:50051. */
  public readonly endpoint: string;
  /** MCP URL on the host, e.g. http://127.0.0.1:8080/mcp (undefined when enableMcp is false). */
  public readonly mcpUrl?: string;
  /** Stats page URL on the host. */
  public readonly statsUrl: string;

  constructor(scope: Construct, id: string, props: HaproxyLoadBalancerProps) {
    super(scope, id);
    const containerName = props.containerName ?? 'mcp-haproxy';
    const publicBind = props.publicBindAddress ?? '0.0.0.0';
    const adminBind = props.adminBindAddress ?? '127.0.0.1';
    const publicPort = props.publicPort ?? PORTS.grpc;
    const statsPort = props.statsPort ?? PORTS.haproxyStats;
    const enableMcp = resolveEnableMcp(ID, props.enableMcp, props.mcpPort);
    const mcpPort = enableMcp ? (props.mcpPort ?? PORTS.mcp) : undefined;
    validateContainerPublishing(ID, {
      containerName,
      addresses: { publicBindAddress: publicBind, adminBindAddress: adminBind },
      ports: { publicPort, statsPort, ...(mcpPort !== undefined ? { mcpPort } : {}) },
    });
    validatePort(ID, 'consulDnsPort', props.consulDnsPort);
    validateRequiredString(ID, 'networkName', props.networkName, 'a Docker network name (or a docker_network resource\'s name)');
    // The address is written into haproxy.cfg, so it must be known at synth.
    validateLiteral(ID, 'consulDnsAddress', props.consulDnsAddress);
    validateLiteral(ID, 'consulDnsPort', props.consulDnsPort);
    if (typeof props.consulDnsAddress !== 'string' || props.consulDnsAddress === '') {
      throw propError(ID, 'consulDnsAddress', props.consulDnsAddress, 'the Consul DNS host name or IP on the network');
    }
    const extraDns = props.consulDnsAddresses ?? [];
    if (!Array.isArray(extraDns)) throw propError(ID, 'consulDnsAddresses', extraDns, 'a list of Consul DNS host names or IPs');
    extraDns.forEach((a, i) => {
      validateLiteral(ID, `consulDnsAddresses[${i}]`, a);
      if (typeof a !== 'string' || a === '') throw propError(ID, `consulDnsAddresses[${i}]`, a, 'a Consul DNS host name or IP on the network');
    });
    validateImage(ID, 'image', props.image, 'haproxy:2.8-alpine');
    if (props.config !== undefined) checkObject(ID, 'config', props.config, 'an object of renderer options');

    const tlsHostPath = props.tlsCertificateHostPath;
    if (tlsHostPath !== undefined && !isUnresolved(tlsHostPath) && (typeof tlsHostPath !== 'string' || !/^\/[^\s]*[^\s/]$/.test(tlsHostPath))) {
      throw propError(ID, 'tlsCertificateHostPath', tlsHostPath, 'an absolute path of a PEM file on the Docker host');
    }
    const statsAuthPath = props.statsAuthHostPath;
    if (statsAuthPath !== undefined && !isUnresolved(statsAuthPath) && (typeof statsAuthPath !== 'string' || !/^\/[^\s]*[^\s/]$/.test(statsAuthPath))) {
      throw propError(ID, 'statsAuthHostPath', statsAuthPath, `an absolute path of a file on the Docker host holding the HAProxy userlist ${STATS_USERLIST}`);
    }
    // Inside the container HAProxy listens on the contract's ports; the host ports are Docker's.
    this.options = resolveAs(ID, 'config', () =>
      resolveHaproxyConfigOptions({
        ...props.config,
        ...(statsAuthPath !== undefined ? { statsAuthUserlist: STATS_USERLIST } : {}),
        ...(tlsHostPath !== undefined ? { tlsCertificatePath: TLS_PATH } : {}),
        frontend: { address: '0.0.0.0', port: PORTS.grpc },
        stats: { address: '0.0.0.0', port: PORTS.haproxyStats },
        enableMcp,
        mcpFrontend: enableMcp ? { address: '0.0.0.0', port: PORTS.mcp } : undefined,
        nameservers: [props.consulDnsAddress, ...extraDns].map((address) => ({ address, port: props.consulDnsPort ?? PORTS.consulDns })),
      }),
    );
    this.configText = renderHaproxyConfig(this.options);
    const nofile = haproxyNofile(this.options.maxconn, this.options.maxInstances);
    const lockdown = containerLockdown(ID, 'security', props.security, haproxySecurityDefaults(this.options.maxconn, this.options.nbthread));
    this.image = new Image(this, 'Image', { name: props.image ?? 'haproxy:2.8-alpine', keepLocally: true });
    this.container = new Container(this, 'Container', {
      name: containerName,
      hostname: containerName,
      image: this.image.imageId,
      // The official image runs HAProxy as the unprivileged "haproxy" user.
      restart: 'unless-stopped',
      networksAdvanced: [{ name: props.networkName }],
      ...envFilesEntrypoint(ID, ENTRYPOINT_NAME, [{ variable: CONFIG_ENV, path: CONFIG_PATH, content: this.configText }], ['docker-entrypoint.sh']),
      // The userlist file is loaded first: haproxy.cfg refers to it.
      command: ['haproxy', ...(statsAuthPath !== undefined ? ['-f', STATS_USERS_PATH] : []), '-f', CONFIG_PATH],
      ...lockdown.attributes,
      ...(tlsHostPath !== undefined || statsAuthPath !== undefined
        ? {
            volumes: [
              ...(tlsHostPath !== undefined ? [{ hostPath: tlsHostPath, containerPath: TLS_PATH, readOnly: true }] : []),
              ...(statsAuthPath !== undefined ? [{ hostPath: statsAuthPath, containerPath: STATS_USERS_PATH, readOnly: true }] : []),
            ],
          }
        : {}),
      // HAProxy exits at start when it cannot raise its descriptor limit to what maxconn needs
      // (found on a real engine whose default was 20000: "Cannot raise FD limit to 20039"), then
      // restarts forever. The container asks for the limit instead, so an engine that cannot
      // grant it fails the apply, naming this container.
      ulimit: [{ name: 'nofile', soft: nofile, hard: nofile }],
      ports: [
        { internal: PORTS.grpc, external: publicPort, ip: publicBind, protocol: 'tcp' },
        { internal: PORTS.haproxyStats, external: statsPort, ip: adminBind, protocol: 'tcp' },
        ...(mcpPort !== undefined ? [{ internal: PORTS.mcp, external: mcpPort, ip: publicBind, protocol: 'tcp' }] : []),
      ],
      healthcheck: {
        // busybox wget ships in the alpine image; the stats listener answers while HAProxy runs
        // (its health path needs no credentials, whether or not the stats page does).
        test: ['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${PORTS.haproxyStats}${STATS_HEALTH_PATH}`],
        interval: '15s',
        timeout: '5s',
        retries: 3,
      },
    });
    const hostFor = (a: string) => (a === '0.0.0.0' ? '127.0.0.1' : a);
    this.endpoint = `${hostFor(publicBind)}:${publicPort}`;
    this.mcpUrl = mcpPort === undefined ? undefined : `http://${hostFor(publicBind)}:${mcpPort}${PATHS.mcp}`;
    this.statsUrl = `http://${hostFor(adminBind)}:${statsPort}/`;
  }
}
