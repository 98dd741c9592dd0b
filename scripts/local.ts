/**
 * `npm run local -- --instances 3 [--mode http|tcp] [--balance roundrobin|leastconn|source]
 *                   [--backends demo,other] [--prefix 127.0.0] [--auth none|jwt|apiKeys] [--quiet]`
 *
 * Brings the whole platform up on this host without Docker — Consul, N
 * routers, HAProxy and demo MCP backends, from the same renderers the cdktf
 * constructs deploy — says "up" once every router is UP in HAProxy and
 * passing in Consul (and how long that took), prints the endpoints, and
 * tears everything down in order on Ctrl-C (SIGINT), SIGTERM or SIGHUP: the
 * routers drain and exit, then the backends, then HAProxy and Consul. The
 * handlers are in place from the first line, so a signal during start-up
 * stops what has started; a second signal kills everything at once.
 *
 * The children run in their own process groups (a terminal's Ctrl-C reaches
 * only this process, which stops them in order) and die with it if it is
 * killed (parent-death signal): no process outlives the harness.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loopbackBlock } from './local-platform/loopback';
import type { LocalPlatform } from './local-platform/platform';
import { newApiKey } from './local-platform/local-issuer';

let platform: LocalPlatform | undefined;
const starting = new AbortController();
let stopping = false;

function onSignal(signal: NodeJS.Signals): void {
  if (stopping) {
    process.stdout.write(`\n${signal} again: killing everything now.\n`);
    process.exit(1); // the children die with this process (parent-death signal, and the exit hook)
  }
  stopping = true;
  if (!platform) {
    process.stdout.write(`\n${signal} during start-up: stopping what has started ...\n`);
    starting.abort();
    return;
  }
  void shutdown(platform, signal);
}
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

async function shutdown(p: LocalPlatform, signal: string): Promise<never> {
  process.stdout.write(`\n${signal}: stopping the routers (graceful drain), then the backends, then HAProxy and Consul ...\n`);
  const stopped = await p.close();
  for (const s of stopped) process.stdout.write(`  stopped ${s.name}: ${s.signal ? `signal ${s.signal}` : `exit ${s.code}`} after ${(s.atMs / 1000).toFixed(1)} s\n`);
  const unclean = stopped.filter((s) => !s.clean);
  process.stdout.write(unclean.length ? `Stopped; not cleanly: ${unclean.map((s) => s.name).join(', ')}.\n` : 'All stopped.\n');
  process.exit(unclean.length ? 1 : 0);
}

const USAGE = 'usage: npm run local -- [--instances N] [--mode http|tcp] [--balance roundrobin|leastconn|source] [--backends a,b] [--prefix 127.0.0] [--auth none|jwt|apiKeys] [--quiet]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        instances: { type: 'string', default: '1' },
        mode: { type: 'string', default: 'http' },
        balance: { type: 'string', default: 'roundrobin' },
        backends: { type: 'string', default: 'demo' },
        prefix: { type: 'string', default: '127.0.0' },
        auth: { type: 'string', default: 'none' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const instances = Number(values.instances);
  if (!Number.isInteger(instances) || instances < 1 || instances > 10) {
    fail(`--instances must be an integer from 1 to 10 (HAProxy's server-template slots); received ${JSON.stringify(values.instances)}`);
  }
  if (values.mode !== 'http' && values.mode !== 'tcp') fail(`--mode must be http or tcp; received ${JSON.stringify(values.mode)}`);
  if (!['roundrobin', 'leastconn', 'source'].includes(values.balance!)) {
    fail(`--balance must be roundrobin, leastconn or source; received ${JSON.stringify(values.balance)}`);
  }
  const backends = values.backends!.split(',').map((s) => s.trim()).filter(Boolean);
  if (backends.length === 0 || backends.some((b) => !/^[a-z][a-z0-9-]{0,30}$/.test(b))) {
    fail(`--backends must be a comma-separated list of names matching ^[a-z][a-z0-9-]{0,30}$; received ${JSON.stringify(values.backends)}`);
  }
  if (!['none', 'jwt', 'apiKeys'].includes(values.auth!)) fail(`--auth must be none, jwt or apiKeys; received ${JSON.stringify(values.auth)}`);
  // A key made here is printed once and kept by the routers as its hash only.
  const apiKey = values.auth === 'apiKeys' ? newApiKey('developer', ['mcp:admin']) : undefined;
  let block;
  try {
    block = loopbackBlock(values.prefix!);
  } catch (err) {
    fail(`--prefix: ${(err as Error).message}`);
  }

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-local-platform-'));
  process.stdout.write(`Starting Consul, ${backends.length} MCP backend(s), ${instances} router(s) and HAProxy (${values.mode} mode) on ${block.prefix}.0/24 (logs in ${workDir}) ...\n`);
  // Loaded only now: the signal handlers above are in place while it loads.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { LocalPlatform } = require('./local-platform/platform') as typeof import('./local-platform/platform');
  let started: LocalPlatform;
  try {
    started = await LocalPlatform.start({
      instances,
      mode: values.mode,
      balance: values.balance as 'roundrobin' | 'leastconn' | 'source',
      backends,
      block,
      echo: values.quiet ? undefined : process.stderr,
      signal: starting.signal,
      workDir,
      ...(values.auth === 'jwt' ? { auth: { jwt: true } } : apiKey ? { auth: { apiKeys: [apiKey.entry] } } : {}),
    });
  } catch (err) {
    if (starting.signal.aborted) {
      process.stdout.write('Stopped during start-up.\n');
      process.exit(0);
    }
    throw err;
  }
  platform = started;
  if (stopping) return void shutdown(started, 'signal');

  const token = values.auth === 'jwt' ? await started.token({ sub: 'developer', scope: 'mcp:admin' }, 12 * 3600) : apiKey?.key;
  const routers = started.runningRouters().map((i) => `  router-${i}       grpc://${started.routerTarget(i)}`).join('\n');
  const n = started.runningRouters().length;
  process.stdout.write(
    [
      '',
      `MCP router platform is up after ${((started.upMs ?? 0) / 1000).toFixed(1)} s: ${n} of ${n} routers UP in HAProxy and passing in Consul.`,
      `  gRPC endpoint  grpc://${started.endpoint}   (HAProxy, ${values.mode} mode)`,
      `  MCP endpoint   ${started.mcpUrl}   (Streamable HTTP, for MCP clients)`,
      `  HAProxy stats  ${started.statsUrl}`,
      `  Consul UI      ${started.consulUiUrl}`,
      routers,
      `  logs/configs   ${started.workDir}`,
      '',
      ...(token
        ? [
            `Authentication: ${values.auth} on both doors (MCP_ROUTER_AUTH). A token for the developer (scope mcp:admin${values.auth === 'jwt' ? ', valid 12 h, from the local issuer ' + started.issuer!.issuer : ''}):`,
            '',
            `  export MCP_ROUTER_TOKEN=${token}`,
            '',
            `Try: npm run call -- ListTools --target ${started.endpoint}        (sends $MCP_ROUTER_TOKEN)`,
            `     curl -s ${started.mcpUrl} -H "authorization: Bearer $MCP_ROUTER_TOKEN" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \\`,
            `          -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'`,
          ]
        : [`Try: npm run call -- ListTools --target ${started.endpoint}`]),
      'Press Ctrl-C to stop everything.',
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  process.stderr.write(`local platform failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
