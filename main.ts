/**
 * The deployable app: `npm run deploy` (the stacks in order) puts the MCP
 * router platform on the Docker host. Scale with
 * `npm run deploy -- --var instanceCount=5`.
 *
 * Environment knobs for this app (not for the constructs, which take props):
 *   DOCKER_HOST            Docker endpoint (unix://, ssh://, tcp://); default the local socket
 *   MCP_MAX_INSTANCES      HAProxy slots / upper bound of instanceCount; default 10
 *   MCP_HAPROXY_MODE       http | tcp; default http
 *   MCP_BALANCE            roundrobin | leastconn | source; default roundrobin
 *   MCP_ADMIN_BIND_ADDRESS address for HAProxy stats and Consul UI/API; default 127.0.0.1
 *   MCP_DEMO_BACKENDS      comma-separated demo MCP server names to deploy (e.g. demo); default none
 *   MCP_CONSUL_SERVERS     Consul servers: 1, 3 or 5; default 1
 *   MCP_ACL                true | false: Consul ACLs (default deny) with least-privilege tokens; default true
 *
 * With ACLs (the default) the app has two stacks, applied in this order (a
 * cdktf stack dependency): `mcp-router-consul` (the network and the Consul
 * servers, with the initial management token made at apply time) and
 * `mcp-router-platform` (the ACL policies and tokens through the Consul
 * provider, then the routers, their agents, HAProxy and the demo servers,
 * which get their tokens at apply time). `npm run deploy` applies both.
 */
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { App, LocalBackend, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { BalanceAlgorithm, DeploymentTarget, HaproxyMode, McpRouterPlatform, McpRouterPlatformProps } from './constructs';
import { resolveDockerHost } from './constructs/docker-host';

export interface McpConsulStackProps {
  /** Docker endpoint. @default DOCKER_HOST, else unix:///var/run/docker.sock */
  readonly dockerHost?: string;
  /**
   * Local state file, relative to the synthesized stack dir; `false` to configure a backend yourself.
   * @default '../../../terraform.<stack id>.tfstate'
   */
  readonly localStatePath?: string | false;
}

/**
 * The stack applied first when the platform uses the Consul provider (ACLs, external MCP
 * servers): it holds the Docker network and the Consul servers, which McpRouterPlatform puts
 * here (its `consulStack`). It has a Docker provider and its own state.
 */
export class McpConsulStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: McpConsulStackProps = {}) {
    super(scope, id);
    if (props.localStatePath !== false) new LocalBackend(this, { path: props.localStatePath ?? `../../../terraform.${id}.tfstate` });
    new DockerProvider(this, 'docker', { host: resolveDockerHost(props.dockerHost) });
  }
}

export interface McpRouterStackProps extends Omit<McpRouterPlatformProps, 'instanceCount' | 'consulStack' | 'acl'> {
  /**
   * Consul ACLs, default deny (see McpRouterPlatformProps.acl). They need the Consul servers in
   * a stack applied first: this stack then makes that stack (`consulStackId`).
   * @default true when the platform deploys Consul; false with existingConsul (its ACLs are yours) and on the Swarm target (no ACLs there yet)
   */
  readonly acl?: boolean;
  /** Id of the stack that holds the network and the Consul servers (with `acl` or `externalMcpServers`). @default '<id>-consul' */
  readonly consulStackId?: string;
  /** Docker endpoint. @default DOCKER_HOST, else unix:///var/run/docker.sock */
  readonly dockerHost?: string;
  /**
   * A fixed router count. When unset, the count is the Terraform variable
   * `instanceCount` (default `defaultInstanceCount`), so it can change at deploy time.
   */
  readonly instanceCount?: number;
  /** Default of the `instanceCount` variable. @default 1 */
  readonly defaultInstanceCount?: number;
  /**
   * Local state file, relative to the synthesized stack dir (cdktf.out/stacks/<stack>), so the
   * plan holds no absolute path. Set `false` to configure a backend yourself.
   * @default '../../../terraform.<stack id>.tfstate' (the repo root, where cdktf keeps it by default)
   */
  readonly localStatePath?: string | false;
}

export class McpRouterStack extends TerraformStack {
  public readonly platform: McpRouterPlatform;
  /** The stack with the network and the Consul servers, applied before this one (undefined without `acl` and external servers). */
  public readonly consulStack?: McpConsulStack;
  /** The `instanceCount` variable (undefined when a fixed count was given). */
  public readonly instanceCountVariable?: TerraformVariable;

  constructor(scope: Construct, id: string, props: McpRouterStackProps = {}) {
    super(scope, id);
    if (props.localStatePath !== false) new LocalBackend(this, { path: props.localStatePath ?? `../../../terraform.${id}.tfstate` });
    new DockerProvider(this, 'docker', { host: resolveDockerHost(props.dockerHost) });
    const maxInstances = props.maxInstances ?? 10;
    let instanceCount = props.instanceCount;
    if (instanceCount === undefined) {
      this.instanceCountVariable = new TerraformVariable(this, 'instanceCount', {
        type: 'number',
        default: props.defaultInstanceCount ?? 1,
        description: `Number of MCP router instances (1-${maxInstances}); the equivalent of docker-compose --scale mcp-router=N`,
        validation: [
          {
            condition: `\${var.instanceCount == floor(var.instanceCount) && var.instanceCount >= 1 && var.instanceCount <= ${maxInstances}}`,
            errorMessage: `instanceCount must be a whole number from 1 to ${maxInstances} (maxInstances, the HAProxy server-template slots); for more, raise MCP_MAX_INSTANCES (the app) or the maxInstances prop.`,
          },
        ],
      });
      instanceCount = this.instanceCountVariable.numberValue;
    }
    // ACLs are on by default for a Consul this stack deploys; the Swarm target has none yet (refused there).
    const acl = props.acl ?? (props.existingConsul === undefined && props.target !== DeploymentTarget.SWARM);
    if (acl || (props.externalMcpServers ?? []).length > 0) {
      this.consulStack = new McpConsulStack(scope, props.consulStackId ?? `${id}-consul`, { dockerHost: props.dockerHost, localStatePath: props.localStatePath });
      // Applied first (cross-stack references add this too; explicit, since it is the point).
      this.addDependency(this.consulStack);
    }
    const { consulStackId: _id, ...platformProps } = props;
    this.platform = new McpRouterPlatform(this, 'Platform', { ...platformProps, acl, instanceCount, consulStack: this.consulStack });
  }
}

/** Builds the app from the environment knobs listed at the top of this file. */
export function buildApp(env: NodeJS.ProcessEnv = process.env, app = new App()): App {
  const maxInstances = env.MCP_MAX_INSTANCES === undefined ? undefined : Number(env.MCP_MAX_INSTANCES);
  const consulServers = env.MCP_CONSUL_SERVERS === undefined || env.MCP_CONSUL_SERVERS === '' ? undefined : Number(env.MCP_CONSUL_SERVERS);
  const acl = env.MCP_ACL === undefined || env.MCP_ACL === '' ? undefined : env.MCP_ACL === 'true' ? true : env.MCP_ACL === 'false' ? false : (env.MCP_ACL as unknown as boolean);
  new McpRouterStack(app, 'mcp-router-platform', {
    consulStackId: 'mcp-router-consul',
    acl,
    consulServers,
    dockerHost: env.DOCKER_HOST || undefined,
    maxInstances,
    mode: (env.MCP_HAPROXY_MODE as HaproxyMode | undefined) || undefined,
    balance: (env.MCP_BALANCE as BalanceAlgorithm | undefined) || undefined,
    adminBindAddress: env.MCP_ADMIN_BIND_ADDRESS || undefined,
    demoBackends: env.MCP_DEMO_BACKENDS ? env.MCP_DEMO_BACKENDS.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
  });
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
