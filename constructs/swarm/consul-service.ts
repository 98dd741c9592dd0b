/**
 * Consul server(s) as a Docker Swarm service on the overlay network. The agent
 * configuration is renderConsulAgentConfig's, as a Docker config, with what a
 * Swarm task needs: the bind address picked in the overlay's subnet (a task has
 * one address per network; Consul refuses to start with several private ones),
 * the node name from the task's host name, and, with more than one server, one
 * server per node joined through the service's DNS name.
 *
 * The HTTP API/UI and DNS are published only when `publishAdmin` is true (a Swarm
 * port answers on every address of the node(s): it cannot be kept to 127.0.0.1).
 */
import { Service } from '@cdktf/provider-docker/lib/service';
import { Construct } from 'constructs';
import { ROUTER_SERVICE } from '../../router-app/src/contract';
import { ConsulAgentSettings, CONSUL_DEFAULT_PORTS, renderConsulAgentConfig, resolveConsulAgentConfig } from '../consul-agent-config';
import { checkBoolean, propError, resolveAs, validateDistinctPorts, validateImage, validateName, validateOneOf, validatePort, validateRequiredString } from '../validation';
import { ContainerSecurityProps, serviceLockdown } from '../container-security';
import { CONSUL_SECURITY_DEFAULTS } from '../consul-server';
import { swarmConfigFile } from './swarm-config';
import { lockdownLimits, placementBlock, resourcesBlock, SwarmPlacementProps, SwarmPublishMode, validatePlacement, validateSubnet } from './swarm-options';

export interface ConsulServiceProps {
  /** The overlay network. */
  readonly networkName: string;
  /** The overlay's subnet: Consul binds to its address in it. */
  readonly subnet: string;
  /** Name of the Swarm service, also the DNS name routers and HAProxy use. @default 'mcp-consul' */
  readonly serviceName?: string;
  /** @default 'hashicorp/consul:1.20' */
  readonly image?: string;
  /** Servers: 1, 3 or 5; more than one runs one per node (bootstrap_expect = servers). @default 1 */
  readonly servers?: number;
  /** Publish the HTTP API/UI and DNS (on every address of the node(s)). @default false */
  readonly publishAdmin?: boolean;
  /** @default SwarmPublishMode.INGRESS */
  readonly publishMode?: SwarmPublishMode;
  /** Published port of the HTTP API and UI (with publishAdmin). @default 8500 */
  readonly httpPublishedPort?: number;
  /** Published port of DNS, udp and tcp (with publishAdmin). @default 8600 */
  readonly dnsPublishedPort?: number;
  /** Extra agent settings (datacenter, logLevel, dnsAnswerLimit...); node name, bind address and bootstrapExpect are the service's. @default renderConsulAgentConfig's */
  readonly agentConfig?: ConsulAgentSettings;
  /** Where the servers run. @default anywhere (one per node when servers > 1) */
  readonly placement?: SwarmPlacementProps;
  /** Service whose UI page `uiUrl` points at. @default 'mcp-router' */
  readonly uiServiceName?: string;
  /**
   * The tasks' lockdown, as for the Consul container: read-only root (the data dir is the image's
   * volume, the config a Swarm config), the image's unprivileged user from the start, every
   * capability dropped, json-file log rotation, memory and CPU limits. `noNewPrivileges` is not
   * available on a Swarm service (refused when true).
   * @default read-only root, no capabilities, logs 10 MiB x 3, 256 MiB and 1 CPU
   */
  readonly security?: ContainerSecurityProps;
}

const ID = 'ConsulService';
const CONFIG_PATH = '/consul/config/agent.json';

export class ConsulService extends Construct {
  public readonly service: Service;
  /** DNS name of the servers on the overlay network (the service name). */
  public readonly address: string;
  public readonly httpPort: number = CONSUL_DEFAULT_PORTS.http;
  public readonly dnsPort: number = CONSUL_DEFAULT_PORTS.dns;
  /** The rendered agent configuration (a Docker config mounted at /consul/config/agent.json). */
  public readonly agentConfig: string;
  public readonly datacenter: string;
  /** UI URL on a node (127.0.0.1 on the manager) when published, else ''. */
  public readonly uiUrl: string;

  constructor(scope: Construct, id: string, props: ConsulServiceProps) {
    super(scope, id);
    const name = props.serviceName ?? 'mcp-consul';
    validateName(ID, 'serviceName', name);
    validateRequiredString(ID, 'networkName', props.networkName, 'the overlay network\'s name');
    validateSubnet(ID, 'subnet', props.subnet);
    validateImage(ID, 'image', props.image, 'hashicorp/consul:1.20');
    const servers = props.servers ?? 1;
    if (![1, 3, 5].includes(servers)) throw propError(ID, 'servers', servers, '1, 3 or 5 (a Raft quorum)');
    const publishAdmin = props.publishAdmin === undefined ? false : checkBoolean(ID, 'publishAdmin', props.publishAdmin);
    validateOneOf(ID, 'publishMode', props.publishMode, Object.values(SwarmPublishMode));
    const httpPort = props.httpPublishedPort ?? CONSUL_DEFAULT_PORTS.http;
    const dnsPort = props.dnsPublishedPort ?? CONSUL_DEFAULT_PORTS.dns;
    validatePort(ID, 'httpPublishedPort', httpPort);
    validatePort(ID, 'dnsPublishedPort', dnsPort);
    validateDistinctPorts(ID, { httpPublishedPort: httpPort, dnsPublishedPort: dnsPort });
    validatePlacement(ID, 'placement', props.placement);
    const uiServiceName = props.uiServiceName ?? ROUTER_SERVICE.name;
    validateName(ID, 'uiServiceName', uiServiceName);

    const agent = resolveAs(ID, 'agentConfig', () => resolveConsulAgentConfig({ ...props.agentConfig, bootstrapExpect: servers }));
    const rendered = JSON.parse(renderConsulAgentConfig(agent)) as Record<string, unknown>;
    // Node name: the task's host name (below). Bind: the address in the overlay's subnet
    // (a go-sockaddr template Consul evaluates at start).
    delete rendered.node_name;
    rendered.bind_addr = `{{ GetAllInterfaces | include "network" "${props.subnet}" | attr "address" }}`;
    if (servers > 1) rendered.retry_join = [name];
    this.agentConfig = JSON.stringify(rendered, null, 2) + '\n';
    this.datacenter = agent.datacenter;
    this.address = name;

    const config = swarmConfigFile(this, 'AgentConfig', `${name}-agent`, this.agentConfig);
    // The container's lockdown, less the tmpfs its entrypoint writes CONSUL_LOCAL_CONFIG to (a Swarm config here).
    const lockdown = serviceLockdown(ID, 'security', props.security, { ...CONSUL_SECURITY_DEFAULTS, tmpfs: {} });
    const resources = resourcesBlock(lockdownLimits(ID, 'security', undefined, props.security, lockdown));
    const publishMode = props.publishMode ?? SwarmPublishMode.INGRESS;
    const placement = placementBlock(props.placement, servers > 1 ? 1 : 0);
    this.service = new Service(this, 'Service', {
      name,
      mode: { replicated: { replicas: servers } },
      taskSpec: {
        containerSpec: {
          image: props.image ?? 'hashicorp/consul:1.20',
          hostname: '{{.Service.Name}}-{{.Task.Slot}}',
          // The image's entrypoint runs `consul agent -data-dir=/consul/data -config-dir=/consul/config` as user consul.
          args: ['agent'],
          // The entrypoint's switch from root needs SETUID/SETGID, which a task without capabilities
          // lacks: run as the image's "consul" user from the start (CONSUL_DISABLE_PERM_MGMT: no chown).
          user: 'consul',
          env: { CONSUL_DISABLE_PERM_MGMT: 'true' },
          // The image declares /consul/data a volume; stated here so that an image that does not still works read-only.
          mounts: [{ type: 'volume', target: '/consul/data' }, ...lockdown.mounts],
          ...lockdown.containerSpec,
          configs: [{ configId: config.id, configName: config.name, fileName: CONFIG_PATH, fileMode: 0o444 }],
          healthcheck: { test: ['CMD', 'consul', 'members'], interval: '5s', timeout: '5s', retries: 3, startPeriod: '10s' },
        },
        networksAdvanced: [{ name: props.networkName }],
        restartPolicy: { condition: 'any', delay: '5s' },
        ...(placement ? { placement } : {}),
        ...(resources ? { resources } : {}),
        ...(lockdown.logDriver ? { logDriver: lockdown.logDriver } : {}),
      },
      // One server at a time, the old one stopped first (a Raft member must not run twice).
      updateConfig: { parallelism: 1, order: 'stop-first', failureAction: 'pause', delay: '10s', monitor: '15s' },
      endpointSpec: {
        // Routers and HAProxy reach the servers by DNS name: no virtual IP (IPVS) needed.
        mode: publishAdmin && publishMode === SwarmPublishMode.INGRESS ? 'vip' : 'dnsrr',
        ...(publishAdmin
          ? {
              ports: [
                { targetPort: this.httpPort, publishedPort: httpPort, protocol: 'tcp', publishMode },
                { targetPort: this.dnsPort, publishedPort: dnsPort, protocol: 'udp', publishMode },
                { targetPort: this.dnsPort, publishedPort: dnsPort, protocol: 'tcp', publishMode },
              ],
            }
          : {}),
      },
    });
    this.uiUrl = publishAdmin ? `http://127.0.0.1:${httpPort}/ui/${this.datacenter}/services/${uiServiceName}` : '';
  }
}
