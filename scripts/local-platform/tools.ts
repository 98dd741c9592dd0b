/**
 * Paths of the external programs the local platform runs. Resolved from
 * PATH, or from the cache dir scripts/provision-test-tools.sh fills (consul
 * 1.8.7 from Debian bullseye lives there, not on PATH).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function locateTool(name: 'consul' | 'haproxy'): string {
  const envName = `MCP_LOCAL_${name.toUpperCase()}`;
  if (process.env[envName]) return process.env[envName]!;
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    /* not on PATH */
  }
  const cache = process.env.MCP_TOOLS_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'mcp-router-platform');
  const cached = path.join(cache, name, 'usr', 'bin', name);
  if (fs.existsSync(cached)) return cached;
  throw new Error(
    `${name} not found on PATH or in ${cache}. Run \`bash scripts/provision-test-tools.sh\` (as root) to install it, or set ${envName}.`,
  );
}
