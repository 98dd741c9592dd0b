/**
 * Defect 2: a backend's listing had no bound. A hostile MCP server (the SDK's
 * Server, misbehaving on purpose) that always answers tools/list with a
 * nextCursor, or pages slowly for ever, or sends too many items or bytes: the
 * router (a real process) caps pages, items, bytes and time per listing,
 * refuses that backend's listing (its status says why, a metric counts it),
 * and builds the catalogue from every other backend's result as it settles.
 */
import { unary } from '../../scripts/local-platform/router-client';
import { freePort, HostileServer, killLeftovers, report, RouterProcess, sample, sleep, startDemoProcess, startHostileServer, startRouterProcess } from './harness';

jest.setTimeout(120_000);

let demoUrl: string;
const hostile: HostileServer[] = [];

beforeAll(async () => {
  const port = await freePort();
  await startDemoProcess({ name: 'healthy', port }); // stopped by killLeftovers
  demoUrl = `http://127.0.0.1:${port}/mcp`;
});

afterAll(async () => {
  await Promise.all(hostile.map((h) => h.close()));
  await killLeftovers();
});

/** A tool with a schema of realistic size (~0.6 KB as JSON). */
const tool = (name: string) => ({
  name,
  description: `Tool ${name}: ${'does something useful with its input. '.repeat(4)}`,
  inputSchema: { type: 'object' as const, properties: { a: { type: 'string', description: 'first' }, b: { type: 'number', description: 'second' }, c: { type: 'array', items: { type: 'string' } } }, required: ['a'] },
});

const toolNames = async (r: RouterProcess): Promise<string[]> => (await unary(r.client, 'ListTools', {}, 10_000)).tools.map((t: { name: string }) => t.name);
const serverStatus = async (r: RouterProcess, name: string) => (await unary(r.client, 'ListServers', {})).servers.find((s: { name: string }) => s.name === name);

test('pagination bomb (every tools/list page has a nextCursor): the listing stops at the page limit, the healthy backend is listed, memory stays bounded', async () => {
  let page = 0;
  const bomb = await startHostileServer('bomb', {
    listTools: (cursor) => {
      page++;
      const n = cursor ? Number(cursor.slice(1)) : 0;
      return { tools: Array.from({ length: 50 }, (_, i) => tool(`t${n}_${i}`)), nextCursor: `p${n + 1}` };
    },
  });
  hostile.push(bomb);
  // Control: the same router with the healthy backend only, for the memory figures.
  const control = await startRouterProcess({ MCP_BACKENDS: JSON.stringify([{ name: 'healthy', url: demoUrl }]) }, '127.0.0.1', 'control');
  await control.ready();
  await sleep(3_000);
  const controlMem = control.memory();
  await control.stop();

  const t0 = Date.now();
  const r = await startRouterProcess({ MCP_BACKENDS: JSON.stringify([{ name: 'healthy', url: demoUrl }, { name: 'bomb', url: bomb.url }]) });
  await r.ready(40_000);
  const readyMs = Date.now() - t0;
  const names = await toolNames(r);
  const pagesAtReady = page;
  await sleep(3_000); // any further paging would show here
  const mem = r.memory();
  const status = await serverStatus(r, 'bomb');
  const metrics = await r.metrics();
  const refused = sample(metrics, 'mcp_router_backend_listings_refused_total{backend="static:bomb",limit="pages"}');
  report('2 pagination bomb', {
    limitPages: 100,
    pagesServedByBomb: page,
    pagesAtReady,
    readyMs,
    tools: names.length,
    healthyListed: names.includes('healthy__echo'),
    bombEntries: names.filter((n) => n.startsWith('bomb__')).length,
    rssMb: mem.rssMb,
    peakRssMb: mem.peakMb,
    controlRssMb: controlMem.rssMb,
    controlPeakRssMb: controlMem.peakMb,
    lastError: status.lastError,
    refusedMetric: refused,
  });
  expect(names).toEqual(expect.arrayContaining(['healthy__echo', 'healthy__slow']));
  expect(names.filter((n) => n.startsWith('bomb__'))).toEqual([]);
  expect(status.lastError).toMatch(/more than 100 pages \(MCP_ROUTER_LISTING_MAX_PAGES\)/);
  expect(refused).toBeGreaterThanOrEqual(1);
  // At most the first listing and its coalesced second (the backend's session coming up triggers one), each 100 pages + the one refused.
  expect(page).toBeLessThanOrEqual(2 * 101);
  // Without a bound the router paged ~1,000 times a second and its RSS grew by hundreds of MB.
  expect(mem.peakMb).toBeLessThan(controlMem.peakMb + 64);
  expect(await r.stop()).toEqual({ code: 0, signal: null });
});

test('too many items, too many bytes, or a listing that pages slowly for ever: each is refused by its own bound; the others are listed before the slow one ends', async () => {
  const slowPage = 250;
  const DEADLINE = 8_000;
  const small = (name: string) => ({ name, inputSchema: { type: 'object' as const } });
  const items = await startHostileServer('items', { listTools: (cursor) => (cursor ? { tools: Array.from({ length: 300 }, (_, i) => small(`b${i}`)) } : { tools: Array.from({ length: 300 }, (_, i) => small(`a${i}`)), nextCursor: 'next' }) });
  const bytes = await startHostileServer('bytes', { listTools: () => ({ tools: [{ ...tool('big'), description: 'x'.repeat(150_000) }] }) });
  const drip = await startHostileServer('drip', {
    listTools: async (cursor) => {
      await sleep(slowPage);
      const n = cursor ? Number(cursor.slice(1)) : 0;
      return { tools: [tool(`d${n}`)], nextCursor: `p${n + 1}` };
    },
  });
  hostile.push(items, bytes, drip);
  const r = await startRouterProcess({
    MCP_BACKENDS: JSON.stringify([
      { name: 'healthy', url: demoUrl },
      { name: 'items', url: items.url },
      { name: 'bytes', url: bytes.url },
      { name: 'drip', url: drip.url },
    ]),
    MCP_ROUTER_LISTING_MAX_ITEMS: '500',
    MCP_ROUTER_LISTING_MAX_BYTES: '100000',
    MCP_ROUTER_LISTING_TIMEOUT_MS: String(DEADLINE),
  });
  const t0 = Date.now();
  // The healthy backend's tools show while the slow listing still runs.
  let healthyMs = -1;
  while (Date.now() - t0 < 20_000) {
    if ((await toolNames(r).catch(() => [] as string[])).includes('healthy__echo')) {
      healthyMs = Date.now() - t0;
      break;
    }
    await sleep(50);
  }
  await r.ready(30_000);
  const readyMs = Date.now() - t0;
  const names = await toolNames(r);
  const metrics = await r.metrics();
  const refusedBy = (b: string, limit: string) => sample(metrics, `mcp_router_backend_listings_refused_total{backend="static:${b}",limit="${limit}"}`);
  const statuses = Object.fromEntries(await Promise.all(['items', 'bytes', 'drip'].map(async (n) => [n, (await serverStatus(r, n)).lastError as string])));
  report('2 listing bounds', {
    healthyListedAfterMs: healthyMs,
    readyMs,
    listingTimeoutMs: DEADLINE,
    refused: { items: refusedBy('items', 'items'), bytes: refusedBy('bytes', 'bytes'), drip: refusedBy('drip', 'timeout') },
    statuses,
  });
  expect(healthyMs).toBeGreaterThanOrEqual(0);
  // Listed well before the slow listing's deadline (the catalogue waited for every backend before).
  expect(healthyMs).toBeLessThan(DEADLINE - 2_000);
  expect(readyMs).toBeLessThan(DEADLINE + 10_000);
  expect(names.filter((n) => /^(items|bytes|drip)__/.test(n))).toEqual([]);
  expect(names).toContain('healthy__echo');
  expect(statuses.items).toMatch(/more than 500 items \(MCP_ROUTER_LISTING_MAX_ITEMS\)/);
  expect(statuses.bytes).toMatch(/more than 100000 bytes of items \(MCP_ROUTER_LISTING_MAX_BYTES\)/);
  expect(statuses.drip).toMatch(new RegExp(`not complete within ${DEADLINE} ms \\(MCP_ROUTER_LISTING_TIMEOUT_MS\\)`));
  expect(refusedBy('items', 'items')).toBeGreaterThanOrEqual(1);
  expect(refusedBy('bytes', 'bytes')).toBeGreaterThanOrEqual(1);
  expect(refusedBy('drip', 'timeout')).toBeGreaterThanOrEqual(1);
  // A refused backend is still called for what it is: its status shows it healthy, only its listing is refused.
  expect((await serverStatus(r, 'bytes')).healthy).toBe(true);
  expect(await r.stop()).toEqual({ code: 0, signal: null });
});
