/**
 * A stdio-only MCP server behind the platform through a maintained
 * stdio-to-Streamable-HTTP bridge, exactly as docs/stdio-bridge.md tells users
 * to run it: `mcp-proxy --host <addr> --port <port> --server stream --
 * mcp-server-filesystem <dir>` (both pinned devDependencies, their own bins),
 * registered in Consul (tag mcp-server, meta mcp_path=/mcp, namespace=files,
 * TCP check), 3 router processes, HAProxy.
 *
 * mcp-proxy keeps ONE stdio child for every HTTP session, so a file written
 * through one router is read back through another.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  assertRoutersAlive,
  blocks,
  call,
  createRouterClient,
  fromStruct,
  LocalPlatform,
  McpRouterClient,
  ok,
  once,
  registerMcpServer,
  sleep,
  startPlatform,
  streamCall,
  texts,
  toStruct,
  waitListedEverywhere,
} from '../support/interop/harness';
import { TINY_PNG_BASE64 } from '../support/interop/sdk-servers';
import { startFilesystemBridge, ThirdPartyServer } from '../support/interop/third-party';

jest.setTimeout(120_000);

const NS = 'files';
const n = (tool: string) => `${NS}__${tool}`;
const args = (a: Record<string, unknown>) => toStruct(a);
let platform: LocalPlatform;
let bridge: ThirdPartyServer;
let client: McpRouterClient;
let root: string;
const listed = once(() => waitListedEverywhere(platform, NS, 10, 20_000));

beforeAll(async () => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-fs-root-')));
  fs.writeFileSync(path.join(root, 'hello.txt'), 'hello from disk\n');
  fs.mkdirSync(path.join(root, 'sub'));
  fs.writeFileSync(path.join(root, 'sub', 'pixel.png'), Buffer.from(TINY_PNG_BASE64, 'base64'));
  platform = await startPlatform(3);
  const host = platform.block.backendAddress(1);
  bridge = await startFilesystemBridge(host, platform.ports.backend, root);
  await registerMcpServer(platform, { id: 'files-1', service: 'files', address: host, port: platform.ports.backend, namespace: NS, checkInterval: '2s', failuresBeforeCritical: 10 });
  client = createRouterClient(platform.endpoint);
});

// Every router process is still up after each test (none crashed on what a server sent).
afterEach(() => assertRoutersAlive(platform));

afterAll(async () => {
  client?.close();
  await bridge?.stop();
  await platform?.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('server-filesystem (stdio) through mcp-proxy (Streamable HTTP), behind 3 routers and HAProxy', () => {
  test('every router has a healthy session with it and lists its tools', async () => {
    await listed();
    for (const i of platform.runningRouters()) {
      const c = createRouterClient(platform.routerTarget(i));
      try {
        const s = (await ok(call(c, 'ListServers', {}))).servers.find((x: any) => x.name === NS);
        expect({ healthy: s?.healthy, url: s?.url, lastError: s?.lastError }).toEqual({ healthy: true, url: bridge.url, lastError: '' });
        expect(fromStruct(s.serverInfo)).toMatchObject({ name: 'secure-filesystem-server' });
      } finally {
        c.close();
      }
    }
    const tools = (await ok(call(client, 'ListTools', { server: NS }))).tools.map((t: any) => t.originalName);
    expect(tools).toEqual(expect.arrayContaining(['read_text_file', 'read_media_file', 'write_file', 'list_directory', 'get_file_info', 'list_allowed_directories']));
  });

  test('CallTool reads a text file (text and structured content)', async () => {
    await listed();
    const res = await ok(call(client, 'CallTool', { name: n('read_text_file'), arguments: args({ path: path.join(root, 'hello.txt') }) }));
    expect(texts(res.content)).toEqual(['hello from disk\n']);
    expect(fromStruct(res.structuredContent)).toEqual({ content: 'hello from disk\n' });
  });

  test('CallTool reads an image (image content block)', async () => {
    await listed();
    const res = await ok(call(client, 'CallTool', { name: n('read_media_file'), arguments: args({ path: path.join(root, 'sub', 'pixel.png') }) }));
    expect(blocks(res.content)[0]).toMatchObject({ type: 'image', mimeType: 'image/png', data: TINY_PNG_BASE64 });
  });

  test('a file written through one router is read back through the others (one stdio server behind the bridge)', async () => {
    await listed();
    const file = path.join(root, 'written.txt');
    const r1 = createRouterClient(platform.routerTarget(1));
    try {
      const w = await ok(call(r1, 'CallTool', { name: n('write_file'), arguments: args({ path: file, content: 'written via router 1' }) }));
      expect(w.isError).toBe(false);
    } finally {
      r1.close();
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('written via router 1');
    for (const i of [2, 3]) {
      const c = createRouterClient(platform.routerTarget(i));
      try {
        expect(texts((await ok(call(c, 'CallTool', { name: n('read_text_file'), arguments: args({ path: file }) }))).content)).toEqual(['written via router 1']);
      } finally {
        c.close();
      }
    }
    const list = texts((await ok(call(client, 'CallTool', { name: n('list_directory'), arguments: args({ path: root }) }))).content).join('\n');
    expect(list.split('\n').sort()).toEqual(['[DIR] sub', '[FILE] hello.txt', '[FILE] written.txt']);
  });

  test('a path outside the allowed directory is the server\'s tool error (is_error), not a failed RPC', async () => {
    await listed();
    const res = await ok(call(client, 'CallTool', { name: n('read_text_file'), arguments: args({ path: '/etc/hostname' }) }));
    expect(res.isError).toBe(true);
    expect(texts(res.content).join(' ')).toMatch(/Access denied - path outside allowed directories/);
  });

  test('CallToolStream through the bridge: the result as the last message', async () => {
    await listed();
    const out = await streamCall(client, { name: n('get_file_info'), arguments: args({ path: path.join(root, 'hello.txt') }) }, 10_000);
    expect(grpc.status[out.code]).toBe('OK');
    expect(out.events).toHaveLength(1);
    expect(texts(out.result.content).join('\n')).toMatch(/size: 16/);
  });

  test('invalid arguments and unknown names: the right status within milliseconds, unary and streaming', async () => {
    await listed();
    const cases: Array<[object, string]> = [
      [{ name: n('read_text_file'), arguments: args({}) }, 'INVALID_ARGUMENT'],
      [{ name: n('write_file'), arguments: args({ path: path.join(root, 'x.txt'), content: 7 }) }, 'INVALID_ARGUMENT'],
      [{ name: n('format_disk'), arguments: args({}) }, 'NOT_FOUND'],
    ];
    for (const [req, want] of cases) {
      const u = await call(client, 'CallTool', req, 5_000);
      expect([JSON.stringify(req).slice(0, 50), u.err ? grpc.status[u.err.code] : 'OK', u.ms < 1_000]).toEqual([JSON.stringify(req).slice(0, 50), want, true]);
      const s = await streamCall(client, req, 5_000);
      expect([JSON.stringify(req).slice(0, 50), grpc.status[s.code], s.ms < 1_000]).toEqual([JSON.stringify(req).slice(0, 50), want, true]);
    }
    expect(fs.existsSync(path.join(root, 'x.txt'))).toBe(false);
  });

  test('no resources and no prompts: empty listings, NOT_FOUND for a name', async () => {
    await listed();
    expect((await ok(call(client, 'ListResources', { server: NS }))).resources).toEqual([]);
    expect((await ok(call(client, 'ListPrompts', { server: NS }))).prompts).toEqual([]);
    expect((await call(client, 'GetPrompt', { name: n('summarize') })).err?.code).toBe(grpc.status.NOT_FOUND);
    expect((await call(client, 'ReadResource', { uri: `file://${path.join(root, 'hello.txt')}` })).err?.code).toBe(grpc.status.NOT_FOUND);
  });

  // Last: it restarts the bridge.
  test('the bridge restarted (new stdio child, old sessions answered 404) faster than Consul notices: every router recovers', async () => {
    await listed();
    await bridge.stop('SIGKILL');
    bridge = await startFilesystemBridge(bridge.host, bridge.port, root);
    const outcome: Record<string, string> = {};
    for (const i of platform.runningRouters()) {
      const c = createRouterClient(platform.routerTarget(i));
      try {
        let last = '';
        for (const t0 = Date.now(); Date.now() - t0 < 10_000; await sleep(250)) {
          const o = await call(c, 'CallTool', { name: n('read_text_file'), arguments: args({ path: path.join(root, 'hello.txt') }) }, 3_000);
          last = o.err ? `${grpc.status[o.err.code]}: ${o.err.details}` : texts(o.res.content).join('');
          if (!o.err) break;
        }
        outcome[`router-${i}`] = last;
      } finally {
        c.close();
      }
    }
    expect(outcome).toEqual({ 'router-1': 'hello from disk\n', 'router-2': 'hello from disk\n', 'router-3': 'hello from disk\n' });
  });
});
