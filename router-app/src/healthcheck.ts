/**
 * Container healthcheck: exit 0 iff grpc.health.v1 reports SERVING on
 * 127.0.0.1:$MCP_ROUTER_PORT. Needs nothing but node and the router's deps.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as path from 'node:path';
import { ROUTER_DEFAULTS, ROUTER_ENV } from './contract';

const port = process.env[ROUTER_ENV.port] || String(ROUTER_DEFAULTS.port);
const bind = process.env[ROUTER_ENV.bindAddress];
const host = bind && bind !== '0.0.0.0' ? bind : '127.0.0.1';
const protoPath = path.join(path.dirname(require.resolve('grpc-health-check/package.json')), 'proto', 'health', 'v1', 'health.proto');
const def = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { keepCase: true, enums: String })) as any;
const client = new def.grpc.health.v1.Health(`${host}:${port}`, grpc.credentials.createInsecure());
client.Check({ service: '' }, { deadline: Date.now() + 2000 }, (err: grpc.ServiceError | null, res: { status: string }) => {
  if (err || res.status !== 'SERVING') {
    process.stderr.write(`unhealthy: ${err ? err.message : res.status}\n`);
    process.exit(1);
  }
  process.exit(0);
});
