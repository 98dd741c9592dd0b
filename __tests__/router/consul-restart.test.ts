/**
 * The router and the demo MCP server as real processes (their dist/main.js,
 * configured only by the environment, as the platform runs them) against a
 * real Consul agent (Debian's consul 1.8.7) that is restarted mid-test: a
 * -dev agent comes back empty, so both must register again by themselves and
 * the router's discovery must recover. Then SIGTERM: deregistered, exit 0.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { createRouterClient, McpRouterClient, unary } from '../../scripts/local-platform/router-client';
import { ConsulAgent, startConsulAgent } from '../support/consul-agent';
import { closedPort } from '../support/demo-backends';

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, '..', '..');
const ROUTER_ID = 'mcp-router-restart-test';

interface Proc {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exit: Promise<number | null>;
  line(match: (l: string) => boolean, timeoutMs: number): Promise<string>;
}

function run(entry: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [entry], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    lines.push(...d.toString('utf8').split('\n').filter(Boolean));
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exit,
    line(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const l = lines.find(match);
          if (l) {
            waiters.delete(check);
            clearTimeout(t);
            resolve(l);
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching line within ${timeoutMs} ms; output:\n${lines.join('\n')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    try {
      if (await cond()) return Date.now() - t0;
    } catch {
      /* not yet */
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let consul: ConsulAgent;
let demo: Proc;
let router: Proc;
let client: McpRouterClient;
let demoPort: number;

beforeAll(async () => {
  consul = await startConsulAgent({ mode: 'dev' });
  demoPort = await closedPort(consul.address);
  demo = run(path.join(REPO, 'examples', 'demo-mcp-server', 'dist', 'main.js'), {
    HOST: consul.address,
    PORT: String(demoPort),
    SERVER_NAME: 'procdemo',
    CONSUL_HOST: consul.address,
    CONSUL_PORT: String(consul.httpPort),
    CONSUL_REREGISTER_INTERVAL_MS: '500',
  });
  await demo.line((l) => l.includes('demo MCP server started'), 15_000);
  router = run(path.join(REPO, 'router-app', 'dist', 'main.js'), {
    CONSUL_HOST: consul.address,
    CONSUL_PORT: String(consul.httpPort),
    MCP_ROUTER_BIND_ADDRESS: consul.address,
    MCP_ROUTER_PORT: '0',
    MCP_ROUTER_METRICS_PORT: '0',
      MCP_ROUTER_MCP_PORT: '0',
    MCP_ROUTER_HOSTNAME: 'restart-test',
    CONSUL_REREGISTER_INTERVAL_MS: '500',
    MCP_ROUTER_DRAIN_DELAY_MS: '300',
    LOG_LEVEL: 'info',
  });
  const started = JSON.parse(await router.line((l) => l.includes('"router started"'), 15_000));
  expect(started.address).toMatch(new RegExp(`^${consul.address.replace(/\./g, '\\.')}:\\d+$`));
  client = createRouterClient(started.address);
});

afterAll(async () => {
  client?.close();
  for (const p of [router, demo]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
  await consul?.stop();
});

const tools = async (): Promise<string[]> => (await unary(client, 'ListTools', {})).tools.map((t: any) => t.name);
const registered = async (id: string) => (await consul.api('/v1/agent/services'))[id] !== undefined;

test('the router process registers itself and discovers the demo server process that registered itself', async () => {
  await until('router registered', () => registered(ROUTER_ID), 10_000);
  const svc = (await consul.api('/v1/agent/services'))[ROUTER_ID];
  expect(svc).toMatchObject({ Service: 'mcp-router', Address: consul.address, Tags: ['router', 'mcp', 'instance:restart-test'] });
  await until('procdemo tools listed', async () => (await tools()).includes('procdemo__echo'), 20_000);
  const res = await unary(client, 'CallTool', { name: 'procdemo__whoami', arguments: { fields: {} } });
  expect(res.content.values[0].structValue.fields.text.stringValue).toBe('procdemo');
});

test('Consul restarts empty: both register again by themselves and discovery recovers', async () => {
  await consul.restart(); // a -dev agent comes back with no services (the router may already be back by now)
  const routerMs = await until('router re-registered', () => registered(ROUTER_ID), 15_000);
  const demoMs = await until('demo re-registered', async () => Object.values(await consul.api('/v1/agent/services')).some((s: any) => s.Service === 'procdemo'), 15_000);
  expect(routerMs).toBeLessThan(15_000);
  expect(demoMs).toBeLessThan(15_000);
  expect(router.lines.some((l) => l.includes('registration lost; re-registered in Consul'))).toBe(true);
  // Discovery came back too: a call through the router reaches the demo server once it is passing again.
  // (Until its check passes in the fresh Consul, the demo is out of the catalogue for a moment: a listing
  // seen just before that moment does not make a call succeed, so the call itself is what we wait for.)
  let answer = '';
  await until('procdemo callable after the restart', async () => {
    const res = await unary(client, 'CallTool', { name: 'procdemo__echo', arguments: { fields: { text: { stringValue: 'after restart' } } } }).catch(() => undefined);
    answer = res?.content.values[0].structValue.fields.text.stringValue ?? '';
    return answer !== '';
  }, 20_000);
  expect(answer).toBe('after restart');
});

test('discovery follows Consul after the restart: the demo server deregisters on SIGTERM and its tools disappear', async () => {
  demo.child.kill('SIGTERM');
  expect(await demo.exit).toBe(0);
  await until('procdemo tools gone', async () => (await tools()).length === 0, 20_000);
});

test('SIGTERM: the router deregisters and exits 0', async () => {
  router.child.kill('SIGTERM');
  expect(await router.exit).toBe(0);
  expect(await registered(ROUTER_ID)).toBe(false);
  expect(router.lines.some((l) => l.includes('"drained"'))).toBe(true);
});
