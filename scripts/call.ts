/**
 * Entry of `npm run call -- <Rpc> [json]` (see scripts/router-cli/cli.ts).
 */
import { runCli } from './router-cli/cli';

runCli(process.argv.slice(2), process.env, { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`ERROR: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
