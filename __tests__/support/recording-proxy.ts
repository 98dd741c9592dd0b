/**
 * A recording HTTP proxy for tests: forwards every request to one upstream
 * (a Consul agent) unchanged and records its method, path and headers, so a
 * test can check what a client sent on each call — long-polling blocking
 * queries included (bodies are streamed both ways). Loopback only.
 */
import * as http from 'node:http';

export interface RecordedRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
}

export class RecordingProxy {
  readonly requests: RecordedRequest[] = [];
  private readonly server: http.Server;

  private constructor(
    readonly address: string,
    readonly port: number,
    upstream: { host: string; port: number },
  ) {
    this.server = http.createServer((req, res) => {
      this.requests.push({ at: Date.now(), method: req.method ?? '', path: req.url ?? '', headers: req.headers });
      if (this.requests.length > 50_000) this.requests.splice(0, 10_000);
      const up = http.request({ host: upstream.host, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(up);
    });
  }

  static async start(address: string, port: number, upstream: { host: string; port: number }): Promise<RecordingProxy> {
    const p = new RecordingProxy(address, port, upstream);
    await new Promise<void>((resolve, reject) => {
      p.server.once('error', reject);
      p.server.listen(port, address, () => resolve());
    });
    return p;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
