/**
 * The deployable app: `npx cdktf deploy` (or `npm run deploy`) puts the MCP
 * router platform on the Docker host. Scale with
 * `cdktf deploy --var instanceCount=5`.
 *
 * Environment knobs for this app (not for the constructs, which take props):
 *   DOCKER_HOST            Docker endpoint (unix://, ssh://, tcp://); default the local socket
 *   MCP_MAX_INSTANCES      HAProxy slots / upper bound of instanceCount; default 10
 *   MCP_HAPROXY_MODE       http | tcp; default http
 *   MCP_BALANCE            roundrobin | leastconn | source; default roundrobin
 *   MCP_ADMIN_BIND_ADDRESS address for HAProxy stats and Consul UI/API; default 127.0.0.1
 *   MCP_DEMO_BACKENDS      comma-separated demo MCP server names to deploy (e.g. demo); default none
 */
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { App, LocalBackend, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { BalanceAlgorithm, HaproxyMode, McpRouterPlatform, McpRouterPlatformProps } from './constructs';
import { resolveDockerHost } from './constructs/docker-host';

export interface McpRouterStackProps extends Omit<McpRouterPlatformProps, 'instanceCount'> {
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
            errorMessage: `instanceCount must be a whole number from 1 to ${maxInstances} (maxInstances, the HAProxy server-template slots); raise maxInstances in main.ts for more.`,
          },
        ],
      });
      instanceCount = this.instanceCountVariable.numberValue;
    }
    this.platform = new McpRouterPlatform(this, 'Platform', { ...props, instanceCount });
  }
}

/** Builds the app from the environment knobs listed at the top of this file. */
export function buildApp(env: NodeJS.ProcessEnv = process.env, app = new App()): App {
  const maxInstances = env.MCP_MAX_INSTANCES === undefined ? undefined : Number(env.MCP_MAX_INSTANCES);
  new McpRouterStack(app, 'mcp-router-platform', {
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
