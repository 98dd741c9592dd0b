/**
 * Times one synth of main.ts's McpRouterStack in this (fresh) process:
 * `node bench/synth-child.js <count|variable> <outdir>`. Prints one JSON line:
 * module load time, construct+synth time, and the routers found in cdk.tf.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const t0 = process.hrtime.bigint();
const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

function main(): void {
  const [which, outdir] = process.argv.slice(2);
  if (!which || !outdir) throw new Error('usage: synth-child <count|variable> <outdir>');
  const count = which === 'variable' ? undefined : Number(which);
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new Error(`count must be a positive integer or "variable"; received ${JSON.stringify(which)}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { App } = require('cdktf') as typeof import('cdktf');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { McpRouterStack } = require(path.join(process.env.BENCH_REPO_ROOT!, 'main')) as typeof import('../main');
  const loadMs = ms(t0);
  const t1 = process.hrtime.bigint();
  const app = new App({ outdir });
  new McpRouterStack(app, 'mcp-router-platform', {
    dockerHost: 'unix:///var/run/docker.sock',
    ...(count === undefined ? {} : { instanceCount: count, maxInstances: Math.max(10, count) }),
  });
  app.synth();
  const synthMs = ms(t1);
  const file = path.join(outdir, 'stacks', 'mcp-router-platform', 'cdk.tf.json');
  const tf = JSON.parse(fs.readFileSync(file, 'utf8'));
  const containers = Object.values(tf.resource?.docker_container ?? {}) as Array<{ count?: unknown }>;
  // The router fleet is one docker_container with `count` (a number, or "${var.instanceCount}").
  const counted = containers.find((c) => c.count !== undefined)?.count ?? null;
  process.stdout.write(JSON.stringify({ which, loadMs, synthMs, bytes: fs.statSync(file).size, containers: containers.length, routerCount: counted, variable: Boolean(tf.variable?.instanceCount) }) + '\n');
}

try {
  main();
} catch (err) {
  process.stderr.write(`synth-child failed: ${(err as Error).stack}\n`);
  process.exit(1);
}
