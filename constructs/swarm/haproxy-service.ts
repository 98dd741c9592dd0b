/**
 * HAProxy in front of the routers as a Docker Swarm service: the same
 * haproxy.cfg as on one host (renderHaproxyConfig: Consul DNS SRV discovery of
 * the router tasks, health checks on /readyz), as a Docker config; the public
 * gRPC and MCP ports published through the routing mesh (or on the task's node
 * with SwarmPublishMode.HOST), the stats page only when `publishAdmin` is true.
 */
import { Service } from '@cdktf/provider-docker/lib/service';
import { Construct } from 'constructs';
import { HaproxyRoutingOptions, renderHaproxyConfig, resolveHaproxyConfigOptions, ResolvedHaproxyConfigOptions, STATS_HEALTH_PATH } from '../../haproxy-templates';
import { PORTS } from '../../router-app/src/contract';
import { checkBoolean, checkObject, isUnresolved, propError, resolveAs, resolveEnableMcp, validateDistinctPorts, validateImage, validateInteger, validateLiteral, validateName, validateOneOf, validatePort, validateRequiredString } from '../validation';
import { ContainerSecurityProps, serviceLockdown } from '../container-security';
import { haproxySecurityDefaults } from '../haproxy-load-balancer';
import { swarmConfigFile } from './swarm-config';
import { lockdownLimits, placementBlock, resourcesBlock, SwarmPlacementProps, SwarmPublishMode, validatePlacement } from './swarm-options';

export interface HaproxyServiceProps {
  /** The overlay network shared with the routers and Consul. */
  readonly networkName: string;
  /** Consul DNS server on the network (the Consul service's name). */
  readonly consulDnsAddress: string;
  /** @default 8600 */
  readonly consulDnsPort?: number;
  /** Name of the Swarm service. @default 'mcp-haproxy' */
  readonly serviceName?: string;
  /** HAProxy image (2.6 or newer). @default 'haproxy:2.8-alpine' */
  readonly image?: string;
  /** HAProxy tasks. @default 1 */
  readonly replicas?: number;
  /** @default SwarmPublishMode.INGRESS */
  readonly publishMode?: SwarmPublishMode;
  /** Published gRPC port. @default 50051 */
  readonly publicPort?: number;
  /** Published MCP port (Streamable HTTP at /mcp). @default 8080 */
  readonly mcpPort?: number;
  /** `false` leaves the MCP endpoint out (then `mcpPort` must be unset). @default true */
  readonly enableMcp?: boolean;
  /** Publish the stats page (on every address of the node(s)). @default false */
  readonly publishAdmin?: boolean;
  /** Published port of the stats page (with publishAdmin). @default 8404 */
  readonly statsPort?: number;
  /** TLS termination: absolute path of a PEM (certificate + key) present on every node that may run HAProxy. @default plaintext */
  readonly tlsCertificateHostPath?: string;
  /** Stats page userlist file (`mcp_stats_users`) present on those nodes. @default no authentication */
  readonly statsAuthHostPath?: string;
  /** Renderer options (mode, balance, health check, timeouts, maxInstances...). @default the renderer's defaults */
  readonly config?: HaproxyRoutingOptions;
  /** Where HAProxy runs (with publishMode HOST, at most one task per node). @default anywhere */
  readonly placement?: SwarmPlacementProps;
  /**
   * The tasks' lockdown, as for the HAProxy container: read-only root (its config comes as a
   * Swarm config), every capability dropped, json-file log rotation, memory and CPU limits.
   * `noNewPrivileges` is not available on a Swarm service (refused when true).
   * @default read-only root, no capabilities, logs 10 MiB x 3, 64 MiB + 48 KiB per maxconn, CPUs nbthread or 2
   */
  readonly security?: ContainerSecurityProps;
}

const ID = 'HaproxyService';
const CONFIG_PATH = '/usr/local/etc/haproxy/haproxy.cfg';
const TLS_PATH = '/usr/local/etc/haproxy/certs/server.pem';
const STATS_USERS_PATH = '/usr/local/etc/haproxy/stats-users.cfg';
const STATS_USERLIST = 'mcp_stats_users';
const ABS_FILE = /^\/[^\s]*[^\s/]$/;

export class HaproxyService extends Construct {
  public readonly service: Service;
  /** The rendered haproxy.cfg (a Docker config). */
  public readonly configText: string;
  public readonly options: ResolvedHaproxyConfigOptions;
  /** gRPC endpoint on the manager node, e.g. 127.0.0.1:50051. */
  public readonly endpoint: string;
  /** MCP URL on the manager node (undefined when enableMcp is false). */
  public readonly mcpUrl?: string;
  /** Stats URL on the manager node when published, else ''. */
  public readonly statsUrl: string;

  constructor(scope: Construct, id: string, props: HaproxyServiceProps) {
    super(scope, id);
    const name = props.serviceName ?? 'mcp-haproxy';
    validateName(ID, 'serviceName', name);
    validateRequiredString(ID, 'networkName', props.networkName, 'the overlay network\'s name');
    validateLiteral(ID, 'consulDnsAddress', props.consulDnsAddress);
    validateRequiredString(ID, 'consulDnsAddress', props.consulDnsAddress, 'the Consul DNS host name or IP on the network');
    validateLiteral(ID, 'consulDnsPort', props.consulDnsPort);
    validatePort(ID, 'consulDnsPort', props.consulDnsPort);
    validateImage(ID, 'image', props.image, 'haproxy:2.8-alpine');
    validateInteger(ID, 'replicas', props.replicas, 1, 100);
    validateOneOf(ID, 'publishMode', props.publishMode, Object.values(SwarmPublishMode));
    const publishAdmin = props.publishAdmin === undefined ? false : checkBoolean(ID, 'publishAdmin', props.publishAdmin);
    const enableMcp = resolveEnableMcp(ID, props.enableMcp, props.mcpPort);
    const publicPort = props.publicPort ?? PORTS.grpc;
    const statsPort = props.statsPort ?? PORTS.haproxyStats;
    const mcpPort = enableMcp ? (props.mcpPort ?? PORTS.mcp) : undefined;
    const ports = { publicPort, ...(mcpPort !== undefined ? { mcpPort } : {}), ...(publishAdmin ? { statsPort } : {}) };
    for (const [prop, port] of Object.entries({ ...ports, statsPort })) validatePort(ID, prop, port);
    validateDistinctPorts(ID, ports);
    validatePlacement(ID, 'placement', props.placement);
    if (props.config !== undefined) checkObject(ID, 'config', props.config, 'an object of renderer options');
    const tls = props.tlsCertificateHostPath;
    if (tls !== undefined && !isUnresolved(tls) && (typeof tls !== 'string' || !ABS_FILE.test(tls))) throw propError(ID, 'tlsCertificateHostPath', tls, 'an absolute path of a PEM file on the nodes');
    const statsAuth = props.statsAuthHostPath;
    if (statsAuth !== undefined && !isUnresolved(statsAuth) && (typeof statsAuth !== 'string' || !ABS_FILE.test(statsAuth))) {
      throw propError(ID, 'statsAuthHostPath', statsAuth, `an absolute path of a file on the nodes holding the HAProxy userlist ${STATS_USERLIST}`);
    }

    this.options = resolveAs(ID, 'config', () =>
      resolveHaproxyConfigOptions({
        ...props.config,
        ...(statsAuth !== undefined ? { statsAuthUserlist: STATS_USERLIST } : {}),
        ...(tls !== undefined ? { tlsCertificatePath: TLS_PATH } : {}),
        frontend: { address: '0.0.0.0', port: PORTS.grpc },
        stats: { address: '0.0.0.0', port: PORTS.haproxyStats },
        enableMcp,
        mcpFrontend: enableMcp ? { address: '0.0.0.0', port: PORTS.mcp } : undefined,
        nameservers: [{ address: props.consulDnsAddress, port: props.consulDnsPort ?? PORTS.consulDns }],
      }),
    );
    this.configText = renderHaproxyConfig(this.options);
    const config = swarmConfigFile(this, 'Config', `${name}-cfg`, this.configText);
    const publishMode = props.publishMode ?? SwarmPublishMode.INGRESS;
    // A host-mode port can be bound by one task per node.
    const placement = placementBlock(props.placement, publishMode === SwarmPublishMode.HOST ? 1 : 0);
    const binds = [
      ...(tls !== undefined ? [{ type: 'bind', source: tls, target: TLS_PATH, readOnly: true }] : []),
      ...(statsAuth !== undefined ? [{ type: 'bind', source: statsAuth, target: STATS_USERS_PATH, readOnly: true }] : []),
    ];
    // What the container's lockdown has, less the tmpfs its entrypoint writes the config to (a Swarm config here).
    const lockdown = serviceLockdown(ID, 'security', props.security, { ...haproxySecurityDefaults(this.options.maxconn, this.options.nbthread), tmpfs: {} });
    const resources = resourcesBlock(lockdownLimits(ID, 'security', undefined, props.security, lockdown));
    const published = (target: number, port: number) => ({ targetPort: target, publishedPort: port, protocol: 'tcp', publishMode });
    this.service = new Service(this, 'Service', {
      name,
      mode: { replicated: { replicas: props.replicas ?? 1 } },
      taskSpec: {
        containerSpec: {
          image: props.image ?? 'haproxy:2.8-alpine',
          configs: [{ configId: config.id, configName: config.name, fileName: CONFIG_PATH, fileMode: 0o444 }],
          ...(statsAuth !== undefined ? { command: ['haproxy', '-f', STATS_USERS_PATH, '-f', CONFIG_PATH] } : {}),
          ...lockdown.containerSpec,
          ...(binds.length + lockdown.mounts.length ? { mounts: [...binds, ...lockdown.mounts] } : {}),
          healthcheck: {
            test: ['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${PORTS.haproxyStats}${STATS_HEALTH_PATH}`],
            interval: '5s',
            timeout: '5s',
            retries: 3,
          },
        },
        networksAdvanced: [{ name: props.networkName }],
        restartPolicy: { condition: 'any', delay: '5s' },
        ...(placement ? { placement } : {}),
        ...(resources ? { resources } : {}),
        ...(lockdown.logDriver ? { logDriver: lockdown.logDriver } : {}),
      },
      updateConfig: { parallelism: 1, order: publishMode === SwarmPublishMode.HOST ? 'stop-first' : 'start-first', failureAction: 'rollback', delay: '5s', monitor: '15s' },
      endpointSpec: {
        // The routing mesh balances over a virtual IP; host-mode ports need none.
        mode: publishMode === SwarmPublishMode.INGRESS ? 'vip' : 'dnsrr',
        ports: [
          published(PORTS.grpc, publicPort),
          ...(mcpPort !== undefined ? [published(PORTS.mcp, mcpPort)] : []),
          ...(publishAdmin ? [published(PORTS.haproxyStats, statsPort)] : []),
        ],
      },
    });
    this.endpoint = `127.0.0.1:${publicPort}`;
    this.mcpUrl = mcpPort === undefined ? undefined : `http://127.0.0.1:${mcpPort}/mcp`;
    this.statsUrl = publishAdmin ? `http://127.0.0.1:${statsPort}/` : '';
  }
}
