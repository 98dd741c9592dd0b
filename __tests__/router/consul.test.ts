/**
 * Registration, re-registration, deregistration and backend discovery
 * against a real Consul agent (Debian's consul 1.8.7).
 */
import { loadConfig } from '../../router-app/src/config';
import { startRouter, RouterHandle } from '../../router-app/src/router';
import { fromListValue } from '../../router-app/src/grpc/struct';
import { ConsulRegistration } from '../../router-app/src/consul/registration';
import { STARTUP_WAIT_MAX_MS } from '../../router-app/src/discovery/consul-discovery';
import { createRouterClient, unary } from '../../scripts/local-platform/router-client';
import { waitUntil } from '../../scripts/local-platform/managed-process';
import { ConsulAgent, startConsulAgent } from '../support/consul-agent';
import { DemoServerHandle, discoveringRouterEnv, startDemoServer } from '../support/demo-backends';

jest.setTimeout(90_000);

let consul: ConsulAgent;
let router: RouterHandle;
let demo: DemoServerHandle;
const ID = 'mcp-router-router-under-test';

beforeAll(async () => {
  consul = await startConsulAgent();
  demo = await startDemoServer({ name: 'found', host: '127.0.0.1' });
  router = await startRouter(
    loadConfig({
      CONSUL_HOST: consul.address,
      CONSUL_PORT: String(consul.httpPort),
      MCP_ROUTER_BIND_ADDRESS: '127.0.0.1',
      MCP_ROUTER_PORT: '0',
      MCP_ROUTER_METRICS_PORT: '0',
      MCP_ROUTER_MCP_PORT: '0',
      MCP_ROUTER_HOSTNAME: 'router-under-test',
      // This test reads ListServers as the operator does (backend URLs).
      MCP_ROUTER_INTERNALS: 'everyone',
      CONSUL_REREGISTER_INTERVAL_MS: '500',
      MCP_ROUTER_DRAIN_DELAY_MS: '0',
      LOG_LEVEL: 'silent',
    }),
  );
  // Registration runs in the background (a start never waits on Consul).
  await waitUntil('the router registered in Consul', async () => (await consul.api('/v1/agent/services'))[ID] !== undefined, 15_000, 100);
});

afterAll(async () => {
  await router?.close();
  await demo?.close();
  await consul?.stop();
});

test('registers as the seed describes: ID, name, tags, address/port, TCP 10 s + gRPC 2 s checks, both passing', async () => {
  const services = await consul.api('/v1/agent/services');
  const svc = services[ID];
  expect(svc).toMatchObject({ ID, Service: 'mcp-router', Address: '127.0.0.1', Port: router.port });
  expect(svc.Tags).toEqual(['router', 'mcp', 'instance:router-under-test']);
  await waitUntil('both checks passing', async () => {
    const checks = await consul.api(`/v1/health/checks/mcp-router`);
    return checks.length === 2 && checks.every((c: any) => c.Status === 'passing');
  }, 20_000, 200);
  const checks = await consul.api('/v1/agent/checks');
  const mine = Object.values(checks).filter((c: any) => c.ServiceID === ID) as any[];
  expect(mine.map((c) => c.Type).sort()).toEqual(['grpc', 'tcp']);
  // Consul 1.8's API does not echo check intervals back; assert the registration body sent.
  const body = new ConsulRegistration(undefined as never, router.config, router.port, router.logger).definition();
  expect(body.checks).toEqual([
    expect.objectContaining({ tcp: `127.0.0.1:${router.port}`, interval: '10s', deregistercriticalserviceafter: '1m' }),
    expect.objectContaining({ grpc: `127.0.0.1:${router.port}`, grpcusetls: false, interval: '2s', deregistercriticalserviceafter: '1m' }),
  ]);
});

test('the gRPC check follows grpc.health.v1 within its 2 s interval while the TCP check stays passing', async () => {
  const statusOf = async () => Object.fromEntries(((await consul.api('/v1/health/checks/mcp-router')) as any[]).map((c) => [c.Type, c.Status]));
  router.health.setStatus('', 'NOT_SERVING');
  try {
    const t0 = Date.now();
    await waitUntil('grpc check critical', async () => (await statusOf()).grpc === 'critical', 10_000, 100);
    // interval 2s + timeout 1s (+ scheduling): a 10 s interval would usually take far longer
    expect(Date.now() - t0).toBeLessThan(6_000);
    expect(await statusOf()).toEqual({ grpc: 'critical', tcp: 'passing' });
  } finally {
    router.health.setStatus('', 'SERVING');
  }
  await waitUntil('grpc check passing again', async () => (await statusOf()).grpc === 'passing', 10_000, 100);
});

test('re-registers by itself when Consul loses the registration', async () => {
  // (No "it is gone now" check: with a 500 ms re-registration interval the router may already be back.)
  await consul.api(`/v1/agent/service/deregister/${ID}`, { method: 'PUT' });
  const ms = await waitUntil('re-registration', async () => (await consul.api('/v1/agent/services'))[ID] !== undefined, 10_000, 100);
  expect(ms).toBeLessThan(5_000);
});

test('discovers MCP servers tagged mcp-server (meta namespace/mcp_path), routes calls to them, and drops them when they go', async () => {
  const client = createRouterClient(`127.0.0.1:${router.port}`);
  const NS = 'found.v2 beta'; // a namespace with characters that are not allowed in tool names
  try {
    // Not tagged mcp-server: must be ignored.
    await consul.api('/v1/agent/service/register', {
      method: 'PUT',
      body: JSON.stringify({ ID: 'other-1', Name: 'other-service', Tags: ['web'], Address: '127.0.0.1', Port: demo.port, Meta: { namespace: 'other' } }),
    });
    await consul.api('/v1/agent/service/register', {
      method: 'PUT',
      body: JSON.stringify({ ID: 'found-1', Name: 'found-service', Tags: ['mcp-server'], Address: '127.0.0.1', Port: demo.port, Meta: { namespace: NS, mcp_path: '/mcp' } }),
    });
    await waitUntil('found tools listed', async () => (await unary(client, 'ListTools', {})).tools.length === 5, 15_000, 100);
    const tools = (await unary(client, 'ListTools', {})).tools;
    expect(tools.map((t: any) => t.originalName).sort()).toEqual(['add', 'echo', 'fail', 'slow', 'whoami']);
    for (const t of tools) {
      expect(t.server).toBe(NS);
      expect(t.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
      expect(t.name.startsWith('found_v2_beta__')).toBe(true);
    }
    const servers = await unary(client, 'ListServers', {});
    expect(servers.servers).toEqual([expect.objectContaining({ name: NS, instanceId: 'found-1', url: demo.url, healthy: true })]);
    const echo = tools.find((t: any) => t.originalName === 'whoami');
    const res = await unary(client, 'CallTool', { name: echo.name });
    expect(res.server).toBe(NS);
    expect(fromListValue(res.content)).toEqual([{ type: 'text', text: 'found' }]);
    await consul.api('/v1/agent/service/deregister/found-1', { method: 'PUT' });
    await waitUntil('found tools gone', async () => (await unary(client, 'ListTools', {})).tools.length === 0, 15_000, 100);
    await expect(unary(client, 'CallTool', { name: echo.name })).rejects.toMatchObject({ code: 5 });
    expect((await unary(client, 'ListServers', {})).servers).toEqual([]);
  } finally {
    await consul.api('/v1/agent/service/deregister/other-1', { method: 'PUT' }).catch(() => undefined);
    client.close();
  }
});

test('a backend whose check fails for a moment keeps its tools (MCP_ROUTER_BACKEND_HOLD_MS, 5 s): calls reach it meanwhile; one that stays critical is dropped after the hold', async () => {
  const client = createRouterClient(`127.0.0.1:${router.port}`);
  const checkUrl = (what: 'pass' | 'fail') => `/v1/agent/check/${what}/service:flap-1`;
  const passing = async () => ((await consul.api('/v1/health/service/flap-service?passing=true')) as any[]).length === 1;
  const listed = async () => ((await unary(client, 'ListTools', {})).tools as any[]).some((t) => t.name === 'flap__whoami');
  try {
    await consul.api('/v1/agent/service/register', {
      method: 'PUT',
      body: JSON.stringify({ ID: 'flap-1', Name: 'flap-service', Tags: ['mcp-server'], Address: '127.0.0.1', Port: demo.port, Meta: { namespace: 'flap' }, Check: { TTL: '60s' } }),
    });
    await consul.api(checkUrl('pass'), { method: 'PUT' });
    await waitUntil('flap tools listed', listed, 15_000, 100);
    // One failed check (as a timed-out check on a busy host): Consul stops listing it as passing.
    await consul.api(checkUrl('fail'), { method: 'PUT' });
    const failedAt = Date.now();
    await waitUntil('flap critical in Consul', async () => !(await passing()), 5_000, 50);
    const during: string[] = [];
    while (Date.now() - failedAt < 2_000) {
      const r = await unary(client, 'CallTool', { name: 'flap__whoami' }).then(() => 'OK', (e) => `code ${e.code}`);
      during.push(r);
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(during.length).toBeGreaterThan(5);
    expect(during.filter((r) => r !== 'OK')).toEqual([]);
    expect(await listed()).toBe(true);
    // Passing again before the hold ends: nothing changed for the callers.
    await consul.api(checkUrl('pass'), { method: 'PUT' });
    await waitUntil('flap passing again', passing, 5_000, 50);
    // Critical for good: dropped once the hold has run out, not before.
    await consul.api(checkUrl('fail'), { method: 'PUT' });
    const criticalAt = Date.now();
    await waitUntil('flap critical again', async () => !(await passing()), 5_000, 50);
    await waitUntil('flap tools gone after the hold', async () => !(await listed()), 15_000, 100);
    const goneAfterMs = Date.now() - criticalAt;
    process.stdout.write(`[router] backend hold: ${JSON.stringify({ callsWhileCritical: during.length, failedWhileCritical: 0, goneAfterMs })}\n`);
    expect(goneAfterMs).toBeGreaterThanOrEqual(4_500);
    await expect(unary(client, 'CallTool', { name: 'flap__whoami' })).rejects.toMatchObject({ code: 5 });
  } finally {
    await consul.api('/v1/agent/service/deregister/flap-1', { method: 'PUT' }).catch(() => undefined);
    client.close();
  }
});

test('a router that starts while a server\'s check fails for a moment waits for it (up to the hold) and starts with its tools; one that stays critical delays the start by the hold, never more than 10 s', async () => {
  const HOLD_MS = 3_000;
  const checkUrl = (what: 'pass' | 'fail') => `/v1/agent/check/${what}/service:flap-2`;
  const passing = async () => ((await consul.api('/v1/health/service/flap2-service?passing=true')) as any[]).length === 1;
  const fresh = (holdMs = HOLD_MS) => startRouter(loadConfig(discoveringRouterEnv(consul, { MCP_ROUTER_BACKEND_HOLD_MS: String(holdMs), MCP_ROUTER_DRAIN_DELAY_MS: '0' })));
  const started: RouterHandle[] = [];
  try {
    await consul.api('/v1/agent/service/register', {
      method: 'PUT',
      body: JSON.stringify({ ID: 'flap-2', Name: 'flap2-service', Tags: ['mcp-server'], Address: '127.0.0.1', Port: demo.port, Meta: { namespace: 'flap2' }, Check: { TTL: '60s' } }),
    });
    // Registered, its check failing (as one timed-out check on a busy host) when the router starts.
    await consul.api(checkUrl('fail'), { method: 'PUT' });
    await waitUntil('flap-2 critical in Consul', async () => !(await passing()), 5_000, 50);
    const a = await fresh();
    started.push(a);
    const t0 = Date.now();
    setTimeout(() => void consul.api(checkUrl('pass'), { method: 'PUT' }), 1_000);
    await a.ready;
    const readyAfterMs = Date.now() - t0;
    // Ready only once the check passed, and then with the server's tools: no NOT_FOUND window.
    expect(a.catalog.snapshot.tools.has('flap2__whoami')).toBe(true);
    expect(readyAfterMs).toBeGreaterThanOrEqual(800);
    expect(readyAfterMs).toBeLessThan(HOLD_MS + 2_000);
    const client = createRouterClient(`127.0.0.1:${a.port}`);
    try {
      expect(fromListValue((await unary(client, 'CallTool', { name: 'flap2__whoami' })).content)).toEqual([{ type: 'text', text: 'found' }]);
    } finally {
      client.close();
    }

    // Critical for good: the start waits the hold, no longer, and the server is not in the catalogue.
    await consul.api(checkUrl('fail'), { method: 'PUT' });
    await waitUntil('flap-2 critical again', async () => !(await passing()), 5_000, 50);
    const t1 = Date.now();
    const b = await fresh();
    started.push(b);
    await b.ready;
    const waitedMs = Date.now() - t1;
    process.stdout.write(`[router] start while a server is critical: ${JSON.stringify({ readyAfterPassMs: readyAfterMs, readyWhileCriticalMs: waitedMs, holdMs: HOLD_MS })}\n`);
    expect(waitedMs).toBeGreaterThanOrEqual(HOLD_MS - 500);
    expect(waitedMs).toBeLessThan(HOLD_MS + 3_000);
    expect(b.catalog.snapshot.tools.has('flap2__whoami')).toBe(false);

    // The longest hold there is (10 min): the start waits 10 s at most (STARTUP_WAIT_MAX_MS), or the
    // container health checks' start periods would run out and have the router restarted, again and again.
    const t2 = Date.now();
    const c = await fresh(600_000);
    started.push(c);
    await c.ready;
    const cappedMs = Date.now() - t2;
    process.stdout.write(`[router] start while a server is critical, hold 600000: ready after ${cappedMs} ms\n`);
    expect(cappedMs).toBeGreaterThanOrEqual(STARTUP_WAIT_MAX_MS - 500);
    expect(cappedMs).toBeLessThan(STARTUP_WAIT_MAX_MS + 3_000);
  } finally {
    await Promise.all(started.map((r) => r.close()));
    await consul.api('/v1/agent/service/deregister/flap-2', { method: 'PUT' }).catch(() => undefined);
  }
});

test('deregisters on drain', async () => {
  await router.drain();
  expect((await consul.api('/v1/agent/services'))[ID]).toBeUndefined();
});
