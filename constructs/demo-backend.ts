/**
 * Demo MCP servers (examples/demo-mcp-server) as containers that register
 * themselves in Consul with the tag `mcp-server`, so a fresh deployment has
 * tools to call. Off unless asked.
 */
import { Container } from '@cdktf/provider-docker/lib/container';
import { Image } from '@cdktf/provider-docker/lib/image';
import { Construct } from 'constructs';
import { propError } from './validation';

export interface DemoBackendsProps {
  /** Server names; one container each, its tools appear as `<name>__echo`, ... */
  readonly names: readonly string[];
  readonly networkName: string;
  /** Consul agent address on the network. */
  readonly consulHost: string;
  /** @default 8500 */
  readonly consulPort?: number;
  /** Container name prefix. @default 'mcp-demo' */
  readonly containerPrefix?: string;
  /** Build context, relative to the synthesized stack dir. @default '../../../examples/demo-mcp-server' */
  readonly contextPath?: string;
}

export class DemoBackends extends Construct {
  public readonly image: Image;
  public readonly containers: Container[];

  constructor(scope: Construct, id: string, props: DemoBackendsProps) {
    super(scope, id);
    const names = props.names;
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || !/^[a-z][a-z0-9-]{0,30}$/.test(n)) || new Set(names).size !== names.length) {
      throw propError('DemoBackends', 'names', names, 'distinct names matching ^[a-z][a-z0-9-]{0,30}$');
    }
    const context = `\${path.module}/${props.contextPath ?? '../../../examples/demo-mcp-server'}`;
    this.image = new Image(this, 'Image', {
      name: 'mcp-demo-mcp-server:local',
      keepLocally: true,
      buildAttribute: { context, dockerfile: 'Dockerfile' },
      triggers: { source_sha1: `\${sha1(join(",", [for f in sort(setunion(fileset("${context}", "src/**"), fileset("${context}", "package.json"), fileset("${context}", "Dockerfile"))) : "\${f}=\${filesha1("${context}/\${f}")}"]))}` },
    });
    const prefix = props.containerPrefix ?? 'mcp-demo';
    this.containers = names.map(
      (name) =>
        new Container(this, `Server-${name}`, {
          name: `${prefix}-${name}`,
          hostname: `${prefix}-${name}`,
          image: this.image.imageId,
          restart: 'unless-stopped',
          networksAdvanced: [{ name: props.networkName }],
          env: [`SERVER_NAME=${name}`, 'PORT=3000', `CONSUL_HOST=${props.consulHost}`, `CONSUL_PORT=${props.consulPort ?? 8500}`],
        }),
    );
  }
}
