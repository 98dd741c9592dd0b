/**
 * Admin HTTP server on MCP_ROUTER_METRICS_PORT: /metrics (Prometheus),
 * /healthz (alive), /readyz (200 only while serving; 503 while starting or
 * draining, so HAProxy takes a draining router out of rotation).
 */
import * as http from 'node:http';
import { PATHS } from '../contract';
import type { RouterMetrics } from '../metrics';

export function startAdminServer(address: string, port: number, metrics: RouterMetrics, ready: () => boolean): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === PATHS.metrics) {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else if (path === PATHS.healthz) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === PATHS.readyz) {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
    } else {
      res.writeHead(404).end();
    }
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve(server));
  });
}
