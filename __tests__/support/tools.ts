/**
 * Locates the real external tools the tests run against (haproxy, consul,
 * h2load, dig, and Node 22 for the MCP conformance suite). They are provisioned by scripts/provision-test-tools.sh
 * (run by `npm test`'s pretest step); when a test runs on its own, this module
 * runs the script once itself. A missing tool fails the test loudly with the
 * script's own explanation, never skips it.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export type ToolName = 'haproxy' | 'haproxy30' | 'consul' | 'h2load' | 'dig' | 'node22' | 'ip' | 'unshare' | 'inspector' | 'python3';

let cache: Record<string, string> | undefined;

function provision(): Record<string, string> {
  if (cache) return cache;
  const script = path.resolve(__dirname, '..', '..', 'scripts', 'provision-test-tools.sh');
  let out: string;
  try {
    out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `Test tools could not be provisioned by ${script}: ${e.stderr?.trim() || e.message}. ` +
        'Run it by hand as root to see the full output.',
    );
  }
  cache = {};
  for (const line of out.split('\n')) {
    const m = /^([a-z0-9]+)=(.+)$/.exec(line.trim());
    if (m) cache[m[1]] = m[2];
  }
  return cache;
}

/** Absolute path of a provisioned tool; throws with the reason when it is missing. */
export function requireTool(name: ToolName): string {
  const tools = provision();
  const bin = tools[name];
  if (!bin) throw new Error(`Tool '${name}' was not provisioned by scripts/provision-test-tools.sh (got: ${JSON.stringify(tools)})`);
  return bin;
}
