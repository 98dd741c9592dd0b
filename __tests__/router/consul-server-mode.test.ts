/**
 * The router against a Consul agent in server mode (-server,
 * bootstrap_expect 1, a data dir) with extra agent configuration: it
 * registers with both checks passing, and across an agent restart the
 * registration persists (no re-registration needed) while the router keeps
 * verifying it.
 */
import { loadConfig } from '../../router-app/src/config';
import { RouterHandle, startRouter } from '../../router-app/src/router';
import { ConsulAgent, startConsulAgent } from '../support/consul-agent';

jest.setTimeout(90_000);

let consul: ConsulAgent;
let router: RouterHandle;
const ID = 'mcp-router-server-mode';

async function until(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  consul = await startConsulAgent({ mode: 'server', extraConfig: { node_meta: { purpose: 'router-test' } } });
  router = await startRouter(
    loadConfig({
      CONSUL_HOST: consul.address,
      CONSUL_PORT: String(consul.httpPort),
      MCP_ROUTER_BIND_ADDRESS: consul.address,
      MCP_ROUTER_PORT: '0',
      MCP_ROUTER_METRICS_PORT: '0',
      MCP_ROUTER_MCP_PORT: '0',
      MCP_ROUTER_HOSTNAME: 'server-mode',
      MCP_BACKEND_DISCOVERY: 'false',
      CONSUL_CHECK_INTERVAL_TCP: '1s',
      CONSUL_REREGISTER_INTERVAL_MS: '300',
      MCP_ROUTER_DRAIN_DELAY_MS: '0',
      LOG_LEVEL: 'silent',
    }),
  );
});

afterAll(async () => {
  await router?.close();
  await consul?.stop();
});

test('the agent runs as a server with the extra configuration', async () => {
  const self = await consul.api('/v1/agent/self');
  expect(self.Config.Server).toBe(true);
  expect(self.Meta).toMatchObject({ purpose: 'router-test' });
  expect(self.Config.Version).toBe('1.8.7');
});

test('registers with both checks passing', async () => {
  await until('both checks passing', async () => {
    const checks = await consul.api('/v1/health/checks/mcp-router');
    return checks.length === 2 && checks.every((c: any) => c.Status === 'passing');
  }, 20_000);
  expect((await consul.api('/v1/agent/services'))[ID]).toMatchObject({ Service: 'mcp-router', Address: consul.address, Port: router.port });
});

test('across a restart of a server with a data dir the registration persists, and the router still checks it', async () => {
  await consul.restart();
  expect((await consul.api('/v1/agent/services'))[ID]).toMatchObject({ Port: router.port });
  // The keep-registered loop still works against the restarted agent: remove it, it comes back.
  await consul.api(`/v1/agent/service/deregister/${ID}`, { method: 'PUT' });
  await until('re-registered', async () => (await consul.api('/v1/agent/services'))[ID] !== undefined, 10_000);
});
