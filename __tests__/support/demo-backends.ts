/**
 * Real demo MCP servers (the SDK-built examples/demo-mcp-server) in-process,
 * and an in-process router in front of them, for the router tests.
 */
import * as net from 'node:net';
import { startDemoServer, DemoServerHandle } from '../../examples/demo-mcp-server/src/server';
import { loadConfig } from '../../router-app/src/config';
import { startRouter, RouterHandle } from '../../router-app/src/router';
import { createRouterClient, McpRouterClient } from '../../scripts/local-platform/router-client';

export { startDemoServer };
export type { DemoServerHandle };

export interface RouterUnderTest {
  readonly router: RouterHandle;
  readonly client: McpRouterClient;
  readonly target: string;
  close(): Promise<void>;
}

/**
 * A router (no Consul) with the given static backends and env overrides; waits
 * until `waitNamespaces` (default: every backend) have a listing.
 */
export async function routerFor(backends: Array<{ name: string; url: string }>, env: Record<string, string> = {}, waitNamespaces = backends.length): Promise<RouterUnderTest> {
  const config = loadConfig({
    CONSUL_REGISTER: 'false',
    MCP_BACKEND_DISCOVERY: 'false',
    MCP_ROUTER_BIND_ADDRESS: '127.0.0.1',
    MCP_ROUTER_PORT: '0',
    MCP_ROUTER_METRICS_PORT: '0',
      MCP_ROUTER_MCP_PORT: '0',
    MCP_ROUTER_HOSTNAME: 'test',
    MCP_BACKENDS: JSON.stringify(backends),
    LOG_LEVEL: 'silent',
    MCP_ROUTER_DRAIN_DELAY_MS: '0',
    // These routers run without authentication, and the tests look at backend URLs and raw errors.
    MCP_ROUTER_INTERNALS: 'everyone',
    ...env,
  });
  const router = await startRouter(config);
  if (waitNamespaces > 0) await waitForCatalog(router, waitNamespaces);
  await catalogSettled(router);
  const target = `127.0.0.1:${router.port}`;
  const client = createRouterClient(target);
  return {
    router,
    client,
    target,
    async close() {
      client.close();
      await router.close();
    },
  };
}

/**
 * Environment of a router (not registered itself) that discovers its backends
 * in the given Consul agent, on a free loopback port.
 */
export function discoveringRouterEnv(consul: { address: string; httpPort: number }, env: Record<string, string> = {}): Record<string, string> {
  return {
    CONSUL_HOST: consul.address,
    CONSUL_PORT: String(consul.httpPort),
    CONSUL_REGISTER: 'false',
    MCP_ROUTER_BIND_ADDRESS: '127.0.0.1',
    MCP_ROUTER_PORT: '0',
    MCP_ROUTER_METRICS_PORT: '0',
    MCP_ROUTER_MCP_PORT: '0',
    MCP_ROUTER_HOSTNAME: 'discovering',
    LOG_LEVEL: 'silent',
    MCP_ROUTER_INTERNALS: 'everyone',
    ...env,
  };
}

/** Waits until the router's catalogue has listings from `n` namespaces (or times out). */
export async function waitForCatalog(router: RouterHandle, n: number, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const ns = new Set([...router.catalog.snapshot.tools.values()].map((t) => t.namespace));
    if (ns.size >= n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`router catalogue did not reach ${n} namespaces within ${timeoutMs} ms`);
}

/**
 * Waits until the catalogue version has not changed for `quietMs`: the first
 * session to a backend triggers a second (coalesced) listing, and a test that
 * kills a backend while that one is still in flight would see it counted as a
 * breaker failure.
 */
export async function catalogSettled(router: RouterHandle, quietMs = 200, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  let version = router.catalog.snapshot.version;
  let since = Date.now();
  while (Date.now() - start < timeoutMs) {
    await new Promise((r) => setTimeout(r, 25));
    const v = router.catalog.snapshot.version;
    if (v !== version) {
      version = v;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}

/** proto-loader Struct from plain JSON (arguments). */
export function struct(obj: Record<string, unknown>): { fields: Record<string, unknown> } {
  const v = (x: unknown): unknown =>
    typeof x === 'number' ? { numberValue: x } : typeof x === 'string' ? { stringValue: x } : typeof x === 'boolean' ? { boolValue: x } : x === null ? { nullValue: 0 } : Array.isArray(x) ? { listValue: { values: x.map(v) } } : { structValue: struct(x as Record<string, unknown>) };
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, x]) => [k, v(x)])) };
}

/** A loopback TCP port that nothing listens on (bound, then closed). */
export async function closedPort(host = '127.0.0.1'): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, host, () => resolve()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `cond` every 20 ms until it holds or `timeoutMs` passes (then returns false). */
export async function eventually(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await cond()) return true;
    await sleep(20);
  }
  return cond();
}
