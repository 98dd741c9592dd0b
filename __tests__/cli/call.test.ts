/**
 * `npm run call -- <Rpc> [json]` (scripts/call.ts), run as a user runs it,
 * against a real router (in-process) in front of a real demo MCP server: the
 * README's examples, JSON in and out, streaming, health, reflection, and every
 * kind of bad input with its exit code and message.
 *
 * A few cases run the CLI as a child process (through npm, and node +
 * ts-node as `npm run call` does: ~2 s each); the rest call its runCli()
 * in-process with the same arguments, environment and output streams.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { runCli } from '../../scripts/router-cli/cli';
import { closedPort, DemoServerHandle, routerFor, RouterUnderTest, startDemoServer } from '../support/demo-backends';

jest.setTimeout(60_000);

const REPO = path.resolve(__dirname, '..', '..');
const ENTRY = path.join(REPO, 'scripts', 'call.ts');
const TS_NODE_REGISTER = path.join(path.dirname(require.resolve('ts-node/package.json')), 'register', 'transpile-only');

let demo: DemoServerHandle;
let r: RouterUnderTest;

beforeAll(async () => {
  demo = await startDemoServer({ name: 'demo' });
  r = await routerFor([{ name: 'demo', url: demo.url }]);
});

afterAll(async () => {
  await r?.close();
  await demo?.close();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A child process, bounded; its exit code and output. */
function run(command: string, argv: string[], env: Record<string, string>, stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, argv, { cwd: REPO, env: { ...process.env, MCP_ROUTER_TARGET: r.target, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}

/** The CLI as a child process: node + ts-node, what `npm run call` runs (no shell). */
function cliProcess(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<Run> {
  return run(process.execPath, ['-r', TS_NODE_REGISTER, ENTRY, ...args], env, stdin);
}

/** The CLI in-process (runCli), with the same environment and captured stdout/stderr. */
async function cli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { ...process.env, MCP_ROUTER_TARGET: r.target, ...env }, {
    stdout: { write: (x: string) => (stdout += x) },
    stderr: { write: (x: string) => (stderr += x) },
    readStdin: () => stdin ?? '',
  });
  return { code, stdout, stderr };
}

test('`npm run --silent call -- ListTools` prints the catalogue as JSON (the npm script as documented)', async () => {
  const res = await run('npm', ['run', '--silent', 'call', '--', 'ListTools'], {});
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  const out = JSON.parse(res.stdout);
  expect(out.routerInstanceId).toBe('mcp-router-test');
  const echo = out.tools.find((t: any) => t.name === 'demo__echo');
  expect(echo).toMatchObject({ server: 'demo', originalName: 'echo', description: 'Echoes the text back' });
  expect(echo.inputSchema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } }, required: ['text'] });
});

test('CallTool with JSON arguments, --target instead of the environment (child process)', async () => {
  const res = await cliProcess(['CallTool', '{"name":"demo__echo","arguments":{"text":"hi"}}', '--target', r.target], { MCP_ROUTER_TARGET: '127.0.0.1:1' });
  expect(res).toMatchObject({ code: 0, stderr: '' });
  expect(JSON.parse(res.stdout)).toEqual({ content: [{ type: 'text', text: 'hi' }], isError: false, server: 'demo', routerInstanceId: 'mcp-router-test' });
});

test('structured content, the full method name, and the request from stdin (child process)', async () => {
  const res = await cliProcess(['mcp.router.v1.McpRouter/CallTool', '-'], {}, '{"name":"demo__add","arguments":{"a":2,"b":3}}');
  expect(res.code).toBe(0);
  expect(JSON.parse(res.stdout)).toMatchObject({ content: [{ type: 'text', text: '5' }], structuredContent: { sum: 5 } });
  const servers = await cli(['ListServers']);
  expect(JSON.parse(servers.stdout).servers[0]).toMatchObject({ name: 'demo', healthy: true, circuitState: 'closed', serverInfo: { name: 'demo', version: '1.0.0' } });
  const tools = await cli(['ListTools', '{"server":"demo"}']);
  expect(JSON.parse(tools.stdout).tools.every((t: any) => t.server === 'demo')).toBe(true);
});

test('prompts (map arguments) and resources', async () => {
  const prompt = await cli(['GetPrompt', '{"name":"demo__greet","arguments":{"who":"Ada"}}']);
  expect(prompt.code).toBe(0);
  expect(JSON.parse(prompt.stdout).messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Say hello to Ada from demo.' } }]);
  const read = await cli(['ReadResource', '{"uri":"demo://demo/readme"}']);
  expect(JSON.parse(read.stdout).contents).toEqual([{ uri: 'demo://demo/readme', mimeType: 'text/plain', text: 'This is the demo demo MCP server.' }]);
  expect(JSON.parse((await cli(['ListPrompts'])).stdout).prompts.map((p: any) => p.name)).toEqual(['demo__greet']);
  expect(JSON.parse((await cli(['ListResources'])).stdout).resources.map((x: any) => x.uri)).toEqual(['demo://demo/readme']);
});

test('CallToolStream prints one JSON line per message: progress, then the result', async () => {
  const res = await cli(['CallToolStream', '{"name":"demo__slow","arguments":{"steps":3,"stepMs":10}}']);
  expect(res.code).toBe(0);
  const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l));
  expect(lines.slice(0, 3)).toEqual([1, 2, 3].map((i) => ({ progress: { progress: i, total: 3, hasTotal: true, message: `step ${i}/3` } })));
  expect(lines[3]).toEqual({ result: { content: [{ type: 'text', text: 'done after 3 steps' }], isError: false, server: 'demo', routerInstanceId: 'mcp-router-test' } });
  expect(lines).toHaveLength(4);
});

test('Health and list replace `grpcurl ... grpc.health.v1.Health/Check` and `grpcurl ... list`', async () => {
  const health = await cli(['Health']);
  expect(health.code).toBe(0);
  expect(JSON.parse(health.stdout)).toEqual({ status: 'SERVING' });
  const list = await cli(['list']);
  expect(list.code).toBe(0);
  // What the router's reflection service lists (as `grpcurl list` would).
  expect(list.stdout.trim().split('\n')).toEqual(expect.arrayContaining(['mcp.router.v1.McpRouter']));
});

test('a failed call exits 1 with the gRPC status on stderr', async () => {
  const missing = await cliProcess(['CallTool', '{"name":"demo__nope"}']);
  expect(missing.code).toBe(1);
  expect(missing.stdout).toBe('');
  expect(missing.stderr).toMatch(/^ERROR: NOT_FOUND \(5\): unknown tool "demo__nope"/);
  const invalid = await cli(['CallTool', '{"name":"demo__echo","arguments":{"text":1}}']);
  expect(invalid.code).toBe(1);
  expect(invalid.stderr).toMatch(/^ERROR: INVALID_ARGUMENT \(3\): invalid arguments for tool demo__echo/);
  const port = await closedPort();
  const down = await cli(['ListTools', '--target', `127.0.0.1:${port}`, '--deadline', '2000']);
  expect(down.code).toBe(1);
  expect(down.stderr).toMatch(/^ERROR: (UNAVAILABLE|DEADLINE_EXCEEDED) /);
});

test('bad usage exits 2 naming the argument, the value received and what is allowed', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /^missing <Rpc>/],
    [['ListTool'], /^unknown RPC "ListTool"; mcp\.router\.v1\.McpRouter has: ListServers, ListTools, CallTool, CallToolStream, .*GetPrompt.* \(also: Health, list\)/],
    [['CallTool', '{"name": demo}'], /^the request for CallTool is not valid JSON \(.+\); received "\{\\"name\\": demo\}"/],
    [['CallTool', '{"nam":"demo__echo"}'], /^the CallTool request has no field "nam"; CallToolRequest has: name, arguments/],
    [['CallTool', '{"name":"demo__echo","arguments":"text=hi"}'], /^the CallTool request\.arguments must be a JSON object; received "text=hi"/],
    [['GetPrompt', '{"name":"demo__greet","arguments":{"who":7}}'], /^the GetPrompt request\.arguments\["who"\] must be a string; received 7/],
    [['ListTools', '--deadline', 'soon'], /^--deadline must be an integer number of ms from 1 to 3600000; received "soon"/],
    [['ListTools', '--target', 'http://x'], /^--target must be host:port; received "http:\/\/x"/],
    [['ListTools', '--verbose'], /Unknown option '--verbose'/],
    [['CallTool', '{}', 'extra'], /^expected <Rpc> \[json\], received 3 arguments/],
  ];
  for (const [args, want] of cases) {
    const res = await cli(args);
    expect([args, res.code]).toEqual([args, 2]);
    expect([args, res.stderr]).toEqual([args, expect.stringMatching(want)]);
    expect(res.stdout).toBe('');
  }
  const help = await cli(['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^usage: npm run call -- <Rpc> \[json\]/);
  // The RPC list comes from the proto.
  expect(help.stdout).toContain('ListServers, ListTools, CallTool, CallToolStream');
});
