/**
 * Defect 6: the local platform leaked processes and skipped the drain, and
 * said "up" too early. `npm run local`'s script (scripts/local.ts) runs as a
 * process in its own process group, as a shell runs a foreground job:
 * - it says "up" only when every router is UP in HAProxy and passing in
 *   Consul, and says how long that took (checked against HAProxy's stats and
 *   Consul's health API the moment the line appears);
 * - SIGINT to the whole process group (a terminal's Ctrl-C) stops everything
 *   in order: the routers drain and exit 0 (no "second signal"), then the
 *   backends, then HAProxy and Consul; nothing of it is left running;
 * - SIGKILL of the harness alone leaves nothing running either.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomFreeBlock } from '../../scripts/local-platform/loopback';
import { DEFAULT_PORTS } from '../../scripts/local-platform/platform-config';
import { REPO, report, sleep, waitUntil } from './harness';

jest.setTimeout(240_000);

const ROUTERS = 3;

interface Harness {
  readonly child: ChildProcess;
  readonly prefix: string;
  output(): string;
  line(match: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const harnesses: ChildProcess[] = [];
afterAll(() => {
  for (const c of harnesses) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, 'SIGKILL'); // only after a failure
});

async function startHarness(instances: number): Promise<Harness> {
  const block = await randomFreeBlock([DEFAULT_PORTS.consulHttp, DEFAULT_PORTS.consulDns, DEFAULT_PORTS.haproxyFrontend, DEFAULT_PORTS.haproxyStats]);
  // Its own process group, as a shell puts a foreground job in one.
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(REPO, 'scripts', 'local.ts'), '--instances', String(instances), '--prefix', block.prefix, '--quiet'], {
    cwd: REPO,
    env: { ...process.env, TS_NODE_PROJECT: path.join(REPO, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  harnesses.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    prefix: block.prefix,
    output: () => out,
    exit,
    async line(match, timeoutMs) {
      let m: RegExpMatchArray | null = null;
      await waitUntil(`harness output ${match}`, () => (m = match.exec(out)) !== null || child.exitCode !== null, timeoutMs, 50);
      if (!m) throw new Error(`the harness exited before ${match}:\n${out}`);
      return m;
    },
  };
}

/** Processes (any user) whose command line or environment names the platform's loopback block or work dir. */
function survivors(prefix: string, workDir: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
      const state = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (state === 'Z') continue;
      if (cmd.includes(workDir) || env.includes(`=${prefix}.`) || cmd.includes(`--prefix ${prefix} `)) found.push(`${pid} ${cmd.slice(0, 120)}`);
    } catch {
      /* gone meanwhile, or not readable */
    }
  }
  return found;
}

test(`${ROUTERS} routers: "up" only when all are UP in HAProxy and passing in Consul; Ctrl-C to the process group stops them in order, routers drain and exit 0, nothing is left`, async () => {
  const h = await startHarness(ROUTERS);
  const up = await h.line(/MCP router platform is up after ([\d.]+) s: (\d+) of (\d+) routers UP in HAProxy and passing in Consul/, 150_000);
  const statsUrl = (await h.line(/HAProxy stats {2}(\S+)/, 5_000))[1];
  const workDir = (await h.line(/logs\/configs {3}(\S+)/, 5_000))[1];
  // Checked the moment the line appeared.
  const csv = await (await fetch(`${statsUrl};csv`)).text();
  const upInHaproxy = csv.split('\n').filter((l) => l.startsWith('mcp_router_backend,mcp-router') && l.split(',')[17]?.startsWith('UP')).length;
  const consulUrl = `http://${h.prefix}.1:${DEFAULT_PORTS.consulHttp}`;
  const health = (await (await fetch(`${consulUrl}/v1/health/service/mcp-router`)).json()) as Array<{ Checks: Array<{ ServiceID: string; Status: string }> }>;
  const passingInConsul = health.filter((e) => e.Checks.filter((c) => c.ServiceID).every((c) => c.Status === 'passing')).length;

  // Ctrl-C in a terminal: SIGINT to every process of the foreground process group.
  const t0 = Date.now();
  process.kill(-h.child.pid!, 'SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([h.exit, new Promise((resolve) => (timer = setTimeout(() => resolve({ code: -1, signal: null }), 90_000)))]);
  clearTimeout(timer);
  const stopMs = Date.now() - t0;
  const out = h.output();
  const stopped = [...out.matchAll(/ {2}stopped (\S+): (exit \S+|signal \S+) after ([\d.]+) s/g)].map((m) => ({ name: m[1], how: m[2], at: Number(m[3]) }));
  const routerLogs = Array.from({ length: ROUTERS }, (_, i) => fs.readFileSync(path.join(workDir, `router-${i + 1}.log`), 'utf8'));
  await sleep(500);
  const left = survivors(h.prefix, workDir);
  const lastRouter = Math.max(...stopped.filter((s) => s.name.startsWith('router-')).map((s) => s.at));
  const firstOther = Math.min(...stopped.filter((s) => !s.name.startsWith('router-')).map((s) => s.at));
  const lastBackend = Math.max(...stopped.filter((s) => s.name.startsWith('backend-')).map((s) => s.at));
  report('6 local platform', {
    upAfterS: Number(up[1]),
    upLine: `${up[2]} of ${up[3]}`,
    atThatMoment: { upInHaproxy, passingInConsul },
    stopMs,
    harnessExit: exit,
    stopped,
    routersDrained: routerLogs.filter((l) => l.includes('"drained"')).length,
    routersDeregistered: routerLogs.filter((l) => l.includes('deregistered from Consul')).length,
    secondSignalLines: routerLogs.filter((l) => l.includes('second signal')).length,
    survivors: left,
  });
  expect(Number(up[2])).toBe(ROUTERS);
  expect(upInHaproxy).toBe(ROUTERS);
  expect(passingInConsul).toBe(ROUTERS);
  expect(exit).toEqual({ code: 0, signal: null });
  expect(out).toContain('All stopped.');
  expect(stopped.filter((s) => s.name.startsWith('router-')).map((s) => s.how)).toEqual(Array(ROUTERS).fill('exit 0'));
  expect(stopped.find((s) => s.name === 'backend-demo')?.how).toBe('exit 0');
  expect(stopped.find((s) => s.name === 'haproxy')?.how).toBe('exit 0');
  // Routers first, then the backends, then HAProxy and Consul.
  expect(lastRouter).toBeLessThanOrEqual(firstOther);
  for (const s of stopped.filter((x) => x.name === 'haproxy' || x.name === 'consul')) expect(s.at).toBeGreaterThanOrEqual(lastBackend);
  expect(stopped.map((s) => s.name).sort()).toEqual(['backend-demo', 'consul', 'haproxy', ...Array.from({ length: ROUTERS }, (_, i) => `router-${i + 1}`)].sort());
  expect(routerLogs.every((l) => l.includes('"drained"') && l.includes('deregistered from Consul') && !l.includes('second signal') && !l.includes('Consul deregistration failed'))).toBe(true);
  expect(left).toEqual([]);
});

test('SIGKILL of the harness alone: every process it started dies with it', async () => {
  const h = await startHarness(1);
  await h.line(/MCP router platform is up after/, 120_000);
  const workDir = (await h.line(/logs\/configs {3}(\S+)/, 5_000))[1];
  const before = survivors(h.prefix, workDir).length;
  process.kill(h.child.pid!, 'SIGKILL');
  await h.exit;
  let left: string[] = [];
  const goneMs = await waitUntil('no process of the platform left', () => (left = survivors(h.prefix, workDir)).length === 0, 10_000, 100).catch(() => -1);
  report('6 harness killed', { processesBefore: before, goneAfterMs: goneMs, survivors: left });
  expect(before).toBeGreaterThanOrEqual(4); // consul, haproxy, a backend, a router
  expect(left).toEqual([]);
});

test('Ctrl-C while the platform starts: what has started is stopped, nothing is left', async () => {
  const h = await startHarness(2);
  const workDir = (await h.line(/Starting Consul.*\(logs in (\S+)\)/, 30_000))[1];
  // Consul is up and the rest is starting (the platform writes its configs into its work dir as it goes).
  await sleep(3_000);
  process.kill(-h.child.pid!, 'SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([h.exit, new Promise((resolve) => (timer = setTimeout(() => resolve({ code: -1, signal: null }), 60_000)))]);
  clearTimeout(timer);
  await sleep(500);
  const left = survivors(h.prefix, workDir);
  const started = fs.readdirSync(workDir).filter((f) => f.endsWith('.log')).map((f) => f.replace(/\.log$/, ''));
  report('6 Ctrl-C during start-up', { startedBeforeSignal: started, exit, output: h.output().trim().split('\n').slice(-2), survivors: left });
  expect(started).toContain('consul');
  expect(exit).toEqual({ code: 0, signal: null });
  expect(h.output()).toMatch(/SIGINT during start-up: stopping what has started/);
  expect(left).toEqual([]);
});
