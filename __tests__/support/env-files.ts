/**
 * Reads a synthesized docker_container the way its entrypoint does (constructs/env-files.ts):
 * which environment variable the `/bin/sh -c` script writes to a file, and that variable's
 * value in the container's env. For the tests that check or run what the plan hands over.
 */
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The files the entrypoint script writes: path -> the variable it writes there. */
export function envFilesOf(c: Json): Record<string, string> {
  const script = Array.isArray(c.entrypoint) && c.entrypoint[0] === '/bin/sh' && c.entrypoint[1] === '-c' ? String(c.entrypoint[2]) : '';
  return Object.fromEntries([...script.matchAll(/printf '%s' "\$([A-Z_][A-Z0-9_]*)" > (\S+)/g)].map((m) => [m[2], m[1]]));
}

/** The content the plan gives the file at `file` through the entrypoint (the variable's value in env), or undefined. */
export function envFileContent(c: Json, file: string): string | undefined {
  const variable = envFilesOf(c)[file];
  if (variable === undefined) return undefined;
  const entry = ((c.env ?? []) as string[]).find((e) => e.startsWith(`${variable}=`));
  return entry?.slice(variable.length + 1);
}
