/**
 * Process entry: configuration from the environment (invalid → exit 2 with the
 * variable and value named), start, and graceful drain on SIGTERM/SIGINT
 * (exit 0).
 */
import { ConfigError, loadConfig } from './config';
import { startRouter } from './router';

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
  const router = await startRouter(config);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      router.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    router.logger.info({ signal }, 'shutdown requested');
    router.drain().then(
      () => process.exit(0),
      (err: Error) => {
        router.logger.error({ err: err.message }, 'drain failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err: Error) => {
  process.stderr.write(JSON.stringify({ level: 'fatal', msg: `router failed to start: ${err.message}` }) + '\n');
  process.exit(1);
});
