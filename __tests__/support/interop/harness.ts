/**
 * The interoperability harness: the local platform (Consul, N router
 * processes, HAProxy — scripts/local-platform) with MCP servers registered in
 * its Consul the way a user registers one (agent API, tag `mcp-server`, meta
 * `mcp_path` + `namespace`, a TCP check), and small gRPC helpers that keep
 * every wait bounded and report how long an answer took.
 */
import * as grpc from '@grpc/grpc-js';
import { LocalPlatform } from '../../../scripts/local-platform/platform';
import { sleep, waitUntil } from '../../../scripts/local-platform/managed-process';
import { createRouterClient, McpRouterClient } from '../../../scripts/local-platform/router-client';
import { fromListValue, fromStruct, toStruct } from '../../../router-app/src/grpc/struct';

export { fromListValue, fromStruct, toStruct };

export interface McpRegistration {
  /** Consul service ID (one per instance). */
  readonly id: string;
  /** Consul service name. */
  readonly service: string;
  readonly address: string;
  readonly port: number;
  /** Service meta `namespace`. @default the service name */
  readonly namespace?: string;
  /** Service meta `mcp_path`. @default '/mcp' */
  readonly path?: string;
  /** TCP check interval. @default '2s' */
  readonly checkInterval?: string;
  /** Consecutive failed checks before the instance turns critical. @default 1 (Consul's default) */
  readonly failuresBeforeCritical?: number;
}

/** Registers an MCP server in the platform's Consul (PUT /v1/agent/service/register), as the README tells users to. */
export async function registerMcpServer(platform: LocalPlatform, r: McpRegistration): Promise<void> {
  const body = {
    ID: r.id,
    Name: r.service,
    Tags: ['mcp-server'],
    Address: r.address,
    Port: r.port,
    Meta: { mcp_path: r.path ?? '/mcp', namespace: r.namespace ?? r.service },
    Check: { Name: `${r.service} TCP`, TCP: `${r.address}:${r.port}`, Interval: r.checkInterval ?? '2s', Timeout: '1s', DeregisterCriticalServiceAfter: '10m', ...(r.failuresBeforeCritical ? { FailuresBeforeCritical: r.failuresBeforeCritical } : {}) },
  };
  const res = await fetch(`${platform.consulHttp}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`consul register ${r.id}: HTTP ${res.status} ${await res.text()}`);
}

/**
 * Starts the platform: Consul, `routers` router processes, HAProxy (http
 * mode), no demo backends; returns once HAProxy has every router UP.
 */
export async function startPlatform(routers = 3, routerEnv: Record<string, string> = {}): Promise<LocalPlatform> {
  const platform = await LocalPlatform.start({ instances: routers, mode: 'http', block: 'random', backends: [], routerEnv: { LOG_LEVEL: 'info', ...routerEnv } });
  try {
    await waitUntil(`HAProxy has ${routers} routers UP`, async () => (await platform.haproxyUpAddresses()).length === routers, 30_000, 200);
  } catch (err) {
    await platform.close();
    throw err;
  }
  return platform;
}

export interface CallOutcome<T = any> {
  readonly res?: T;
  readonly err?: grpc.ServiceError;
  readonly ms: number;
}

/** A unary call that never throws: the response or the gRPC error, and how long it took. */
export function call<T = any>(client: McpRouterClient, method: keyof McpRouterClient, req: object, deadlineMs = 10_000): Promise<CallOutcome<T>> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const fn = client[method] as unknown as (r: object, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: T) => void) => void;
    fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => resolve(err ? { err, ms: Date.now() - t0 } : { res, ms: Date.now() - t0 }));
  });
}

/** Unwraps a successful call, or fails with the status it got. */
export async function ok<T = any>(p: Promise<CallOutcome<T>>): Promise<T> {
  const o = await p;
  if (o.err) throw new Error(`expected OK, got ${grpc.status[o.err.code]} after ${o.ms} ms: ${o.err.details}`);
  return o.res as T;
}

export interface StreamOutcome {
  readonly events: any[];
  readonly progress: Array<{ progress: number; total: number; hasTotal: boolean; message: string }>;
  readonly result?: any;
  /** Final status (OK when the stream ended normally). */
  readonly code: grpc.status;
  readonly details: string;
  readonly ms: number;
}

/**
 * Reads a CallToolStream to its end (bounded by the deadline). `onEvent` may
 * cancel the call (return 'cancel'); `cancelAfterMs` cancels it on a timer.
 */
export function streamCall(client: McpRouterClient, req: object, deadlineMs = 10_000, onEvent?: (e: any) => 'cancel' | void, cancelAfterMs?: number): Promise<StreamOutcome> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const events: any[] = [];
    const s = client.CallToolStream(req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs });
    let settled = false;
    const timer = cancelAfterMs === undefined ? undefined : setTimeout(() => s.cancel(), cancelAfterMs);
    const done = (code: grpc.status, details: string) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve({
        events,
        progress: events.filter((e) => e.progress).map((e) => e.progress),
        result: events.find((e) => e.result)?.result,
        code,
        details,
        ms: Date.now() - t0,
      });
    };
    s.on('data', (e) => {
      events.push(e);
      if (onEvent?.(e) === 'cancel') s.cancel();
    });
    s.on('error', (err: grpc.ServiceError) => done(err.code, err.details));
    s.on('status', (st: grpc.StatusObject) => {
      if (st.code === grpc.status.OK) done(st.code, st.details);
    });
  });
}

/** The text of every text block of an MCP content list (ListValue). */
export function texts(content: unknown): string[] {
  const blocks = fromListValue(content as never) as Array<Record<string, unknown>>;
  return blocks.filter((b) => b.type === 'text').map((b) => String(b.text));
}

export function blocks(content: unknown): Array<Record<string, any>> {
  return fromListValue(content as never) as Array<Record<string, any>>;
}

/**
 * Memoized readiness per key: the first test that needs a server listed waits
 * (bounded); the others reuse the outcome, so a server the routers cannot
 * reach costs one timeout per file, not one per test.
 */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/**
 * Waits until every router (asked directly, not through HAProxy) lists at
 * least `minTools` tools of `namespace`; throws with each router's view of the
 * server (ListServers: health, last error) when it does not happen in time.
 */
export async function waitListedEverywhere(platform: LocalPlatform, namespace: string, minTools: number, timeoutMs = 20_000): Promise<void> {
  const clients = platform.runningRouters().map((i) => createRouterClient(platform.routerTarget(i)));
  try {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      const counts = await Promise.all(clients.map(async (c) => (await call(c, 'ListTools', { server: namespace }, 2000)).res?.tools?.length ?? 0));
      if (counts.every((n) => n >= minTools)) return;
      await sleep(200);
    }
    const views = await Promise.all(
      clients.map(async (c) => {
        const r = await call(c, 'ListServers', {}, 2000);
        const s = (r.res?.servers ?? []).filter((x: any) => x.name === namespace);
        return s.length ? s.map((x: any) => `${r.res.routerInstanceId}: healthy=${x.healthy} circuit=${x.circuitState} tools=${x.toolCount} lastError=${JSON.stringify(x.lastError)}`).join('; ') : `${r.res?.routerInstanceId ?? '?'}: server not discovered`;
      }),
    );
    throw new Error(`MCP server ${namespace} not listed with >= ${minTools} tools by every router within ${timeoutMs} ms:\n  ${views.join('\n  ')}`);
  } finally {
    for (const c of clients) c.close();
  }
}

/**
 * Throws when a router process has exited since the last check (a router must
 * survive whatever a backend does), with the end of its output: the crash's stack.
 */
const reportedDead = new WeakSet<object>();
export function assertRoutersAlive(platform: LocalPlatform | undefined): void {
  if (!platform) return;
  // Each death is reported once, by the test during which it happened.
  const dead = [...platform.routers.entries()].filter(([, p]) => !p.running && !reportedDead.has(p));
  for (const [, p] of dead) reportedDead.add(p);
  if (dead.length) {
    throw new Error(dead.map(([i, p]) => `router-${i} exited (${JSON.stringify(p.exitStatus)}); its last output:\n${p.tail(25)}`).join('\n\n'));
  }
}

/** `mcp_router_grpc_calls_total` for one method, by status code, summed over every running router. */
export async function callCounts(platform: LocalPlatform, method: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const i of platform.runningRouters()) {
    const res = await fetch(`http://${platform.block.routerAddress(i)}:${platform.ports.routerAdmin}/metrics`, { signal: AbortSignal.timeout(3000) });
    const text = await res.text();
    for (const m of text.matchAll(/^mcp_router_grpc_calls_total\{([^}]*)\} (\d+(?:\.\d+)?)$/gm)) {
      const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (labels.method === method) out[labels.code] = (out[labels.code] ?? 0) + Number(m[2]);
    }
  }
  return out;
}

export { createRouterClient, sleep };
export type { McpRouterClient, LocalPlatform };
