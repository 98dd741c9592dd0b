/**
 * Isolation through HAProxy: while a few clients call CallTool with a large
 * echo and then never read the answer (HTTP/2 stream window 0, stream paused),
 * do other clients' ListTools calls through the same HAProxy still complete?
 *
 * With `http-reuse always`, HAProxy multiplexes every client's calls onto a
 * couple of backend connections; a stalled response fills its stream buffer
 * and blocks the connection's demultiplexer, so every call sharing it waits
 * (head-of-line blocking) until a timeout. With the shipped `safe`, each call
 * in flight has its own backend connection and the others are unaffected.
 * Bounded: the slow clients are destroyed at the end; the probe runs for a
 * fixed time with a deadline per call.
 */
import * as http2 from 'node:http2';
import { requestFrame } from './grpc-frame';
import { routerClient, unary } from './grpc-client';
import { percentile } from './stats';

export interface IsolationResult {
  readonly ok: number;
  readonly failed: number;
  /** ms */
  readonly p50: number;
  readonly p99: number;
  readonly firstError?: string;
}

export async function isolationCheck(target: string, o: { responseBytes?: number; slowClients?: number; durationMs?: number; deadlineMs?: number; tool?: string } = {}): Promise<IsolationResult> {
  const text = 'x'.repeat(o.responseBytes ?? 1_000_000);
  const body = requestFrame('CallTool', { name: o.tool ?? 'demo__echo', arguments: { fields: { text: { stringValue: text } } } });
  const slow: http2.ClientHttp2Session[] = [];
  const client = routerClient(target, { 'grpc.use_local_subchannel_pool': 1 });
  try {
    for (let i = 0; i < (o.slowClients ?? 4); i++) {
      const s = http2.connect(`http://${target}`, { settings: { initialWindowSize: 0 } });
      s.on('error', () => undefined);
      const req = s.request({ ':method': 'POST', ':path': '/mcp.router.v1.McpRouter/CallTool', 'content-type': 'application/grpc', te: 'trailers' });
      req.on('error', () => undefined);
      req.pause();
      req.end(body);
      slow.push(s);
    }
    // Let the large answers reach HAProxy and fill what they can.
    await new Promise((r) => setTimeout(r, 1_500));
    let ok = 0;
    let failed = 0;
    let firstError: string | undefined;
    const lat: number[] = [];
    const end = Date.now() + (o.durationMs ?? 6_000);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < end) {
          const t0 = performance.now();
          try {
            await unary(client, 'ListTools', {}, o.deadlineMs ?? 2_000);
            ok++;
            lat.push(performance.now() - t0);
          } catch (err) {
            failed++;
            firstError ??= (err as Error).message.split(',')[0];
          }
        }
      }),
    );
    lat.sort((a, b) => a - b);
    return { ok, failed, p50: percentile(lat, 50), p99: percentile(lat, 99), firstError };
  } finally {
    client.close();
    for (const s of slow) s.destroy();
  }
}
