/**
 * A single Consul server (UI, HTTP API on 8500, DNS on 8600) whose agent
 * configuration is rendered by renderConsulAgentConfig and uploaded into the
 * container. Admin ports are published on 127.0.0.1 unless asked otherwise.
 */
import { Container } from '@cdktf/provider-docker/lib/container';
import { Image } from '@cdktf/provider-docker/lib/image';
import { Construct } from 'constructs';
import { ConsulAgentConfigError, ConsulAgentConfigOptions, CONSUL_AGENT_DEFAULTS, CONSUL_DEFAULT_PORTS, renderConsulAgentConfig } from './consul-agent-config';
import { PropError, propError, validateIpv4, validateName, validatePort, validateDistinctPorts } from './validation';

export interface ConsulServerProps {
  /** Docker network the server joins (a name or a network resource's `name`). */
  readonly networkName: string;
  /** Container name, also its DNS name on the network. @default 'mcp-consul' */
  readonly containerName?: string;
  /** Consul image. @default 'hashicorp/consul:1.20' */
  readonly image?: string;
  /** Host address the UI/API and DNS are published on. @default '127.0.0.1' */
  readonly adminBindAddress?: string;
  /** Host port for the HTTP API and UI. @default 8500 */
  readonly httpHostPort?: number;
  /** Host port for DNS (udp and tcp). @default 8600 */
  readonly dnsHostPort?: number;
  /**
   * Extra agent settings (datacenter, log level, bootstrapExpect, dnsAnswerLimit, ...).
   * Ports and data dir inside the container stay the defaults.
   * @default renderConsulAgentConfig's defaults (datacenter dc1, node name = containerName)
   */
  readonly agentConfig?: Omit<ConsulAgentConfigOptions, 'ports' | 'dataDir'>;
  /** Service whose UI page `uiUrl` points at. @default 'mcp-router' */
  readonly uiServiceName?: string;
}

const ID = 'ConsulServer';

export class ConsulServer extends Construct {
  /** The container; its name is the address routers and HAProxy use. */
  public readonly container: Container;
  public readonly image: Image;
  /** Host name of the server on the Docker network. */
  public readonly address: string;
  /** HTTP API port on the network. */
  public readonly httpPort = CONSUL_DEFAULT_PORTS.http;
  /** DNS port on the network. */
  public readonly dnsPort = CONSUL_DEFAULT_PORTS.dns;
  /** URL of the Consul UI's router service page, as published on the host. */
  public readonly uiUrl: string;
  /** Base URL of the HTTP API / UI as published on the host, e.g. http://127.0.0.1:8500. */
  public readonly httpUrl: string;
  /** The agent's datacenter. */
  public readonly datacenter: string;
  /** The rendered agent configuration (uploaded to /consul/config/agent.json). */
  public readonly agentConfig: string;

  constructor(scope: Construct, id: string, props: ConsulServerProps) {
    super(scope, id);
    const containerName = props.containerName ?? 'mcp-consul';
    const bind = props.adminBindAddress ?? '127.0.0.1';
    const httpHostPort = props.httpHostPort ?? 8500;
    const dnsHostPort = props.dnsHostPort ?? 8600;
    validateName(ID, 'containerName', containerName);
    validateIpv4(ID, 'adminBindAddress', bind);
    validatePort(ID, 'httpHostPort', httpHostPort);
    validatePort(ID, 'dnsHostPort', dnsHostPort);
    validateDistinctPorts(ID, { httpHostPort, dnsHostPort });
    const uiServiceName = props.uiServiceName ?? 'mcp-router';
    validateName(ID, 'uiServiceName', uiServiceName);
    if (props.image !== undefined && (typeof props.image !== 'string' || props.image.trim() === '')) {
      throw propError(ID, 'image', props.image, 'a non-empty image reference such as hashicorp/consul:1.20');
    }

    this.address = containerName;
    try {
      this.agentConfig = renderConsulAgentConfig({ ...props.agentConfig, nodeName: props.agentConfig?.nodeName ?? containerName });
    } catch (err) {
      if (err instanceof ConsulAgentConfigError) throw new PropError(`${ID}: agentConfig.${err.message.replace(/^Consul agent option /, '')}`);
      throw err;
    }
    this.datacenter = props.agentConfig?.datacenter ?? CONSUL_AGENT_DEFAULTS.datacenter;
    this.image = new Image(this, 'Image', { name: props.image ?? 'hashicorp/consul:1.20', keepLocally: true });
    this.container = new Container(this, 'Container', {
      name: containerName,
      hostname: containerName,
      image: this.image.imageId,
      // The image's entrypoint turns `agent` into `consul agent -data-dir=/consul/data
      // -config-dir=/consul/config` and drops to the unprivileged "consul" user (su-exec).
      command: ['agent'],
      restart: 'unless-stopped',
      networksAdvanced: [{ name: props.networkName, aliases: ['consul'] }],
      upload: [{ file: '/consul/config/agent.json', content: this.agentConfig }],
      ports: [
        { internal: this.httpPort, external: httpHostPort, ip: bind, protocol: 'tcp' },
        { internal: this.dnsPort, external: dnsHostPort, ip: bind, protocol: 'udp' },
        { internal: this.dnsPort, external: dnsHostPort, ip: bind, protocol: 'tcp' },
      ],
      healthcheck: { test: ['CMD', 'consul', 'members'], interval: '10s', timeout: '5s', retries: 3, startPeriod: '10s' },
    });
    this.httpUrl = `http://${bind === '0.0.0.0' ? '127.0.0.1' : bind}:${httpHostPort}`;
    this.uiUrl = `${this.httpUrl}/ui/${this.datacenter}/services/${uiServiceName}`;
  }
}
