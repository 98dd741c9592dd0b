/**
 * Files a container gets at start from its environment: the one way this package
 * hands a file to a container with a read-only root filesystem.
 *
 * The provider's `upload` copies files to "/" before the start, and the engine
 * refuses that for a read-only root ("container rootfs is marked read-only",
 * even when the file's path is inside a volume or a tmpfs). So the content goes
 * in the container's environment instead, and the entrypoint (`/bin/sh -c`)
 * writes each variable to its file (umask 077: readable by the container's user
 * only), unsets the variables and `exec`s the process: the process's own
 * environment (/proc/<pid>/environ) does not keep them. The files belong on a
 * tmpfs (`envFilesTmpfs`), so a secret never reaches the container's writable layer.
 *
 * Trade-off: the container's configuration still holds the variables, so
 * `docker inspect` shows them (as it shows an upload's content in Terraform
 * state); access to the Docker API is root on the host anyway. A value that is a
 * secret is a Terraform reference, so the synthesized plan holds the reference only.
 *
 * Used for HAProxy's config (MCP_HAPROXY_CONFIG), the Consul agents' ACL tokens,
 * and the routers' and demo servers' Consul tokens. Needs /bin/sh in the image
 * (the official haproxy and consul images, and node:20-slim, have it).
 */
import { propError } from './validation';

/** One file written at start from one environment variable. */
export interface EnvFile {
  /** The variable that carries the content (unset before the process starts). */
  readonly variable: string;
  /** Absolute path of the file in the container (on a tmpfs, or a directory the container's user can write). */
  readonly path: string;
  /** The content: text, or a Terraform expression (a secret is always a reference, never a literal). */
  readonly content: string;
}

/** The entrypoint and environment entries that write `files` at start. */
export interface EnvFilesEntrypoint {
  /** The docker_container `entrypoint` (`/bin/sh -c <script> <name>`); the container's `command` becomes its arguments. */
  readonly entrypoint: string[];
  /** `VARIABLE=content` entries to add to the container's `env`. */
  readonly env: string[];
}

const VARIABLE = /^[A-Z_][A-Z0-9_]*$/;
const SAFE_WORD = /^[A-Za-z0-9._/-]+$/;

/**
 * The entrypoint that writes each file from its variable (umask 077), unsets the variables and
 * execs `then` (e.g. the image's own entrypoint, `docker-entrypoint.sh`) followed by the
 * container's command; with `then` empty, the command itself. `name` is the script's $0 (shown
 * in `ps` until the exec). Paths, variable names and `then` are checked: they are written into
 * the shell script as they are.
 */
export function envFilesEntrypoint(construct: string, name: string, files: readonly EnvFile[], then: readonly string[] = []): EnvFilesEntrypoint {
  if (files.length === 0) throw propError(construct, 'envFiles', files, 'at least one file');
  for (const f of files) {
    if (!VARIABLE.test(f.variable)) throw propError(construct, 'envFiles.variable', f.variable, 'an environment variable name (A-Z, 0-9, _)');
    if (!f.path.startsWith('/') || !SAFE_WORD.test(f.path) || f.path.split('/').includes('..')) throw propError(construct, 'envFiles.path', f.path, 'an absolute container path of A-Z a-z 0-9 . _ / - without ".."');
  }
  for (const w of [name, ...then]) if (!SAFE_WORD.test(w)) throw propError(construct, 'envFiles.then', w, 'words of A-Z a-z 0-9 . _ / -');
  const writes = files.map((f) => `printf '%s' "$${f.variable}" > ${f.path}`);
  const script = ['umask 077', ...writes, `unset ${files.map((f) => f.variable).join(' ')}`, `exec ${[...then, '"$@"'].join(' ')}`].join(' && ');
  return { entrypoint: ['/bin/sh', '-c', script, name], env: files.map((f) => `${f.variable}=${f.content}`) };
}
