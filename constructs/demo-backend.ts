/**
 * Demo MCP servers (examples/demo-mcp-server) as containers that register
 * themselves in Consul with the tag `mcp-server`, so a fresh deployment has
 * tools to call. Off unless asked.
 */
import { Container } from '@cdktf/provider-docker/lib/container';
import { Image } from '@cdktf/provider-docker/lib/image';
import { Construct } from 'constructs';
import * as path from 'node:path';
import { DEMO_ENV, PORTS } from '../router-app/src/contract';
import { contextCommand, dockerfileTriggerGlobs, sourceHashExpression } from './build-trigger';
import { contextDirAtSynth, PACKAGE_DIR, shippedContext } from './build-context';
import { containerLockdown, ContainerSecurityDefaults, ContainerSecurityProps } from './container-security';
import { envFilesEntrypoint } from './env-files';
import { NODE_BASE_IMAGE, validateBaseImage } from './router-image';
import { isUnresolved, propError } from './validation';

/** Where a demo server's entrypoint writes its Consul ACL token (on a tmpfs), from DEMO_CONSUL_TOKEN_ENV. */
export const DEMO_CONSUL_TOKEN_PATH = '/run/mcp-demo/consul-token';
/** The variable that carries a demo server's token to its entrypoint (unset before the server starts). */
export const DEMO_CONSUL_TOKEN_ENV = 'MCP_DEMO_CONSUL_TOKEN';
/** The tmpfs for the token file, owned by the image's "node" user (uid/gid 1000), 0700. */
const DEMO_SECRETS_TMPFS = { '/run/mcp-demo': 'size=64k,uid=1000,gid=1000,mode=0700' };

/** examples/demo-mcp-server/ of this package, the default build context. */
const DEMO_SERVER_DIR = path.join(PACKAGE_DIR, 'examples', 'demo-mcp-server');
/** The demo image's command (its Dockerfile's CMD, read at load), run by the token entrypoint. */
const DEMO_COMMAND: readonly string[] = contextCommand(DEMO_SERVER_DIR);

export interface DemoBackendsProps {
  /** Server names; one container each, its tools appear as `<name>__echo`, ... */
  readonly names: string[];
  readonly networkName: string;
  /** Consul agent address on the network. */
  readonly consulHost: string;
  /** Per server: its own Consul agent's address (a client agent next to it), instead of `consulHost`. @default consulHost for every server */
  readonly consulHosts?: { [name: string]: string };
  /**
   * Per server: its Consul ACL token, a Terraform reference; a literal is refused. It reaches the
   * container in its environment, and the entrypoint writes it to a tmpfs file
   * (CONSUL_HTTP_TOKEN_FILE) and unsets the variable before the server starts, so the root
   * filesystem stays read-only (`docker inspect` shows the variable). @default no token
   */
  readonly consulTokens?: { [name: string]: string };
  /** @default 8500 */
  readonly consulPort?: number;
  /** Container name prefix. @default 'mcp-demo' */
  readonly containerPrefix?: string;
  /**
   * Build context, relative to the synthesized stack dir or absolute.
   * @default the examples/demo-mcp-server/ shipped in this package (see RouterImageProps.contextPath)
   */
  readonly contextPath?: string;
  /**
   * Base image of the build (its NODE_IMAGE build argument): any Node 20 image with the
   * `node` user, e.g. a mirror of node:20-slim. @default NODE_BASE_IMAGE (node:20-slim pinned by digest)
   */
  readonly baseImage?: string;
  /**
   * Lockdown of the demo server containers (read-only root filesystem with a tmpfs on /tmp,
   * no capabilities, no-new-privileges, limits, log rotation; with a Consul token too, its file
   * on a tmpfs on /run/mcp-demo). Set a field to relax it.
   * @default every setting locked down, with or without a Consul token (read-only root); memory 256 MiB, 1 CPU
   */
  readonly security?: ContainerSecurityProps;
}

/** A demo server's lockdown defaults: a small Node service (~60 MiB RSS) that answers every router's calls: one core, as a router. */
export const DEMO_SECURITY_DEFAULTS: ContainerSecurityDefaults = { memoryMb: 256, cpus: 1, tmpfs: { '/tmp': 'size=16m' } };

export class DemoBackends extends Construct {
  public readonly image: Image;
  public readonly containers: Container[];

  constructor(scope: Construct, id: string, props: DemoBackendsProps) {
    super(scope, id);
    const names = props.names;
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || !/^[a-z][a-z0-9-]{0,30}$/.test(n)) || new Set(names).size !== names.length) {
      throw propError('DemoBackends', 'names', names, 'distinct names matching ^[a-z][a-z0-9-]{0,30}$');
    }
    const contextPath = props.contextPath;
    if (contextPath !== undefined && (typeof contextPath !== 'string' || contextPath.trim() === '' || contextPath.includes('"') || contextPath.includes('${'))) {
      throw propError('DemoBackends', 'contextPath', contextPath, 'a non-empty directory path without quotes or ${');
    }
    const context =
      contextPath === undefined ? shippedContext(this, 'Context', DEMO_SERVER_DIR) : path.isAbsolute(contextPath) ? contextPath : `\${path.module}/${contextPath}`;
    const globs = dockerfileTriggerGlobs(contextPath === undefined ? DEMO_SERVER_DIR : contextDirAtSynth(this, contextPath)) ?? ['src/**', 'package.json', 'package-lock.json', 'tsconfig.json', 'Dockerfile', '.dockerignore'];
    validateBaseImage('DemoBackends', props.baseImage);
    const lockdown = containerLockdown('DemoBackends', 'security', props.security, DEMO_SECURITY_DEFAULTS);
    const lockdownWithToken = containerLockdown('DemoBackends', 'security', props.security, { ...DEMO_SECURITY_DEFAULTS, secretsTmpfs: DEMO_SECRETS_TMPFS });
    this.image = new Image(this, 'Image', {
      name: 'mcp-demo-mcp-server:local',
      keepLocally: true,
      buildAttribute: { context, dockerfile: 'Dockerfile', buildArgs: { NODE_IMAGE: props.baseImage ?? NODE_BASE_IMAGE } },
      triggers: { source_sha1: sourceHashExpression(context, globs) },
    });
    for (const [prop, map] of [['consulHosts', props.consulHosts], ['consulTokens', props.consulTokens]] as const) {
      if (map === undefined) continue;
      if (typeof map !== 'object' || map === null || Array.isArray(map)) throw propError('DemoBackends', prop, map, 'a map of server names to values');
      for (const key of Object.keys(map)) if (!names.includes(key)) throw propError('DemoBackends', `${prop}.${key}`, map[key], `keyed by one of the names (${names.join(', ')})`);
    }
    for (const [name, token] of Object.entries(props.consulTokens ?? {})) {
      if (!isUnresolved(token) && !/\$\{/.test(token)) throw propError('DemoBackends', `consulTokens.${name}`, '(a literal string)', 'a Terraform reference (a literal would put the secret in the plan)');
    }
    const prefix = props.containerPrefix ?? 'mcp-demo';
    this.containers = names.map((name) => {
      const token = props.consulTokens?.[name];
      // The token file's content is a Terraform reference: the value exists at apply time only.
      const tokenFile = token !== undefined ? envFilesEntrypoint('DemoBackends', 'demo-entrypoint', [{ variable: DEMO_CONSUL_TOKEN_ENV, path: DEMO_CONSUL_TOKEN_PATH, content: token }]) : undefined;
      return new Container(this, `Server-${name}`, {
        name: `${prefix}-${name}`,
        hostname: `${prefix}-${name}`,
        image: this.image.imageId,
        restart: 'unless-stopped',
        networksAdvanced: [{ name: props.networkName }],
        env: [
          `${DEMO_ENV.serverName}=${name}`,
          `${DEMO_ENV.port}=${PORTS.demoBackend}`,
          `${DEMO_ENV.consulHost}=${props.consulHosts?.[name] ?? props.consulHost}`,
          `${DEMO_ENV.consulPort}=${props.consulPort ?? PORTS.consulHttp}`,
          ...(tokenFile !== undefined ? [`${DEMO_ENV.consulTokenFile}=${DEMO_CONSUL_TOKEN_PATH}`, ...tokenFile.env] : []),
        ],
        ...(tokenFile !== undefined ? { entrypoint: tokenFile.entrypoint, command: [...DEMO_COMMAND] } : {}),
        ...(token !== undefined ? lockdownWithToken : lockdown).attributes,
      });
    });
  }
}
