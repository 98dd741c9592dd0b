/**
 * `npm run local -- --auth jwt` prints a token that works: the harness
 * (scripts/local.ts, in its own process group as a shell runs it) brings the
 * platform up with authentication on both doors and prints
 * `export MCP_ROUTER_TOKEN=…`; that token lists and calls through HAProxy on
 * gRPC (`npm run call`'s CLI, which sends $MCP_ROUTER_TOKEN) and on MCP (the
 * official SDK client), and without it both doors refuse. Ctrl-C stops it.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { randomFreeBlock } from '../../scripts/local-platform/loopback';
import { waitUntil } from '../../scripts/local-platform/managed-process';
import { DEFAULT_PORTS } from '../../scripts/local-platform/platform-config';
import { runCli } from '../../scripts/router-cli/cli';

jest.setTimeout(180_000);

const REPO = path.resolve(__dirname, '..', '..');

test('npm run local -- --auth jwt: the printed token works on both doors; no token is refused on both', async () => {
  const block = await randomFreeBlock([DEFAULT_PORTS.consulHttp, DEFAULT_PORTS.consulDns, DEFAULT_PORTS.haproxyFrontend, DEFAULT_PORTS.haproxyStats, DEFAULT_PORTS.haproxyMcp]);
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(REPO, 'scripts', 'local.ts'), '--instances', '1', '--auth', 'jwt', '--prefix', block.prefix, '--quiet'], {
    cwd: REPO,
    env: { ...process.env, TS_NODE_PROJECT: path.join(REPO, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitUntil('the harness prints a token', () => /export MCP_ROUTER_TOKEN=\S+\n/.test(out) || child.exitCode !== null, 120_000, 100);
    const token = /export MCP_ROUTER_TOKEN=(\S+)\n/.exec(out)?.[1];
    expect({ token: token !== undefined, out: token ? '' : out }).toEqual({ token: true, out: '' });
    const target = /gRPC endpoint\s+grpc:\/\/(\S+)/.exec(out)![1];
    const mcpUrl = /MCP endpoint\s+(\S+)/.exec(out)![1];

    const cli = async (env: Record<string, string>) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(['ListTools', '--target', target], env, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
      return { code, stdout, stderr };
    };
    const withToken = await cli({ MCP_ROUTER_TOKEN: token! });
    expect(withToken.code).toBe(0);
    expect(JSON.parse(withToken.stdout).tools.map((t: { name: string }) => t.name)).toContain('demo__echo');
    const without = await cli({});
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/^ERROR: UNAUTHENTICATED \(16\): authentication required/);

    const client = new Client({ name: 'local-cli-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    try {
      expect((await client.callTool({ name: 'demo__echo', arguments: { text: 'with the printed token' } })).content).toEqual([{ type: 'text', text: 'with the printed token' }]);
    } finally {
      await client.close();
    }
    const anonymous = new Client({ name: 'local-cli-test', version: '1' });
    const refused = await anonymous.connect(new StreamableHTTPClientTransport(new URL(mcpUrl))).catch((e) => e);
    expect(refused).toBeInstanceOf(StreamableHTTPError);
    expect((refused as StreamableHTTPError).code).toBe(401);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGINT');
    const code = await Promise.race([exit, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
    if (code === 'timeout') process.kill(-child.pid!, 'SIGKILL');
    expect(code).toBe(0);
  }
});
