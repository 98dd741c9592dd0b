/**
 * One Consul server container (UI, HTTP API on 8500, DNS on 8600) whose agent
 * configuration is rendered by renderConsulAgentConfig and handed to the
 * container in CONSUL_LOCAL_CONFIG. Admin ports are published on 127.0.0.1 unless asked otherwise;
 * a server of a cluster may publish nothing (ConsulCluster publishes one).
 *
 * With ACLs, the initial management token reaches the server at apply time
 * only: `aclManagementToken` is a Terraform reference (e.g. a random_uuid's
 * `result`), and the file that carries it (/consul/config/acl-tokens.json, written
 * by the entrypoint to a tmpfs from the container's environment) has a Terraform
 * expression as its content, so the plan never holds the value.
 */
import { Container } from '@cdktf/provider-docker/lib/container';
import { Image } from '@cdktf/provider-docker/lib/image';
import { Construct } from 'constructs';
import { ROUTER_SERVICE } from '../router-app/src/contract';
import { ConsulAclTokens, consulAclTokenFiles } from './consul-acl-files';
import { ConsulAgentSettings, CONSUL_AGENT_PATHS, CONSUL_DEFAULT_PORTS, renderConsulAgentConfig, resolveConsulAgentConfig } from './consul-agent-config';
import { containerLockdown, ContainerSecurityDefaults, ContainerSecurityProps } from './container-security';
import { envFilesEntrypoint } from './env-files';
import { isUnresolved, propError, resolveAs, validateContainerPublishing, validateImage, validateName } from './validation';

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
  /** Publish the UI/API and DNS on the host. A cluster publishes one server's. @default true */
  readonly publish?: boolean;
  /**
   * Extra agent settings (datacenter, log level, bootstrapExpect, retryJoin, acl, dnsAnswerLimit, ...).
   * Ports and data dir inside the container stay the defaults.
   * @default renderConsulAgentConfig's defaults (datacenter dc1, node name = containerName)
   */
  readonly agentConfig?: ConsulAgentSettings;
  /**
   * The initial management token, as a Terraform reference (a random_uuid's `result`, or a
   * `file()` expression): it becomes the server's `acl.tokens.master` (Consul 1.11+ reads it as
   * `initial_management`) and its agent token, in a file whose content is that expression. A
   * literal is refused (it would put the secret in the plan). Needs `agentConfig.acl`.
   * @default none (no ACLs)
   */
  readonly aclManagementToken?: string;
  /** Network aliases of the container (every server of a cluster answers as `consul`). @default ['consul'] */
  readonly networkAliases?: string[];
  /** Service whose UI page `uiUrl` points at. @default 'mcp-router' */
  readonly uiServiceName?: string;
  /**
   * Apply waits until the container's healthcheck passes (Docker provider `wait`). With ACLs the
   * healthcheck passes once the cluster has a leader that knows the management token, which is
   * what a Consul provider in a later stack needs. @default false
   */
  readonly waitHealthy?: boolean;
  /**
   * Lockdown of the Consul container: read-only root filesystem (its data in a volume at
   * /consul/data, its config written by the entrypoint to a tmpfs on /consul/config), all
   * capabilities dropped (it runs as the image's "consul" user from the start, and every port
   * is above 1024), no-new-privileges, memory and CPU limits, log rotation. Set a field to relax it.
   * With `aclManagementToken` too: the token files reach the container in its environment and
   * its entrypoint writes them to tmpfs files (consulContainerAttributes), so the root stays
   * read-only (`docker inspect` shows the variables; the Consul process's environment does not).
   * @default every setting locked down, ACLs on or off (read-only root); memory 256 MiB, 1 CPU (CONSUL_SECURITY_DEFAULTS)
   */
  readonly security?: ContainerSecurityProps;
}

/**
 * Consul's lockdown defaults: a server with a few dozen services and checks needs well under
 * 100 MiB (Consul's own guidance sizes servers by the catalogue); 256 MiB leaves room for
 * raft snapshots, and 1 CPU for its DNS answers to HAProxy and the routers' checks.
 * The config dir is a tmpfs owned by the image's "consul" user (uid 100, gid 1000 in the official
 * image), where the entrypoint writes CONSUL_LOCAL_CONFIG at start: a tmpfs over a directory of
 * the image is root's, 0755, whatever its `mode` option says (found on the engine).
 */
export const CONSUL_SECURITY_DEFAULTS: ContainerSecurityDefaults = { memoryMb: 256, cpus: 1, tmpfs: { '/consul/config': 'size=1m,uid=100,gid=1000' } };

/**
 * tmpfs mounts of a Consul container with ACL tokens, mounted whatever `readOnlyRootFilesystem`
 * says (the token files never reach the writable layer): /consul/config (acl-tokens.json) and
 * /consul/secrets (the raw agent token), owned by the image's "consul" user.
 */
export const CONSUL_SECRETS_TMPFS: { readonly [path: string]: string } = { ...CONSUL_SECURITY_DEFAULTS.tmpfs, '/consul/secrets': 'size=64k,uid=100,gid=1000,mode=0700' };

/** What consulContainerAttributes gives a Consul container. */
export interface ConsulContainerAttributes {
  readonly user: string;
  readonly env: string[];
  readonly volumes: { containerPath: string }[];
  readonly entrypoint?: string[];
}

/**
 * What runs Consul locked down: its data dir as a volume (the image declares it; stated here so
 * an image that does not still works read-only), the image's unprivileged user from the start
 * (the entrypoint's switch from root needs SETUID/SETGID, which a container without
 * capabilities lacks; CONSUL_DISABLE_PERM_MGMT tells the official entrypoint not to try),
 * and the agent config handed over in CONSUL_LOCAL_CONFIG (the image's own mechanism:
 * the entrypoint writes it to /consul/config/local.json), since a read-only container
 * cannot take the provider's `upload`. With `tokens`, the ACL token files reach the container
 * the same way (env-files.ts): its entrypoint writes them to tmpfs files (CONSUL_SECRETS_TMPFS),
 * unsets their variables and runs the image's entrypoint; the consul CLI (healthcheck,
 * `docker exec`) reads the agent token from CONSUL_HTTP_TOKEN_FILE. One call for every Consul
 * container (servers, client agents).
 */
export function consulContainerAttributes(construct: string, agentConfig: string, tokens?: ConsulAclTokens): ConsulContainerAttributes {
  const base = { user: 'consul', env: ['CONSUL_DISABLE_PERM_MGMT=true', `CONSUL_LOCAL_CONFIG=${agentConfig}`], volumes: [{ containerPath: '/consul/data' }] };
  if (tokens === undefined) return base;
  const files = envFilesEntrypoint(construct, 'consul-entrypoint', consulAclTokenFiles(tokens), ['docker-entrypoint.sh']);
  return { ...base, env: [...base.env, `CONSUL_HTTP_TOKEN_FILE=${CONSUL_AGENT_PATHS.tokenFile}`, ...files.env], entrypoint: files.entrypoint };
}

const ID = 'ConsulServer';

export class ConsulServer extends Construct {
  /** The container; its name is the address routers and HAProxy use. */
  public readonly container: Container;
  public readonly image: Image;
  /** Host name of the server on the Docker network. */
  public readonly address: string;
  /** HTTP API port on the network. */
  public readonly httpPort: number = CONSUL_DEFAULT_PORTS.http;
  /** DNS port on the network. */
  public readonly dnsPort: number = CONSUL_DEFAULT_PORTS.dns;
  /** URL of the Consul UI's router service page, as published on the host. */
  public readonly uiUrl: string;
  /** Base URL of the HTTP API / UI as published on the host, e.g. http://127.0.0.1:8500. */
  public readonly httpUrl: string;
  /** The agent's datacenter. */
  public readonly datacenter: string;
  /** The rendered agent configuration (in CONSUL_LOCAL_CONFIG; the entrypoint writes it to /consul/config/local.json). */
  public readonly agentConfig: string;

  constructor(scope: Construct, id: string, props: ConsulServerProps) {
    super(scope, id);
    const containerName = props.containerName ?? 'mcp-consul';
    const bind = props.adminBindAddress ?? '127.0.0.1';
    const httpHostPort = props.httpHostPort ?? CONSUL_DEFAULT_PORTS.http;
    const dnsHostPort = props.dnsHostPort ?? CONSUL_DEFAULT_PORTS.dns;
    const publish = props.publish ?? true;
    validateContainerPublishing(ID, { containerName, addresses: { adminBindAddress: bind }, ports: publish ? { httpHostPort, dnsHostPort } : {} });
    const uiServiceName = props.uiServiceName ?? ROUTER_SERVICE.name;
    validateName(ID, 'uiServiceName', uiServiceName);
    validateImage(ID, 'image', props.image, 'hashicorp/consul:1.20');
    const token = props.aclManagementToken;
    if (token !== undefined && !isUnresolved(token)) {
      // Never echo the value: it is a secret.
      throw propError(ID, 'aclManagementToken', '(a literal string)', "a Terraform reference such as a random_uuid's result (a literal would put the secret in the plan)");
    }
    if (token !== undefined && props.agentConfig?.acl === undefined) throw propError(ID, 'agentConfig.acl', undefined, 'set when aclManagementToken is given');
    if (token === undefined && props.agentConfig?.acl !== undefined) throw propError(ID, 'aclManagementToken', undefined, 'a Terraform reference when agentConfig.acl is set (the servers bootstrap the ACL system with it)');

    this.address = containerName;
    const agent = resolveAs(ID, 'agentConfig', () => resolveConsulAgentConfig({ ...props.agentConfig, server: true, nodeName: props.agentConfig?.nodeName ?? containerName }));
    this.agentConfig = renderConsulAgentConfig(agent);
    this.datacenter = agent.datacenter;
    const lockdown = containerLockdown(ID, 'security', props.security, { ...CONSUL_SECURITY_DEFAULTS, ...(token !== undefined ? { secretsTmpfs: CONSUL_SECRETS_TMPFS } : {}) });
    this.image = new Image(this, 'Image', { name: props.image ?? 'hashicorp/consul:1.20', keepLocally: true });
    this.container = new Container(this, 'Container', {
      name: containerName,
      hostname: containerName,
      image: this.image.imageId,
      // The image's entrypoint turns `agent` into `consul agent -data-dir=/consul/data
      // -config-dir=/consul/config`; it runs as the unprivileged "consul" user.
      command: ['agent'],
      restart: 'unless-stopped',
      networksAdvanced: [{ name: props.networkName, aliases: [...(props.networkAliases ?? ['consul'])] }],
      // With ACLs the server uses the management token as its own agent token: it holds that token anyway.
      ...consulContainerAttributes(ID, this.agentConfig, token !== undefined ? { initialManagement: token, agent: token } : undefined),
      ...lockdown.attributes,
      ...(publish
        ? {
            ports: [
              { internal: this.httpPort, external: httpHostPort, ip: bind, protocol: 'tcp' },
              { internal: this.dnsPort, external: dnsHostPort, ip: bind, protocol: 'udp' },
              { internal: this.dnsPort, external: dnsHostPort, ip: bind, protocol: 'tcp' },
            ],
          }
        : {}),
      // With ACLs: healthy once the cluster has a leader that accepts the management token
      // (`list-peers` asks the leader; the CLI reads the token from CONSUL_HTTP_TOKEN_FILE).
      healthcheck:
        token !== undefined
          ? { test: ['CMD', 'consul', 'operator', 'raft', 'list-peers'], interval: '5s', timeout: '4s', retries: 3, startPeriod: '60s' }
          : { test: ['CMD', 'consul', 'members'], interval: '10s', timeout: '5s', retries: 3, startPeriod: '10s' },
      ...(props.waitHealthy ? { wait: true, waitTimeout: 120 } : {}),
    });
    this.httpUrl = `http://${bind === '0.0.0.0' ? '127.0.0.1' : bind}:${httpHostPort}`;
    this.uiUrl = `${this.httpUrl}/ui/${this.datacenter}/services/${uiServiceName}`;
  }
}
