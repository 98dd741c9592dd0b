/**
 * Admin HTTP server on MCP_ROUTER_METRICS_PORT: /metrics (Prometheus),
 * /healthz (alive), /readyz (200 only while serving; 503 while starting or
 * draining, so HAProxy takes a draining router out of rotation).
 */
import * as http from 'node:http';
import { PATHS } from '../contract';
import type { RouterMetrics } from '../metrics';

/** A peer router passes on a front-door cancellation: `{ session, requestId }` → whether a call here was cancelled. */
export type PeerCancelHandler = (body: { session?: unknown; requestId?: unknown }) => { status: number; cancelled: boolean; error?: string };

const MAX_PEER_BODY = 8 * 1024;

/**
 * The admin port is on the internal network only (never published by the
 * platform): it serves what the public doors show only to the admin scope,
 * e.g. GET /internal/servers, the backends with their URLs and raw errors.
 */
export function startAdminServer(address: string, port: number, metrics: RouterMetrics, ready: () => boolean, onPeerCancel?: PeerCancelHandler, servers?: () => object): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === PATHS.servers && req.method === 'GET' && servers) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(servers()));
      return;
    }
    if (path === PATHS.peerCancel && req.method === 'POST' && onPeerCancel) {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_PEER_BODY) chunks.push(c);
      });
      req.on('end', () => {
        let body: { session?: unknown; requestId?: unknown };
        try {
          if (size > MAX_PEER_BODY) throw new Error('too large');
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"body must be JSON {session, requestId} under 8 KiB"}');
        }
        const r = onPeerCancel(body ?? {});
        res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify({ cancelled: r.cancelled, ...(r.error ? { error: r.error } : {}) }));
      });
      return;
    }
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
