/**
 * Consul client agents, one next to each container that talks to Consul (a
 * router, a demo MCP server): the container registers through its own agent,
 * and the agent keeps its registration, runs its checks and forwards every
 * query to whichever server is alive. A server failure then costs the
 * registrations nothing (they belong to the client agent's node, whose
 * health is the agent's own), and no container needs the server list.
 *
 * The agent is a container of its own on the network (not in the other
 * container's network namespace: a restart of either would orphan the
 * other), named `<name>` with the same host name and Consul node name. Its
 * configuration comes from renderConsulAgentConfig (server: false,
 * retry_join = the servers); with ACLs its agent token (a node identity for
 * exactly its node) reaches it at apply time in its environment, written to a
 * tmpfs by its entrypoint (consulContainerAttributes): its root stays read-only.
 * `count` makes one agent per router (`${count.index + 1}` in the name).
 */
import { Container } from '@cdktf/provider-docker/lib/container';
import { TerraformCount } from 'cdktf';
import { Construct } from 'constructs';
import { ConsulAclOptions, CONSUL_DEFAULT_PORTS, renderConsulAgentConfig, resolveConsulAgentConfig } from './consul-agent-config';
import { containerLockdown, ContainerSecurityDefaults, ContainerSecurityProps } from './container-security';
import { CONSUL_SECRETS_TMPFS, CONSUL_SECURITY_DEFAULTS, consulContainerAttributes } from './consul-server';
import { isUnresolved, propError, resolveAs, validateRequiredString } from './validation';

export interface ConsulClientAgentProps {
  /** Docker network (shared with the servers and the container the agent serves). */
  readonly networkName: string;
  /**
   * Container name = host name = Consul node name. With `count`, a Terraform template such as
   * `mcp-router-agent-${count.index + 1}`.
   */
  readonly name: string;
  /** Consul image (the servers'). */
  readonly image: string;
  /** Server host names to join. */
  readonly servers: string[];
  /** @default 'dc1' */
  readonly datacenter?: string;
  /** The cluster's ACL settings; undefined when the cluster has none. */
  readonly acl?: ConsulAclOptions;
  /**
   * The agent's token, a Terraform reference (it may use `count.index`); required with `acl`.
   * A literal is refused.
   */
  readonly agentToken?: string;
  /** One agent per instance: a number or a token (e.g. the router count). @default one agent */
  readonly count?: number;
  /**
   * Lockdown of the agent containers, as ConsulServer's (with `agentToken` too: the token files
   * reach the container in its environment and its entrypoint writes them to tmpfs files).
   * @default every setting locked down, ACLs on or off (read-only root); memory 128 MiB, 0.5 CPU (CONSUL_AGENT_SECURITY_DEFAULTS)
   */
  readonly security?: ContainerSecurityProps;
}

/** A client agent's lockdown defaults: it holds its own node's services and checks only (~30-50 MiB RSS). */
export const CONSUL_AGENT_SECURITY_DEFAULTS: ContainerSecurityDefaults = { ...CONSUL_SECURITY_DEFAULTS, memoryMb: 128, cpus: 0.5 };

const ID = 'ConsulClientAgent';

export class ConsulClientAgent extends Construct {
  public readonly container: Container;
  /** The rendered client configuration (in CONSUL_LOCAL_CONFIG; the entrypoint writes it to /consul/config/local.json). */
  public readonly agentConfig: string;
  /** Host name of the agent (a template with `count`); the container it serves sets CONSUL_HOST to it. */
  public readonly address: string;
  public readonly httpPort = CONSUL_DEFAULT_PORTS.http;

  constructor(scope: Construct, id: string, props: ConsulClientAgentProps) {
    super(scope, id);
    validateRequiredString(ID, 'name', props.name, 'a container name (a template with ${count.index} when count is set)');
    validateRequiredString(ID, 'image', props.image, 'a Consul image reference');
    if (props.acl !== undefined && props.agentToken === undefined) throw propError(ID, 'agentToken', undefined, 'a Terraform reference to the agent token when acl is set');
    if (props.agentToken !== undefined && !isUnresolved(props.agentToken) && !/\$\{/.test(props.agentToken)) {
      throw propError(ID, 'agentToken', '(a literal string)', "a Terraform reference such as a token secret's secret_id (a literal would put the secret in the plan)");
    }
    const agent = resolveAs(ID, 'config', () =>
      resolveConsulAgentConfig({
        server: false,
        datacenter: props.datacenter,
        retryJoin: props.servers,
        // Nobody asks a client agent for DNS: HAProxy asks the servers.
        ports: { dns: -1 },
        ...(props.acl !== undefined ? { acl: props.acl } : {}),
      }),
    );
    this.agentConfig = renderConsulAgentConfig(agent);
    this.address = props.name;
    const lockdown = containerLockdown(ID, 'security', props.security, {
      ...CONSUL_AGENT_SECURITY_DEFAULTS,
      ...(props.agentToken !== undefined ? { secretsTmpfs: CONSUL_SECRETS_TMPFS } : {}),
    });
    this.container = new Container(this, 'Container', {
      ...(props.count !== undefined ? { count: TerraformCount.of(props.count) } : {}),
      name: props.name,
      hostname: props.name,
      image: props.image,
      command: ['agent', `-node=${props.name}`],
      restart: 'unless-stopped',
      networksAdvanced: [{ name: props.networkName }],
      ...consulContainerAttributes(ID, this.agentConfig, props.agentToken !== undefined ? { agent: props.agentToken } : undefined),
      ...lockdown.attributes,
      // Healthy once it has joined: its member list shows a server.
      healthcheck: { test: ['CMD-SHELL', 'consul members -status=alive | grep -qw server'], interval: '10s', timeout: '5s', retries: 3, startPeriod: '30s' },
      // A client agent leaves the cluster on SIGTERM (its node and services go with it).
      stopTimeout: 10,
      destroyGraceSeconds: 10,
    });
  }
}
