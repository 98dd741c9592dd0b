/**
 * Process entry: configuration from the environment (invalid → exit 2 with the
 * variable and value named), start, and graceful drain on SIGTERM, SIGINT or
 * SIGHUP (exit 0).
 *
 * The signal handlers are installed before anything else: a signal that
 * arrives while the router starts is kept and the router drains as soon as it
 * has started (a start never waits on Consul, so that is soon); a second
 * signal exits 1 at once.
 */
import { ConfigError, loadConfig } from './config';
import type { RouterHandle, startRouter as StartRouter } from './router';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

let router: RouterHandle | undefined;
let requested: NodeJS.Signals | undefined;
let signals = 0;

const QUIET = new Set(['warn', 'error', 'fatal', 'silent']);

/** Before the router (and its logger) exists: a JSON line like the logger's, on stdout. */
function log(level: 'info' | 'warn' | 'error' | 'fatal', fields: Record<string, unknown>, msg: string): void {
  if (router) return void router.logger[level](fields, msg);
  if (level === 'info' && QUIET.has(String(process.env.LOG_LEVEL ?? '').toLowerCase())) return;
  process.stdout.write(JSON.stringify({ level, time: new Date().toISOString(), pid: process.pid, ...fields, msg }) + '\n');
}

function drainAndExit(r: RouterHandle): void {
  r.drain().then(
    () => process.exit(0),
    (err: Error) => {
      log('error', { err: err.message }, 'drain failed');
      process.exit(1);
    },
  );
}

function onSignal(signal: NodeJS.Signals): void {
  signals++;
  if (signals > 1) {
    log('warn', { signal }, 'second signal: exiting now');
    process.exit(1);
  }
  requested = signal;
  log('info', { signal, started: router !== undefined }, 'shutdown requested');
  if (router) drainAndExit(router);
}

for (const s of SIGNALS) process.on(s, onSignal);
log('info', { signals: SIGNALS }, 'router process starting');

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(JSON.stringify({ level: 'fatal', msg: err.message, problems: err.problems }) + '\n');
      process.exit(2);
    }
    throw err;
  }
  // Loaded only now, after the handlers are in place (it pulls in gRPC, the MCP SDK, …: a few hundred ms).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startRouter } = require('./router') as { startRouter: typeof StartRouter };
  const started = await startRouter(config);
  router = started;
  if (requested) drainAndExit(started);
}

main().catch((err: Error) => {
  process.stderr.write(JSON.stringify({ level: 'fatal', msg: `router failed to start: ${err.message}` }) + '\n');
  process.exit(1);
});
