/**
 * The HTTP/2 GC workaround (router-app/src/grpc/http2-stream-index.ts): a
 * padded session's stream index must look, to Node's HTTP/2 core and to
 * grpc-js, exactly like the real one. Real node:http2 servers and clients and
 * a real grpc-js server, on loopback.
 */
import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { padGrpcServerSessions, padStreamIndex, STREAM_INDEX_PADDING, unsupportedNode } from '../../router-app/src/grpc/http2-stream-index';
import { routerFor, startDemoServer } from '../support/demo-backends';

const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size')!.get!;

/** Node's private stream index of a session (what the workaround pads). */
function indexOf(session: http2.Http2Session): Map<number, unknown> {
  const key = Object.getOwnPropertySymbols(session).find((s) => s.description === 'state')!;
  return (session as unknown as Record<symbol, { streams: Map<number, unknown> }>)[key].streams;
}

interface Rig {
  server: http2.Http2Server;
  sessions: http2.ServerHttp2Session[];
  pending: http2.ServerHttp2Stream[];
  client: http2.ClientHttp2Session;
  /** The client's TCP socket (to kill it as a network fault would). */
  socket: net.Socket;
  padResults: Array<string | undefined>;
}

/** A server that pads every session and holds every stream open until told (`pending`). */
async function rig(): Promise<Rig> {
  const server = http2.createServer();
  const sessions: http2.ServerHttp2Session[] = [];
  const pending: http2.ServerHttp2Stream[] = [];
  const padResults: Array<string | undefined> = [];
  server.on('session', (s) => {
    padResults.push(padStreamIndex(s));
    sessions.push(s);
  });
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    pending.push(stream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const socket = net.connect(port, '127.0.0.1');
  const client = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => socket });
  client.on('error', () => {});
  const r = { server, sessions, pending, client, socket, padResults };
  opened.push(r);
  return r;
}

function request(client: http2.ClientHttp2Session): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = client.request({ ':path': '/' });
    let status: number | undefined;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.on('close', () => resolve({ status }));
    req.resume();
    req.end();
  });
}

const opened: Rig[] = [];
afterEach(async () => {
  for (const r of opened.splice(0)) {
    r.socket.destroy();
    for (const s of r.sessions) s.destroy();
    await new Promise((res) => r.server.close(res));
  }
});

const until = async (what: string, ok: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('padStreamIndex on real node:http2 sessions', () => {
  test('size, forEach and iteration show only the real streams; the padding stays in the table', async () => {
    const r = await rig();
    try {
      const answers = [request(r.client), request(r.client), request(r.client)];
      await until('3 streams', () => r.pending.length === 3);
      expect(r.padResults).toEqual([undefined]);
      const index = indexOf(r.sessions[0]);
      expect(index.size).toBe(3);
      expect(mapSize.call(index)).toBe(3 + STREAM_INDEX_PADDING);
      const seen: unknown[] = [];
      index.forEach((v, k) => {
        expect(k).toBeGreaterThan(0);
        seen.push(v);
      });
      expect(new Set(seen)).toEqual(new Set(r.pending));
      expect([...index.keys()].every((k) => k > 0)).toBe(true);
      expect([...index.values()]).toHaveLength(3);
      expect([...index]).toHaveLength(3);
      for (const s of r.pending) s.respond({ ':status': 200 }, { endStream: true });
      expect(await Promise.all(answers)).toEqual([{ status: 200 }, { status: 200 }, { status: 200 }]);
      await until('streams gone', () => index.size === 0);
      expect(mapSize.call(index)).toBe(STREAM_INDEX_PADDING);
      // A second call on the same session is left alone and says why.
      expect(padStreamIndex(r.sessions[0])).toBe('already padded');
      // Cleared (Node's HTTP/2 core does not, 20.20): the padding comes back, the real streams read 0.
      index.clear();
      expect([index.size, mapSize.call(index)]).toEqual([0, STREAM_INDEX_PADDING]);
    } finally {
      r.client.destroy();
      await new Promise((res) => r.server.close(res));
    }
  });

  test('a graceful close waits for the streams in flight, then the session and the server close', async () => {
    const r = await rig();
    const answer = request(r.client);
    await until('a stream', () => r.pending.length === 1);
    const session = r.sessions[0];
    let sessionClosed = false;
    session.on('close', () => (sessionClosed = true));
    const serverClosed = new Promise<void>((res) => r.server.close(() => res()));
    session.close();
    await new Promise((res) => setTimeout(res, 100));
    // Still open: one real stream in flight (the padding does not count, and is not what holds it).
    expect(sessionClosed).toBe(false);
    r.pending[0].respond({ ':status': 200 }, { endStream: true });
    expect(await answer).toEqual({ status: 200 });
    await until('the session to close', () => sessionClosed);
    r.client.close();
    await serverClosed;
  });

  test('destroying a session with streams in flight destroys those streams (and nothing of the padding is called)', async () => {
    const r = await rig();
    const answers = [request(r.client), request(r.client)];
    await until('2 streams', () => r.pending.length === 2);
    const closed = r.pending.map((s) => new Promise<void>((res) => s.on('close', () => res())));
    r.sessions[0].destroy();
    await Promise.all(closed);
    expect(r.pending.every((s) => s.destroyed)).toBe(true);
    const got = await Promise.all(answers);
    expect(got.every((g) => g.status === undefined)).toBe(true);
    r.client.destroy();
    await new Promise((res) => r.server.close(res));
  });

  test('a client whose socket dies mid-call: the server closes its streams and the session', async () => {
    const r = await rig();
    void request(r.client);
    await until('a stream', () => r.pending.length === 1);
    const streamClosed = new Promise<void>((res) => r.pending[0].on('close', () => res()));
    const sessionClosed = new Promise<void>((res) => r.sessions[0].on('close', () => res()));
    r.socket.destroy();
    await Promise.all([streamClosed, sessionClosed]);
    expect(indexOf(r.sessions[0]).size).toBe(0);
    await new Promise((res) => r.server.close(res));
  });

  test('it runs on the Node majors it was checked on only', () => {
    expect(unsupportedNode('20.20.2')).toBeUndefined();
    expect(unsupportedNode('22.23.5')).toBeUndefined();
    expect(unsupportedNode(process.versions.node)).toBeUndefined();
    expect(unsupportedNode('24.1.0')).toBe('Node 24.1.0: the workaround was checked on Node 20 and 22 only');
  });

  test('a session whose private state is not the known shape is left alone, with the reason (a fake: a future Node)', () => {
    const fake = new (class FakeSession {})() as unknown as http2.Http2Session;
    expect(padStreamIndex(fake)).toBe('the session has no state symbol');
    const odd = { [Symbol('state')]: { streams: {} } } as unknown as http2.Http2Session;
    expect(padStreamIndex(odd)).toBe('the session state has no streams Map');
    const busy = { [Symbol('state')]: { streams: new Map([[1, {}]]) } } as unknown as http2.Http2Session;
    expect(padStreamIndex(busy)).toBe('the session already has streams');
  });
});

describe('padGrpcServerSessions on a real grpc-js server', () => {
  const service: grpc.ServiceDefinition = {
    Echo: {
      path: '/test.Echo/Echo',
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: Buffer) => v,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (v: Buffer) => v,
      responseDeserialize: (b: Buffer) => b,
    },
  };

  async function start(holdMs: number) {
    const server = new grpc.Server();
    const sessions: http2.Http2Session[] = [];
    server.addService(service, {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => void setTimeout(() => cb(null, call.request), holdMs).unref(),
    });
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    const skipped: string[] = [];
    expect(padGrpcServerSessions(server, (why) => skipped.push(why))).toBeUndefined();
    for (const s of (server as unknown as { http2Servers: Map<http2.Http2Server, unknown> }).http2Servers.keys()) s.on('session', (x) => sessions.push(x));
    const Client = grpc.makeGenericClientConstructor(service, 'Echo');
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Echo: (req: Buffer, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void };
    const echo = (text: string) => new Promise<string>((res, rej) => client.Echo(Buffer.from(text), (e, r) => (e ? rej(e) : res(r!.toString()))));
    return { server, client, echo, sessions, skipped };
  }

  test('calls are answered, every session is padded, and tryShutdown waits for the calls in flight', async () => {
    const { server, client, echo, sessions, skipped } = await start(300);
    try {
      expect(await echo('first')).toBe('first');
      expect(sessions).toHaveLength(1);
      const index = indexOf(sessions[0]);
      expect(index.size).toBe(0);
      expect(mapSize.call(index)).toBe(STREAM_INDEX_PADDING);
      const inFlight = Promise.all(['a', 'b', 'c'].map(echo));
      await until('3 calls in the index', () => index.size === 3);
      const t0 = Date.now();
      const shut = new Promise<void>((res, rej) => server.tryShutdown((e) => (e ? rej(e) : res())));
      expect(await inFlight).toEqual(['a', 'b', 'c']);
      await shut;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
      expect(skipped).toEqual([]);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  test('forceShutdown with calls in flight ends them (UNAVAILABLE or CANCELLED) and closes the sessions', async () => {
    const { server, client, echo, sessions } = await start(10_000);
    try {
      const calls = ['x', 'y'].map((t) => echo(t).then(() => 'answered', (e: grpc.ServiceError) => grpc.status[e.code]));
      await until('a session', () => sessions.length === 1);
      await until('2 calls in the index', () => indexOf(sessions[0]).size === 2);
      const closed = new Promise<void>((res) => sessions[0].on('close', () => res()));
      server.forceShutdown();
      const outcomes = await Promise.all(calls);
      expect(outcomes.every((o) => o === 'UNAVAILABLE' || o === 'CANCELLED' || o === 'INTERNAL')).toBe(true);
      await closed;
    } finally {
      client.close();
    }
  });

  test('an unbound server is refused with the reason', () => {
    expect(padGrpcServerSessions(new grpc.Server(), () => {})).toBe('the grpc-js Server is not bound');
    expect(padGrpcServerSessions({}, () => {})).toBe('the grpc-js Server has no http2Servers Map');
  });
});

describe('the router', () => {
  test("runs its gRPC server with the workaround on by default, off with GRPC_HTTP2_GC_WORKAROUND=false; calls are answered either way", async () => {
    const demo = await startDemoServer({ name: 'demo' });
    try {
      for (const [env, state] of [[{}, 'on'], [{ GRPC_HTTP2_GC_WORKAROUND: 'false' }, 'off']] as const) {
        const r = await routerFor([{ name: 'demo', url: demo.url }], env);
        try {
          expect(r.router.http2GcWorkaround).toBe(state);
          const answers = await Promise.all(Array.from({ length: 20 }, () => new Promise<{ tools: Array<{ name: string }> }>((res, rej) => r.client.ListTools({}, new grpc.Metadata(), {}, (e, a) => (e ? rej(e) : res(a))))));
          expect(answers.every((a) => a.tools.some((t) => t.name === 'demo__echo'))).toBe(true);
        } finally {
          await r.close();
        }
      }
    } finally {
      await demo.close();
    }
  });
});
