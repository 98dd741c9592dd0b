/**
 * The example backend (examples/demo-mcp-server) on its own, through the
 * official SDK client: its tools, resource and prompt, progress and
 * cancellation; and its process entry's env contract (HOST, PORT, MCP_PATH,
 * SERVER_NAME; invalid PORT stops it with exit 2; SIGTERM exits 0; a Consul that
 * does not answer yet is retried, not fatal).
 */
import { spawn, spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { closedPort, DemoServerHandle, eventually, startDemoServer } from '../support/demo-backends';
import { startConsulAgent } from '../support/consul-agent';

jest.setTimeout(30_000);

const ENTRY = path.resolve(__dirname, '..', '..', 'examples', 'demo-mcp-server', 'dist', 'main.js');

async function connect(url: string): Promise<Client> {
  const c = new Client({ name: 'demo-test', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return c;
}

describe('in-process (startDemoServer)', () => {
  let demo: DemoServerHandle;
  let client: Client;
  beforeAll(async () => {
    demo = await startDemoServer({ name: 'unit' });
    client = await connect(demo.url);
  });
  afterAll(async () => {
    await client?.close();
    await demo?.close();
  });

  test('tools echo, add, slow, fail, whoami; add has an output schema', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['add', 'echo', 'fail', 'slow', 'whoami']);
    expect(tools.find((t) => t.name === 'add')!.outputSchema).toMatchObject({ type: 'object', properties: { sum: { type: 'number' } } });
    expect(await client.callTool({ name: 'add', arguments: { a: 1.5, b: 2 } })).toMatchObject({ structuredContent: { sum: 3.5 } });
    expect(await client.callTool({ name: 'echo', arguments: { text: 'hé' } })).toMatchObject({ content: [{ type: 'text', text: 'hé' }] });
    expect(await client.callTool({ name: 'fail', arguments: {} })).toMatchObject({ isError: true, content: [{ type: 'text', text: 'failed: as requested' }] });
    expect(await client.callTool({ name: 'whoami', arguments: {} })).toMatchObject({ content: [{ type: 'text', text: 'unit' }] });
  });

  test('one resource and one prompt', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(['demo://unit/readme']);
    const read = await client.readResource({ uri: 'demo://unit/readme' });
    expect(read.contents[0]).toMatchObject({ mimeType: 'text/plain', text: 'This is the unit demo MCP server.' });
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(['greet']);
    const got = await client.getPrompt({ name: 'greet', arguments: { who: 'Bo' } });
    expect(got.messages[0]).toMatchObject({ role: 'user', content: { type: 'text', text: 'Say hello to Bo from unit.' } });
  });

  test('slow reports progress per step and honours cancellation', async () => {
    const seen: number[] = [];
    const res = await client.callTool({ name: 'slow', arguments: { steps: 3, stepMs: 10 } }, undefined, { onprogress: (p) => seen.push(p.progress) });
    expect(seen).toEqual([1, 2, 3]);
    expect(res).toMatchObject({ content: [{ type: 'text', text: 'done after 3 steps' }] });
    const ac = new AbortController();
    const p = client.callTool({ name: 'slow', arguments: { steps: 100, stepMs: 50 } }, undefined, { signal: ac.signal });
    setTimeout(() => ac.abort(), 150);
    await expect(p).rejects.toThrow();
    expect(await eventually(() => demo.cancelled.length === 1, 3000)).toBe(true);
  });

  test('a long slow call leaves no abort listener behind per step', async () => {
    // The most 'abort' listeners the call adds to any one signal and keeps at once (Node warns above
    // 10). Counted from each signal's listeners before the call's first add, so the SDK client's own
    // transport signal (one listener per request it ever sent, on Node 20) does not count.
    let most = 0;
    const before = new Map<EventTarget, number>();
    const add = EventTarget.prototype.addEventListener;
    const spy = jest.spyOn(EventTarget.prototype, 'addEventListener').mockImplementation(function (this: EventTarget, type: string, ...rest: any[]) {
      if (type === 'abort' && !before.has(this)) before.set(this, getEventListeners(this, 'abort').length);
      add.call(this, type, ...(rest as [any]));
      if (type === 'abort') most = Math.max(most, getEventListeners(this, 'abort').length - before.get(this)!);
    });
    try {
      const res = await client.callTool({ name: 'slow', arguments: { steps: 40, stepMs: 1 } });
      expect(res).toMatchObject({ content: [{ type: 'text', text: 'done after 40 steps' }] });
    } finally {
      spy.mockRestore();
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThan(5);
  });
});

describe('as a process (dist/main.js)', () => {
  test('PORT=abc stops it at start with exit 2 naming the variable and the value', () => {
    const r = spawnSync(process.execPath, [ENTRY], { env: { PATH: process.env.PATH, PORT: 'abc' }, encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('PORT must be an integer from 1 to 65535; received "abc"');
  });

  test('with CONSUL_HOST set it keeps serving while Consul does not answer yet, and registers once it does', async () => {
    // As in a deployment, where Consul starts next to it: exiting would fail `terraform apply`
    // ("container exited immediately") and restart-loop the container.
    const address = `127.${150 + Math.floor(Math.random() * 100)}.${1 + Math.floor(Math.random() * 250)}.1`;
    const consulPort = await closedPort(address);
    const port = await closedPort();
    const env = { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), SERVER_NAME: 'late', CONSUL_HOST: address, CONSUL_PORT: String(consulPort) };
    const proc = spawn(process.execPath, [ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    let exited: number | null | undefined;
    const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve((exited = code))));
    let consul: Awaited<ReturnType<typeof startConsulAgent>> | undefined;
    try {
      expect(await eventually(() => stderr.includes('Consul registration failed') && stderr.includes('retrying'), 10_000)).toBe(true);
      await new Promise((r) => setTimeout(r, 1500));
      expect(exited).toBeUndefined();
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      consul = await startConsulAgent({ address, httpPort: consulPort });
      const registered = await eventually(async () => {
        const services = await consul!.api<Record<string, { Service: string; Tags: string[] }>>('/v1/agent/services');
        return Object.values(services).some((s) => s.Service === 'late' && s.Tags.includes('mcp-server'));
      }, 10_000);
      expect(registered).toBe(true);
    } finally {
      proc.kill('SIGTERM');
      await exit;
      await consul?.stop();
    }
    expect(exited).toBe(0);
  });

  test('HOST, PORT, MCP_PATH and SERVER_NAME are honoured; /healthz answers; SIGTERM exits 0', async () => {
    const port = await closedPort();
    const proc = spawn(process.execPath, [ENTRY], { env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), MCP_PATH: '/custom', SERVER_NAME: 'named' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    try {
      const started = await new Promise<any>((resolve, reject) => {
        let buf = '';
        proc.stdout.on('data', (d) => {
          buf += d;
          const line = buf.split('\n').find((l) => l.includes('demo MCP server started'));
          if (line) resolve(JSON.parse(line));
        });
        proc.on('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      expect(started).toMatchObject({ name: 'named', url: `http://127.0.0.1:${port}/custom`, consul: null });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const client = await connect(started.url);
      expect(await client.callTool({ name: 'whoami', arguments: {} })).toMatchObject({ content: [{ type: 'text', text: 'named' }] });
      await client.close();
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exit).toBe(0);
  });
});
