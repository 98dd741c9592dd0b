/**
 * `npm run local -- --instances 3 [--mode http|tcp] [--balance roundrobin|leastconn|source]
 *                   [--backends demo,other] [--prefix 127.0.0] [--quiet]`
 *
 * Brings the whole platform up on this host without Docker — Consul, N
 * routers, HAProxy and demo MCP backends, from the same renderers the cdktf
 * constructs deploy — prints the endpoints, and tears everything down on
 * Ctrl-C (SIGINT) or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { loopbackBlock } from './local-platform/loopback';
import { LocalPlatform } from './local-platform/platform';

const USAGE = 'usage: npm run local -- [--instances N] [--mode http|tcp] [--balance roundrobin|leastconn|source] [--backends a,b] [--prefix 127.0.0] [--quiet]';

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
  let block;
  try {
    block = loopbackBlock(values.prefix!);
  } catch (err) {
    fail(`--prefix: ${(err as Error).message}`);
  }

  process.stdout.write(`Starting Consul, ${backends.length} MCP backend(s), ${instances} router(s) and HAProxy (${values.mode} mode) on ${block.prefix}.0/24 ...\n`);
  const platform = await LocalPlatform.start({
    instances,
    mode: values.mode,
    balance: values.balance as 'roundrobin' | 'leastconn' | 'source',
    backends,
    block,
    echo: values.quiet ? undefined : process.stderr,
  });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    process.stdout.write(`\n${signal}: stopping routers (graceful drain), HAProxy, backends and Consul ...\n`);
    await platform.close();
    process.stdout.write('All stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const routers = platform.runningRouters().map((i) => `  router-${i}       grpc://${platform.routerTarget(i)}`).join('\n');
  process.stdout.write(
    [
      '',
      'MCP router platform is up:',
      `  gRPC endpoint  grpc://${platform.endpoint}   (HAProxy, ${values.mode} mode)`,
      `  MCP endpoint   ${platform.mcpUrl}   (Streamable HTTP, for MCP clients)`,
      `  HAProxy stats  ${platform.statsUrl}`,
      `  Consul UI      ${platform.consulUiUrl}`,
      routers,
      `  logs/configs   ${platform.workDir}`,
      '',
      `Try: npm run call -- ListTools --target ${platform.endpoint}`,
      'Press Ctrl-C to stop everything.',
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  process.stderr.write(`local platform failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
