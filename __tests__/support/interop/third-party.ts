/**
 * MCP software this project did not write, run as its users run it, from the
 * pinned devDependencies' own bins (node_modules/.bin):
 *
 * - `mcp-server-everything streamableHttp` (@modelcontextprotocol/server-everything):
 *   the reference server, Streamable HTTP on $PORT, path /mcp.
 * - `mcp-proxy` bridging the stdio-only `mcp-server-filesystem`
 *   (@modelcontextprotocol/server-filesystem) to Streamable HTTP.
 *
 * Every process gets a minimal environment (server-everything's get-env tool
 * prints its whole environment), listens on one loopback address, and is
 * killed with the test process (ManagedProcess).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ManagedProcess, waitUntil } from '../../../scripts/local-platform/managed-process';

const REPO = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(REPO, 'node_modules', '.bin');
export const LOOPBACK_ONLY_PRELOAD = path.join(__dirname, 'loopback-only.cjs');

function bin(name: string): string {
  const p = path.join(BIN, name);
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: run \`npm ci\` (it is a pinned devDependency)`);
  return p;
}

/** PATH with the running node first, so the bins' `#!/usr/bin/env node` runs the project's Node. */
function minimalEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: process.env.HOME ?? '/tmp', ...extra };
}

export interface ThirdPartyServer {
  readonly proc: ManagedProcess;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Polls until the HTTP endpoint answers at all (any status). */
async function answers(url: string, proc: ManagedProcess, what: string, timeoutMs = 20_000): Promise<void> {
  await waitUntil(what, async () => {
    const res = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(1000) }).catch(() => undefined);
    if (res) await res.body?.cancel();
    return res !== undefined;
  }, timeoutMs, 100, proc);
}

/**
 * `mcp-server-everything streamableHttp` on host:port. The package binds no
 * address of its own (app.listen(PORT)); the loopback-only preload pins it to
 * `host`. gzip-file-as-resource may fetch only from localhost.
 */
export async function startEverythingServer(host: string, port: number, onLine?: (l: string) => void): Promise<ThirdPartyServer> {
  const proc = new ManagedProcess({
    name: 'server-everything',
    command: bin('mcp-server-everything'),
    args: ['streamableHttp'],
    env: minimalEnv({
      PORT: String(port),
      NODE_OPTIONS: `--require ${LOOPBACK_ONLY_PRELOAD}`,
      MCP_TEST_LISTEN_HOST: host,
      GZIP_ALLOWED_DOMAINS: 'localhost',
    }),
    onLine,
  });
  await proc.waitForLine((l) => l.includes('listening on port'), 20_000, '"listening on port" line');
  const url = `http://${host}:${port}/mcp`;
  await answers(url, proc, `server-everything at ${url}`);
  return { proc, host, port, url, stop: async (signal = 'SIGTERM') => void (await proc.stop(signal, 5_000)) };
}

/**
 * The stdio-only filesystem server on `root`, reached through mcp-proxy's
 * Streamable HTTP endpoint (/mcp) on host:port (--host binds loopback).
 */
export async function startFilesystemBridge(host: string, port: number, root: string, onLine?: (l: string) => void): Promise<ThirdPartyServer> {
  const proc = new ManagedProcess({
    name: 'mcp-proxy(server-filesystem)',
    command: bin('mcp-proxy'),
    args: ['--host', host, '--port', String(port), '--server', 'stream', '--', bin('mcp-server-filesystem'), root],
    env: minimalEnv({}),
    onLine,
  });
  const url = `http://${host}:${port}/mcp`;
  await answers(url, proc, `mcp-proxy at ${url}`);
  return { proc, host, port, url, stop: async (signal = 'SIGTERM') => void (await proc.stop(signal, 5_000)) };
}
