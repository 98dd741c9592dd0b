/**
 * Checks shared by the router's two deployment forms (RouterFleet's containers,
 * RouterService's Swarm tasks): the extra environment and the source of the MCP
 * session keys. Each form passes the variables it sets itself and says where a
 * host path must exist.
 */
import { isUnresolved, propError } from './validation';

/**
 * `environment`: a map of variable names to strings, none of them one the
 * construct sets itself (`reserved`).
 */
export function validateRouterEnvironment(scope: string, env: unknown, reserved: readonly string[]): Record<string, string> {
  const e = env ?? {};
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw propError(scope, 'environment', e, 'a map of variable names to string values');
  const map = e as Record<string, unknown>;
  for (const key of Object.keys(map)) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) throw propError(scope, 'environment', key, 'variable names of capital letters, digits and underscores');
    if (typeof map[key] !== 'string') throw propError(scope, `environment.${key}`, map[key], 'a string');
    if (reserved.includes(key)) throw propError(scope, `environment.${key}`, map[key], `left unset: ${key} is set by the platform`);
  }
  return map as Record<string, string>;
}

/**
 * One source of the MCP session keys: `sessionKeys` (a Terraform reference, never
 * a literal: it would put the secret in the plan) or `sessionKeysHostPath` (an
 * absolute path; `where` says where the file must exist).
 */
export function validateSessionKeySource(scope: string, sessionKeys: string | undefined, keysPath: string | undefined, where: string): void {
  if (sessionKeys !== undefined && !isUnresolved(sessionKeys)) {
    // Never echo the value: it is a secret.
    throw propError(scope, 'sessionKeys', '(a literal string)', "a Terraform reference such as a random_password's result (a literal would put the secret in the plan), or use sessionKeysHostPath");
  }
  if (keysPath !== undefined && !isUnresolved(keysPath) && (typeof keysPath !== 'string' || !/^\/[^\s]*[^\s/]$/.test(keysPath))) {
    throw propError(scope, 'sessionKeysHostPath', keysPath, `an absolute path of a file ${where}`);
  }
  if (sessionKeys !== undefined && keysPath !== undefined) throw propError(scope, 'sessionKeysHostPath', keysPath, 'left unset when sessionKeys is given (one source of keys)');
}
