/**
 * Where the Docker provider connects. Defaults to DOCKER_HOST, then the local
 * socket, like the docker CLI.
 */
import { propError } from './validation';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';
const SCHEMES = ['unix://', 'ssh://', 'tcp://', 'npipe://'];

/** Validates an explicit host (unix://, ssh://, tcp://, npipe://) or picks DOCKER_HOST / the local socket. */
export function resolveDockerHost(host: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const value = host ?? (env.DOCKER_HOST || DEFAULT_DOCKER_HOST);
  const source = host !== undefined ? 'dockerHost' : 'DOCKER_HOST';
  if (typeof value !== 'string' || !SCHEMES.some((s) => value.startsWith(s) && value.length > s.length)) {
    throw propError('McpRouterStack', source, value, 'a Docker endpoint URL starting with unix://, ssh://, tcp:// or npipe:// (e.g. unix:///var/run/docker.sock, ssh://user@host, tcp://host:2376)');
  }
  return value;
}

/** Where a DockerProvider connects, as the package exports it (static methods, for every jsii language). */
export class DockerHost {
  /** The local engine's socket. */
  public static readonly DEFAULT: string = DEFAULT_DOCKER_HOST;

  /**
   * `host` when given (validated: unix://, ssh://, tcp:// or npipe://), else the
   * DOCKER_HOST environment variable, else the local socket; throws a PropError
   * naming the bad value.
   */
  public static resolve(host?: string): string {
    return resolveDockerHost(host);
  }

  private constructor() {}
}
