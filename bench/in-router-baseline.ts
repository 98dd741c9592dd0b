/**
 * Preload (`node -r bench/dist/in-router-baseline.js router-app/dist/main.js`)
 * for row 7b: the bench's bare grpc-js server (baseline-server.ts, the same
 * answer file) started INSIDE a router process, on
 * BENCH_IN_ROUTER_BASELINE_PORT, beside a router that runs as usual (its
 * catalogue, MCP session to the backend, front door and admin server) but
 * takes no load.
 *
 * Not one line of router code is on this server's call path, so "bare inside a
 * router process ÷ bare alone" measures what the process it lives in costs a
 * gRPC server: the ceiling of row 7 for any router built on this stack
 * (bench/FINDINGS.md §9).
 */
import { startBaseline } from './baseline-server';

const port = process.env.BENCH_IN_ROUTER_BASELINE_PORT;
if (port) {
  startBaseline(process.env.BENCH_IN_ROUTER_BASELINE_HOST ?? '127.0.0.1', Number(port), process.env.BASELINE_LIST_TOOLS_FILE).then(
    (b) => process.stdout.write(`in-router baseline listening ${b.port}\n`),
    (err: Error) => {
      process.stderr.write(`in-router baseline failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
