/**
 * A workaround for a garbage-collection storm in Node's HTTP/2 server
 * (bench/FINDINGS.md §11 and §14), applied to the router's own gRPC server.
 *
 * Node's HTTP/2 session indexes its open streams in a small `Map`
 * (`session[kState].streams`): one `set` when a stream opens, one `delete`
 * when it closes. With a few calls in flight that Map stays near empty and
 * churns, and after V8's first full GC under load each scavenge promotes the
 * calls' objects: the old generation grows ~2 MiB every ~40 ms and V8 runs a
 * full mark-compact every few scavenges, for as long as the load lasts (why:
 * most likely dead hash tables in the old generation keeping their successors
 * alive, a hypothesis; what ends it is measured, FINDINGS §14). Measured
 * on Node 20.20 (and 22): ~15–25 % of a grpc-js server's throughput at 8
 * calls in flight and three times its p99. Every grpc-js server has it.
 *
 * The workaround keeps a few inert entries (negative keys: stream IDs are
 * positive) in each server session's index, so the table never runs near
 * empty; the storm does not start (bench/FINDINGS.md §14: 16 entries are
 * enough, 32 are used, ~2 KiB per connection). The index's `size` and
 * `forEach` (all Node's HTTP/2 core reads of it besides `get`/`set`/`delete`,
 * Node 20.20) are given own versions that leave the padding out, so closing,
 * draining and destroying a session see only its real streams.
 *
 * It reads Node's private session state, so it runs only on the Node majors
 * it was checked on (CHECKED_NODE_MAJORS) and checks what it finds first: a
 * session whose state is not the expected shape is left as it is and
 * `padStreamIndex` says why; it never throws.
 * `GRPC_HTTP2_GC_WORKAROUND=false` turns it off.
 */
import type * as http2 from 'node:http2';
import { types } from 'node:util';

/** Inert entries kept in each server session's stream index. */
export const STREAM_INDEX_PADDING = 32;

/**
 * The Node majors whose HTTP/2 core this was read against (20.20: every read
 * of the index is `get`, `set`, `delete`, `.size` or `.forEach` on the
 * instance, none through a primordial that would pass the overrides by;
 * 22.23 checked by the same tests). On another major the workaround stays off.
 */
export const CHECKED_NODE_MAJORS: readonly number[] = [20, 22];

/** What Node's HTTP/2 core may call on an indexed stream (destroy, close): nothing, for the padding. */
const INERT = Object.freeze({ destroy() {}, close() {} });
/** On a padded index: how many inert entries it holds. */
const PADDED = Symbol('mcp-router: padded stream index');
const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size')!.get!;
const mapForEach = Map.prototype.forEach;
const mapEntries = Map.prototype.entries;
const mapSet = Map.prototype.set;
const mapClear = Map.prototype.clear;

type StreamIndex = Map<number, unknown> & { [PADDED]?: number };

function pad(index: StreamIndex, padding: number): void {
  for (let i = 1; i <= padding; i++) mapSet.call(index, -i, INERT);
}

function* realEntries(this: StreamIndex): Generator<[number, unknown]> {
  for (const entry of mapEntries.call(this) as IterableIterator<[number, unknown]>) if (entry[1] !== INERT) yield entry;
}

/**
 * The overrides, shared by every padded index (one set of functions, so V8
 * gives every padded index the same shape).
 */
const OVERRIDES: PropertyDescriptorMap = {
  size: {
    configurable: true,
    get(this: StreamIndex) {
      return mapSize.call(this) - this[PADDED]!;
    },
  },
  forEach: {
    configurable: true,
    writable: true,
    value(this: StreamIndex, fn: (value: unknown, key: number, map: Map<number, unknown>) => void, thisArg?: unknown) {
      mapForEach.call(this, (value: unknown, key: number, map: Map<number, unknown>) => {
        if (value !== INERT) fn.call(thisArg, value, key, map);
      });
    },
  },
  // Not called by Node's HTTP/2 core (20.20); kept truthful for anything that clears or iterates the index.
  clear: {
    configurable: true,
    writable: true,
    value(this: StreamIndex) {
      mapClear.call(this);
      pad(this, this[PADDED]!);
    },
  },
  [Symbol.iterator]: { configurable: true, writable: true, value: realEntries },
  entries: { configurable: true, writable: true, value: realEntries },
  keys: {
    configurable: true,
    writable: true,
    value: function* (this: StreamIndex) {
      for (const [k] of realEntries.call(this)) yield k;
    },
  },
  values: {
    configurable: true,
    writable: true,
    value: function* (this: StreamIndex) {
      for (const [, v] of realEntries.call(this)) yield v;
    },
  },
};

/** Why the workaround does not apply to this Node at all, else undefined. */
export function unsupportedNode(version = process.versions.node): string | undefined {
  const major = Number(version.split('.')[0]);
  return CHECKED_NODE_MAJORS.includes(major) ? undefined : `Node ${version}: the workaround was checked on Node ${CHECKED_NODE_MAJORS.join(' and ')} only`;
}

/** The session's stream index, if the session's private state has the shape this workaround knows. */
function streamIndexOf(session: http2.Http2Session): StreamIndex | string {
  const key = Object.getOwnPropertySymbols(session).find((s) => s.description === 'state');
  if (!key) return 'the session has no state symbol';
  const state = (session as unknown as Record<symbol, unknown>)[key];
  const streams = typeof state === 'object' && state !== null ? (state as { streams?: unknown }).streams : undefined;
  // A SafeMap (Node's primordials): a Map to V8, but not `instanceof Map`.
  if (!types.isMap(streams)) return 'the session state has no streams Map';
  return streams as StreamIndex;
}

/**
 * Pads a new server session's stream index (call it on the server's
 * 'session' event, before any stream). Returns undefined when padded, else
 * why it was left alone.
 */
export function padStreamIndex(session: http2.Http2Session, padding = STREAM_INDEX_PADDING): string | undefined {
  const streams = streamIndexOf(session);
  if (typeof streams === 'string') return streams;
  if (streams[PADDED] !== undefined) return 'already padded';
  if (mapSize.call(streams) !== 0) return 'the session already has streams';
  pad(streams, padding);
  Object.defineProperty(streams, PADDED, { value: padding });
  Object.defineProperties(streams, OVERRIDES);
  return undefined;
}

/** The HTTP/2 servers a grpc-js Server listens with (its private `http2Servers`; grpc-js 1.14), or why not. */
export function http2ServersOf(server: object): http2.Http2Server[] | string {
  const servers = (server as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) return 'the grpc-js Server has no http2Servers Map';
  const list = [...servers.keys()];
  return list.every((s) => typeof (s as { on?: unknown })?.on === 'function') ? (list as http2.Http2Server[]) : 'http2Servers holds something that is not a server';
}

/**
 * Pads the stream index of every session a bound grpc-js Server accepts from
 * now on. Returns undefined when installed, else why not; `onSkip` hears why
 * a session was left alone (once per reason is the caller's business).
 */
export function padGrpcServerSessions(server: object, onSkip: (why: string) => void): string | undefined {
  const node = unsupportedNode();
  if (node) return node;
  const servers = http2ServersOf(server);
  if (typeof servers === 'string') return servers;
  if (servers.length === 0) return 'the grpc-js Server is not bound';
  for (const s of servers)
    s.on('session', (session: http2.ServerHttp2Session) => {
      const why = padStreamIndex(session);
      if (why) onSkip(why);
    });
  return undefined;
}
