/**
 * A resource template a backend chose, a URI a client chose: what matching them costs the router.
 *
 * ReadResource of a URI no server lists tries every server's resource templates. The SDK's matcher
 * (`UriTemplate.match`) backtracks: `x://{+a}{+b}{+c}z` against 4,000 characters took 9 s, on the
 * router's only thread, so one request stalled every call of every client. The router now matches
 * on RE2 (linear time, router-app/src/mcp/uri-template-matcher.ts) and takes URIs up to 16,384
 * characters (MAX_RESOURCE_URI_LENGTH). Real processes: the router, real MCP servers (the SDK's),
 * the router's gRPC client and the official SDK client on the MCP door.
 */
import * as grpc from '@grpc/grpc-js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { unary } from '../../scripts/local-platform/router-client';
import { MAX_RESOURCE_URI_LENGTH } from '../../router-app/src/routing/call-path';
import { MAX_TEMPLATE_EXPRESSIONS, MAX_TEMPLATE_LENGTH } from '../../router-app/src/mcp/catalog';
import { blocks } from '../support/interop/harness';
import { connectMcp, HostileServer, killLeftovers, report, RouterProcess, startHostileServer, startRouterProcess } from './harness';

jest.setTimeout(90_000);

afterAll(killLeftovers);

let templated: HostileServer;
let quiet: HostileServer;
let catchAll: HostileServer;
let router: RouterProcess;
let mcp: Client;

beforeAll(async () => {
  templated = await startHostileServer('templated', {
    resourceTemplates: [
      { uriTemplate: 'x://{+a}{+b}{+c}z', name: 'cubic' },
      { uriTemplate: 'x://{a}-{b}', name: 'quadratic' },
      { uriTemplate: 'items://{id}', name: 'item' },
      // Past the bounds (MAX_TEMPLATE_EXPRESSIONS, MAX_TEMPLATE_LENGTH): left out.
      { uriTemplate: `many://${Array.from({ length: MAX_TEMPLATE_EXPRESSIONS + 1 }, (_, i) => `{v${i}}`).join('/')}`, name: 'many' },
      { uriTemplate: `long://${'x'.repeat(MAX_TEMPLATE_LENGTH)}/{id}`, name: 'long' },
    ],
  });
  quiet = await startHostileServer('quiet', {});
  // A server whose template takes any URI, under a namespace that sorts first.
  catchAll = await startHostileServer('aaa', { resourceTemplates: [{ uriTemplate: '{+uri}', name: 'anything' }] });
  router = await startRouterProcess({
    MCP_BACKENDS: JSON.stringify([
      { name: 'templated', url: templated.url },
      { name: 'quiet', url: quiet.url },
      { name: 'aaa', url: catchAll.url },
    ]),
  });
  await router.ready();
  ({ client: mcp } = await connectMcp(router, 'uri-templates-test'));
});

afterAll(async () => {
  await mcp?.close().catch(() => undefined);
  await router?.stop();
  await templated?.close();
  await quiet?.close();
  await catchAll?.close();
});

const statusOf = (err: unknown) => grpc.status[(err as { code: number }).code];

const readBy = async (uri: string) => blocks((await unary<{ contents: unknown }>(router.client, 'ReadResource', { uri })).contents).map((c) => [c.uri, c.text]);

test("a URI is read from the server whose template pins down most of it: a catch-all template ({+uri}) listed first takes only what no other template matches", async () => {
  expect(await readBy('items://42')).toEqual([['items://42', 'read by templated']]);
  expect(await readBy('x://one-two')).toEqual([['x://one-two', 'read by templated']]);
  expect(await readBy('other://thing')).toEqual([['other://thing', 'read by aaa']]);
});

test("URIs of the longest length taken, built to make the templates backtrack: every template tried in milliseconds (the catch-all, tried last, answers), and another client's calls run on meanwhile", async () => {
  const uris = [`x://${'a'.repeat(MAX_RESOURCE_URI_LENGTH - 4)}`, `x://${'-'.repeat(MAX_RESOURCE_URI_LENGTH - 5)}/`];
  const took: number[] = [];
  const control: number[] = [];
  let reading = true;
  // Another client's calls to another server, the whole time.
  const others = (async () => {
    while (reading) {
      const started = Date.now();
      await unary(router.client, 'CallTool', { name: 'quiet__ping', arguments: {} });
      control.push(Date.now() - started);
    }
  })();
  for (const uri of uris) {
    expect(uri).toHaveLength(MAX_RESOURCE_URI_LENGTH);
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const read = await readBy(uri);
      took.push(Date.now() - started);
      expect(read).toEqual([[uri, 'read by aaa']]);
    }
  }
  reading = false;
  await others;
  report('uri templates: hostile URIs', { uriLength: MAX_RESOURCE_URI_LENGTH, readResourceMs: took, controlCalls: control.length, controlMaxMs: Math.max(...control) });
  // The SDK's matcher took 9 s for the first at 4,000 characters (this one is 16,380).
  expect(Math.max(...took)).toBeLessThan(1_000);
  expect(control.length).toBeGreaterThan(0);
  expect(Math.max(...control)).toBeLessThan(1_000);
});

test('a longer URI is an invalid argument naming the limit, on both doors; the router answers as before', async () => {
  const uri = `x://${'a'.repeat(MAX_RESOURCE_URI_LENGTH)}`;
  const err = (await unary(router.client, 'ReadResource', { uri }).then(() => undefined, (e: unknown) => e)) as { code: number; details: string };
  expect(statusOf(err)).toBe('INVALID_ARGUMENT');
  expect(err.details).toContain(`uri is ${uri.length} characters long; the router reads resources by URIs of at most ${MAX_RESOURCE_URI_LENGTH} characters`);
  const viaMcp = await mcp.readResource({ uri }).then(() => undefined, (e: unknown) => e);
  expect(viaMcp).toBeInstanceOf(McpError);
  expect((viaMcp as McpError).code).toBe(-32602);
  expect((viaMcp as McpError).message).toContain(`at most ${MAX_RESOURCE_URI_LENGTH} characters`);
  expect((await mcp.readResource({ uri: 'items://7' })).contents).toEqual([{ uri: 'items://7', text: 'read by templated' }]);
});

test(`a template with more than ${MAX_TEMPLATE_EXPRESSIONS} expressions or longer than ${MAX_TEMPLATE_LENGTH} characters is left out, logged once; the others are listed`, async () => {
  const listed = await unary<{ resourceTemplates: Array<{ name: string }> }>(router.client, 'ListResourceTemplates', { server: 'templated' });
  expect(listed.resourceTemplates.map((t) => t.name).sort()).toEqual(['cubic', 'item', 'quadratic']);
  const lines = router.proc.tail(4000).split('\n').filter((l) => l.includes('resource template longer than'));
  expect(lines.filter((l) => l.includes('many://'))).toHaveLength(1);
  expect(lines.filter((l) => l.includes('long://'))).toHaveLength(1);
  const err = await unary(router.client, 'ReadResource', { uri: `many://${Array.from({ length: MAX_TEMPLATE_EXPRESSIONS + 1 }, () => 'a').join('/')}` }).then(() => undefined, (e: unknown) => e);
  // The catch-all of 'aaa' reads it: the left-out template owns nothing.
  expect(err).toBeUndefined();
});
