/**
 * The README's "Register your own MCP server" snippets, run as written
 * (only the address and port moved to a demo server on loopback) against a
 * real Consul agent and a real router: the curl payload and the
 * `consul services register` HCL file both make the server's tools callable.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../router-app/src/config';
import { fromListValue } from '../../router-app/src/grpc/struct';
import { startRouter } from '../../router-app/src/router';
import { waitUntil } from '../../scripts/local-platform/managed-process';
import { createRouterClient, unary } from '../../scripts/local-platform/router-client';
import { ConsulAgent, startConsulAgent } from '../support/consul-agent';
import { discoveringRouterEnv, startDemoServer, struct } from '../support/demo-backends';
import { requireTool } from '../support/tools';

jest.setTimeout(90_000);

const readme = fs.readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('### Register your own MCP server'));
const block = (lang: string) => {
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
  if (!m) throw new Error(`README's registration section has no \`\`\`${lang} block`);
  return m[1];
};

let consul: ConsulAgent;
beforeAll(async () => {
  consul = await startConsulAgent();
});
afterAll(async () => {
  await consul?.stop();
});

test('the curl payload and the HCL file register servers the router calls', async () => {
  const search = await startDemoServer({ name: 'search' });
  const plain = await startDemoServer({ name: 'files' });
  const searchPort = Number(new URL(search.url).port);
  const filesPort = Number(new URL(plain.url).port);

  // curl: the JSON after -d, sent as the README sends it.
  const curl = block('bash');
  const payload = /-d '([\s\S]*?)'\n/.exec(curl)?.[1];
  expect(payload).toBeDefined();
  const body = payload!.replace(/10\.0\.0\.7/g, '127.0.0.1').replace(/3000/g, String(searchPort));
  // (The README sends the operator token; this agent runs without ACLs, the ACL suite sends it to one with them.)
  expect(curl).toMatch(/curl -X PUT -H "X-Consul-Token: \$CONSUL_HTTP_TOKEN" http:\/\/127\.0\.0\.1:8500\/v1\/agent\/service\/register/);
  await consul.api('/v1/agent/service/register', { method: 'PUT', body });

  // HCL: written to a file and registered with the consul CLI, as the README says; made plain http on loopback.
  const hcl = block('hcl')
    .replace(/"search-1"/, '"files-1"')
    .replace(/name    = "search"/, 'name    = "files"')
    .replace(/namespace           = "search"/, 'namespace           = "files"')
    .replace(/search\.internal:443/g, `127.0.0.1:${filesPort}`)
    .replace(/address = "search\.internal"/, 'address = "127.0.0.1"')
    .replace(/port    = 443/, `port    = ${filesPort}`)
    .replace(/mcp_scheme          = "https"/, 'mcp_scheme          = "http"')
    .replace(/mcp_tls_server_name = "search\.internal"\n/, '');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-reg-'));
  const file = path.join(dir, 'files.hcl');
  fs.writeFileSync(file, hcl);
  execFileSync(requireTool('consul'), ['services', 'register', `-http-addr=${consul.url}`, file], { stdio: 'pipe' });

  const router = await startRouter(
    loadConfig(discoveringRouterEnv(consul)),
  );
  const client = createRouterClient(`127.0.0.1:${router.port}`);
  try {
    await waitUntil('both registered servers are in the catalogue', async () => router.catalog.snapshot.tools.has('search__echo') && router.catalog.snapshot.tools.has('files__echo'), 30_000);
    for (const ns of ['search', 'files']) {
      const res = await unary(client, 'CallTool', { name: `${ns}__whoami`, arguments: struct({}) });
      expect(fromListValue(res.content)).toEqual([{ type: 'text', text: ns }]);
    }
    // The README's deregistration drops the tools.
    await consul.api('/v1/agent/service/deregister/search-1', { method: 'PUT' });
    execFileSync(requireTool('consul'), ['services', 'deregister', `-http-addr=${consul.url}`, file], { stdio: 'pipe' });
    await waitUntil('tools gone after deregistration', async () => !router.catalog.snapshot.tools.has('search__echo') && !router.catalog.snapshot.tools.has('files__echo'), 30_000);
  } finally {
    client.close();
    await router.close();
    await search.close();
    await plain.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
