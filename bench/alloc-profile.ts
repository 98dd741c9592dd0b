/**
 * `npm run bench:alloc`: what the router allocates under load, before and
 * after a change — V8's sampling heap profiler (bench/alloc-sampler.ts, which
 * counts collected objects too) in two routers side by side: the router of git
 * revision ALLOC_BEFORE (default: the commit before the issue-15/16 performance
 * work) built into a temp dir, and the working tree's router-app/dist.
 *
 * Each router (image flags, pinned to the server CPU; one demo backend) gets
 * the same phases, one profile each:
 *   1. gRPC: h2load ListTools (-c 4 -m 16) + CallTool demo__echo at 8 in flight — the 5b load;
 *   2. MCP: tools/list on its MCP door (h2load --h1 -c 64), one session.
 * Reported per phase: sampled bytes allocated per call, the top allocation
 * sites and packages, and RSS / peak after the phase. Writes
 * bench/results/alloc-<stamp>.md.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkListTools } from './checks';
import { compileBench, DIST_DIR } from './compile';
import { loadBenchConfig } from './config';
import { BenchContext, DEMO_ENTRY, REPO, ROUTER_ENTRY } from './context';
import { runH2load } from './h2load';
import { mcpRequest } from './mcp-items';
import { BenchProcess, freePort, pinPid, procMemory, sleep, taskset } from './procs';
import { fmt } from './report';
import { h2Measured, runDriver } from './single-router';
import { routerNodeFlags } from '../scripts/local-platform/platform';

const HOST = '127.0.0.1';
const TOOL = 'demo__echo';
/** The commit this work started from (main at cfaea9d). */
const DEFAULT_BEFORE = 'cfaea9d';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/** Bytes allocated per site ("fn file:line") and per package, from a sampling heap profile. */
export function allocationSites(head: HeapNode): { total: number; sites: Map<string, number>; packages: Map<string, number> } {
  const sites = new Map<string, number>();
  const packages = new Map<string, number>();
  let total = 0;
  const stack = [head];
  while (stack.length) {
    const n = stack.pop()!;
    stack.push(...n.children);
    if (!n.selfSize) continue;
    total += n.selfSize;
    const { functionName, url, lineNumber } = n.callFrame;
    const file = url.replace(/^.*node_modules\//, '').replace(/^.*\/router-app\/dist\//, 'router-app/');
    const site = `${functionName || '(anonymous)'} ${file || '(native)'}:${lineNumber + 1}`;
    sites.set(site, (sites.get(site) ?? 0) + n.selfSize);
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.includes('/router-app/') ? 'router-app' : url.startsWith('node:') ? url.split('/').slice(0, 2).join('/') : url ? 'other' : `(${functionName || 'native'})`);
    packages.set(pkg, (packages.get(pkg) ?? 0) + n.selfSize);
  }
  return { total, sites, packages };
}

function buildRevision(rev: string, work: string): string {
  const dir = path.join(work, 'before');
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git -C "${REPO}" archive "${rev}" router-app | tar -x -C "${dir}"`]);
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  execFileSync(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(dir, 'router-app')], { stdio: 'inherit' });
  return path.join(dir, 'router-app', 'dist', 'main.js');
}

async function main(): Promise<void> {
  const cfg = loadBenchConfig();
  compileBench();
  const out = execFileSync('bash', [path.join(REPO, 'scripts', 'provision-test-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  const h2loadBin = /^h2load=(.+)$/m.exec(out)?.[1].trim();
  if (!h2loadBin) throw new Error('h2load is not provisioned');
  const ctx: BenchContext = { cfg, tools: { h2load: h2loadBin }, cpu: taskset() ? { server: 0, client: 1 } : {}, log: (m) => process.stderr.write(`[alloc] ${m}\n`) };
  if (ctx.cpu.client !== undefined) pinPid(process.pid, ctx.cpu.client);
  const before = process.env.ALLOC_BEFORE ?? DEFAULT_BEFORE;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-alloc-'));
  const sides = [
    { name: `before (${before})`, entry: buildRevision(before, work) },
    { name: 'after (working tree)', entry: ROUTER_ENTRY },
  ];
  const backendPort = await freePort(HOST);
  const { proc: backend } = await BenchProcess.start({ name: 'demo-backend', command: process.execPath, args: [DEMO_ENTRY], env: { ...process.env, HOST, PORT: String(backendPort), SERVER_NAME: 'demo', CONSUL_HOST: '' }, cpu: ctx.cpu.client, ready: /demo MCP server started/ });
  const lines: string[] = [];
  try {
    const h2 = { requests: Math.ceil(cfg.h2.requests / 3), clients: cfg.h2.clients, streams: cfg.h2.streams };
    const calls = Math.ceil(cfg.call.requests / 2);
    const mcpN = cfg.mcp.listRequests / 2;
    const report: Array<{ side: string; phase: string; calls: number; sites: ReturnType<typeof allocationSites>; rss: number; hwm: number }> = [];
    for (const side of sides) {
      const profDir = fs.mkdtempSync(path.join(work, 'prof-'));
      const [port, metricsPort, mcpPort] = [await freePort(HOST), await freePort(HOST), await freePort(HOST)];
      const { proc } = await BenchProcess.start({
        name: `router ${side.name}`,
        command: process.execPath,
        args: [...routerNodeFlags(), '-r', path.join(DIST_DIR, 'alloc-sampler.js'), side.entry],
        env: { ...process.env, ALLOC_PROFILE_DIR: profDir, CONSUL_REGISTER: 'false', MCP_BACKEND_DISCOVERY: 'false', MCP_BACKENDS: JSON.stringify([{ name: 'demo', url: `http://${HOST}:${backendPort}/mcp` }]), MCP_ROUTER_BIND_ADDRESS: HOST, MCP_ROUTER_PORT: String(port), MCP_ROUTER_METRICS_PORT: String(metricsPort), MCP_ROUTER_MCP_PORT: String(mcpPort), MCP_ROUTER_INSTANCE_ID: 'alloc', MCP_ROUTER_DRAIN_DELAY_MS: '0', LOG_LEVEL: 'info' },
        cpu: ctx.cpu.server,
        ready: /router started/,
      });
      try {
        const target = `${HOST}:${port}`;
        const deadline = Date.now() + 20_000;
        for (;;) {
          try {
            await checkListTools(target, { tool: TOOL });
            break;
          } catch (err) {
            if (Date.now() > deadline) throw err;
            await sleep(200);
          }
        }
        const profile = async (phase: string, n: number, run: () => Promise<void>) => {
          process.kill(proc.pid, 'SIGUSR2'); // discard start-up
          await sleep(300);
          const before = fs.readdirSync(profDir).length;
          await run();
          process.kill(proc.pid, 'SIGUSR2');
          const deadline2 = Date.now() + 10_000;
          while (fs.readdirSync(profDir).length === before && Date.now() < deadline2) await sleep(100);
          const files = fs.readdirSync(profDir).sort((a, b) => parseInt(a) - parseInt(b));
          const last = JSON.parse(fs.readFileSync(path.join(profDir, files[files.length - 1]), 'utf8')) as { head: HeapNode };
          const mem = procMemory(proc.pid);
          report.push({ side: side.name, phase, calls: n, sites: allocationSites(last.head), rss: mem.rssMiB, hwm: mem.hwmMiB });
          ctx.log(`${side.name} ${phase}: RSS ${fmt.mib(mem.rssMiB)}, peak ${fmt.mib(mem.hwmMiB)}`);
        };
        await profile('gRPC: ListTools + CallTool (the 5b load)', h2.requests + calls, async () => {
          await h2Measured(ctx, { name: side.name, target, expect: { tool: TOOL } }, h2);
          await runDriver(ctx, { kind: 'grpc', target, tool: TOOL, text: 'hello-alloc', requests: calls, warmup: 0, concurrency: 8, timeLimitMs: cfg.runTimeoutMs }, `${side.name} CallTool`);
        });
        const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
        const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
        const client = new Client({ name: 'bench-alloc', version: '1.0.0' });
        const transport = new StreamableHTTPClientTransport(new URL(`http://${HOST}:${mcpPort}/mcp`));
        await client.connect(transport);
        const req = mcpRequest({ id: transport.sessionId!, protocolVersion: transport.protocolVersion! }, 'tools/list', {});
        await profile('MCP: tools/list (h2load --h1 -c 64)', mcpN, async () => {
          const r = await runH2load({ h2load: ctx.tools.h2load!, target: `${HOST}:${mcpPort}`, method: 'tools/list', body: req.body, requests: mcpN, clients: 64, streams: 1, timeoutMs: cfg.runTimeoutMs, cpu: ctx.cpu.client, http: { path: '/mcp', headers: req.headers, h1: true } });
          if (r.counts.succeeded !== mcpN) throw new Error(`${side.name}: ${r.counts.succeeded}/${mcpN} MCP tools/list succeeded`);
          ctx.log(`${side.name} MCP tools/list: ${fmt.load(r.reqPerSec, r.latency)}`);
        });
        await client.close();
      } finally {
        await proc.stop();
      }
    }
    const kib = (b: number) => `${Math.round(b / 1024).toLocaleString('en-US')} KiB`;
    lines.push(`# What the router allocates under load, before and after (${new Date().toISOString()})`, '');
    lines.push(`Command: \`npm run bench:alloc\` (ALLOC_BEFORE=${before}); Node ${process.version}; image flags \`${routerNodeFlags().join(' ')}\`; V8 sampling heap profiler (16 KiB interval, collected objects included: bytes *allocated*, sampled); each router alone on cpu ${ctx.cpu.server ?? '-'}. Phases: gRPC ${h2.requests} ListTools (h2load -c ${h2.clients} -m ${h2.streams}) + ${calls} CallTool at 8 in flight; MCP ${mcpN} tools/list (h2load --h1 -c 64).`, '');
    for (const phase of [...new Set(report.map((r) => r.phase))]) {
      lines.push(`## ${phase}`, '');
      lines.push('| router | sampled bytes allocated per call | RSS after / peak | top packages (share of bytes) |', '|---|---:|---|---|');
      for (const r of report.filter((x) => x.phase === phase)) {
        const pk = [...r.sites.packages.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${((100 * v) / r.sites.total).toFixed(0)} %`).join(', ');
        lines.push(`| ${r.side} | ${kib(r.sites.total / r.calls)} | ${fmt.mib(r.rss)} / ${fmt.mib(r.hwm)} | ${pk} |`);
      }
      lines.push('');
      for (const r of report.filter((x) => x.phase === phase)) {
        lines.push(`Top allocation sites, ${r.side}:`, '');
        lines.push('| site | bytes per call | share |', '|---|---:|---:|');
        for (const [site, bytes] of [...r.sites.sites.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)) lines.push(`| \`${site}\` | ${Math.round(bytes / r.calls).toLocaleString('en-US')} B | ${((100 * bytes) / r.sites.total).toFixed(1)} % |`);
        lines.push('');
      }
    }
    const md = lines.join('\n');
    process.stdout.write(`\n${md}\n`);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    fs.writeFileSync(path.join(__dirname, 'results', `alloc-${stamp}.md`), md);
  } finally {
    await backend.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`alloc profile failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
