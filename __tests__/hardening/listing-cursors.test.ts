/**
 * Cursors come from clients. A listing on the MCP door is paged (MCP_ROUTER_MCP_PAGE_SIZE); a page
 * not in the router's page cache was built by filtering and sorting the whole catalogue, so a client
 * asking for page after page with cursors of its own (each one a new page) had the router sort
 * 10,000 tools at every request. Each listing is now sorted once per catalogue and caller's rights,
 * and a page is a slice of it. Real processes: the router, a real MCP server (the SDK's) with
 * 10,000 tools, the official SDK client.
 */
import * as fs from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connectMcp, HostileServer, killLeftovers, postToSession, report, RouterProcess, startHostileServer, startRouterProcess } from './harness';

jest.setTimeout(120_000);

afterAll(killLeftovers);

const TOOLS = 10_000;
const PAGE = 200;
let big: HostileServer;
let router: RouterProcess;
let mcp: Client;
let transport: StreamableHTTPClientTransport;

beforeAll(async () => {
  // Listed shuffled (7,919 is prime to 10,000), so the router's order is its own sort.
  big = await startHostileServer('big', { listTools: () => ({ tools: Array.from({ length: TOOLS }, (_, i) => ({ name: `t${String((i * 7_919) % TOOLS).padStart(5, '0')}`, inputSchema: { type: 'object' as const } })) }) });
  router = await startRouterProcess({ MCP_BACKENDS: JSON.stringify([{ name: 'big', url: big.url }]), MCP_ROUTER_MCP_PAGE_SIZE: String(PAGE) });
  await router.ready();
  ({ client: mcp, transport } = await connectMcp(router, 'cursor-test'));
});

afterAll(async () => {
  await mcp?.close().catch(() => undefined);
  await router?.stop();
  await big?.close();
});

/** CPU time the router process has used, in ms (utime + stime from /proc; 100 ticks a second). */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const cursorAt = (offset: number) => Buffer.from(`o${offset}`).toString('base64url');

async function listPages(cursors: Array<string | undefined>): Promise<void> {
  for (const cursor of cursors) {
    const res = await postToSession(router, transport, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: cursor === undefined ? {} : { cursor } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
}

test('walking the pages gives every tool once, in name order', async () => {
  const names: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await mcp.listTools(cursor ? { cursor } : undefined);
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
    pages++;
  } while (cursor && pages < 1_000);
  expect(pages).toBe(TOOLS / PAGE);
  expect(names).toEqual(Array.from({ length: TOOLS }, (_, i) => `big__t${String(i).padStart(5, '0')}`));
});

test("a client's own cursors, each a page never asked before, cost the router about what the same page asked again costs", async () => {
  const N = 600;
  await listPages([undefined, cursorAt(1)]); // warm both paths
  let started = cpuMs(router.pid);
  await listPages(Array.from({ length: N }, () => cursorAt(7)));
  const samePageMs = cpuMs(router.pid) - started;
  started = cpuMs(router.pid);
  // Offsets 11, 22, 33, ...: a new page each time, never in the page cache.
  await listPages(Array.from({ length: N }, (_, i) => cursorAt(11 * (i + 1))));
  const newPagesMs = cpuMs(router.pid) - started;
  report('listing cursors (10,000 tools, pages of 200)', { requests: N, samePageCpuMs: samePageMs, newPageEachTimeCpuMs: newPagesMs, ratio: Number((newPagesMs / Math.max(samePageMs, 10)).toFixed(2)) });
  // A new page costs one slice and one JSON.stringify of 200 tools more than a cached one; sorting 10,000 tools at each cost several times that.
  expect(newPagesMs).toBeLessThan(Math.max(samePageMs, 10) * 2);
});
