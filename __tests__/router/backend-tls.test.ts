/**
 * MCP backends over HTTPS with a private CA made here (openssl), static and
 * discovered in a real Consul: the CA bundle (MCP_BACKEND_CA_FILE), the server
 * name for SNI and verification when the address is an IP, and a certificate
 * that fails verification → UNAVAILABLE saying so, never plain HTTP instead.
 */
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from '../../router-app/src/config';
import { fromListValue } from '../../router-app/src/grpc/struct';
import { startRouter } from '../../router-app/src/router';
import { createRouterClient, unary } from '../../scripts/local-platform/router-client';
import { waitUntil } from '../../scripts/local-platform/managed-process';
import { ConsulAgent, startConsulAgent } from '../support/consul-agent';
import { DemoServerHandle, discoveringRouterEnv, routerFor, startDemoServer, struct } from '../support/demo-backends';

jest.setTimeout(90_000);

let dir: string;
let caFile: string;
let backend: DemoServerHandle;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-tls-'));
  // A private CA, and a server certificate it signs for the name mcp.internal only (no IP SAN).
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test MCP CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=mcp.internal');
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:mcp.internal\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  caFile = path.join(dir, 'ca.pem');
  backend = await startDemoServer({
    name: 'secure',
    tls: { key: fs.readFileSync(path.join(dir, 'server.key'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'server.pem'), 'utf8') },
  });
  expect(backend.url.startsWith('https://127.0.0.1:')).toBe(true);
});

afterAll(async () => {
  await backend?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const call = (client: ReturnType<typeof createRouterClient>, text: string) => unary(client, 'CallTool', { name: 'secure__echo', arguments: struct({ text }) });

test('static https backend: trusted through MCP_BACKEND_CA_FILE, verified against tlsServerName for an IP address', async () => {
  const r = await routerFor([{ name: 'secure', url: backend.url, tlsServerName: 'mcp.internal' } as never], { MCP_BACKEND_CA_FILE: caFile });
  try {
    const res = await call(r.client, 'over tls');
    expect(fromListValue(res.content)).toEqual([{ type: 'text', text: 'over tls' }]);
    expect(backend.sessions()).toBeGreaterThanOrEqual(1);
  } finally {
    await r.close();
  }
});

test.each([
  ['no CA file: the private CA is not trusted', {}, 'mcp.internal', /TLS certificate verification failed.*(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER)/],
  ['CA file but no server name: the IP is not in the certificate', { MCP_BACKEND_CA_FILE: '' }, undefined, /TLS certificate verification failed.*ERR_TLS_CERT_ALTNAME_INVALID/],
])('%s -> UNAVAILABLE naming the TLS failure, no plain-HTTP fallback', async (_label, env: Record<string, string>, serverName, pattern) => {
  const sessionsBefore = backend.sessions();
  const overrides = { ...env };
  if ('MCP_BACKEND_CA_FILE' in overrides) overrides.MCP_BACKEND_CA_FILE = caFile;
  const r = await routerFor([{ name: 'secure', url: backend.url, ...(serverName ? { tlsServerName: serverName } : {}) } as never], overrides, 0);
  try {
    const err = await call(r.client, 'x').catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    expect((err as grpc.ServiceError).details).toMatch(pattern);
    const servers = await unary(r.client, 'ListServers', {});
    expect(servers.servers[0]).toMatchObject({ healthy: false, url: backend.url });
    expect(servers.servers[0].lastError).toMatch(/TLS certificate verification failed/);
    // Nothing reached the MCP server, over TLS or otherwise.
    expect(backend.sessions()).toBe(sessionsBefore);
  } finally {
    await r.close();
  }
});

test('MCP_BACKEND_CA_FILE that is missing or not PEM fails at start, naming the variable and value', () => {
  const missing = path.join(dir, 'nope.pem');
  expect(() => loadConfig({ MCP_BACKEND_CA_FILE: missing })).toThrow(ConfigError);
  expect(() => loadConfig({ MCP_BACKEND_CA_FILE: missing })).toThrow(new RegExp(`MCP_BACKEND_CA_FILE=${JSON.stringify(missing).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot be read \\(ENOENT\\)`));
  const notPem = path.join(dir, 'san.ext');
  expect(() => loadConfig({ MCP_BACKEND_CA_FILE: notPem })).toThrow(/MCP_BACKEND_CA_FILE=.*not a PEM certificate bundle/);
  expect(() => loadConfig({ MCP_BACKENDS: '[{"name":"a","url":"https://x/mcp","tlsServerName":"bad name!"}]' })).toThrow(/tlsServerName must be a host name/);
});

describe('discovered in Consul with mcp_scheme=https and mcp_tls_server_name', () => {
  let consul: ConsulAgent;
  beforeAll(async () => {
    consul = await startConsulAgent();
  });
  afterAll(async () => {
    await consul?.stop();
  });

  test('the router reaches it over TLS; a registration with an unknown scheme is refused and logged', async () => {
    const port = Number(new URL(backend.url).port);
    await consul.api('/v1/agent/service/register', {
      method: 'PUT',
      body: JSON.stringify({
        ID: 'secure-1',
        Name: 'secure',
        Tags: ['mcp-server'],
        Address: '127.0.0.1',
        Port: port,
        Meta: { mcp_path: '/mcp', mcp_scheme: 'https', mcp_tls_server_name: 'mcp.internal' },
        Check: { TCP: `127.0.0.1:${port}`, Interval: '1s' },
      }),
    });
    await consul.api('/v1/agent/service/register', {
      method: 'PUT',
      body: JSON.stringify({ ID: 'odd-1', Name: 'odd', Tags: ['mcp-server'], Address: '127.0.0.1', Port: port, Meta: { mcp_scheme: 'gopher' }, Check: { TCP: `127.0.0.1:${port}`, Interval: '1s' } }),
    });
    const logged: string[] = [];
    const router = await startRouter(
      loadConfig(discoveringRouterEnv(consul, { MCP_BACKEND_CA_FILE: caFile, LOG_LEVEL: 'warn' })),
      { logger: require('pino')({ level: 'warn' }, { write: (line: string) => logged.push(line) }) },
    );
    const client = createRouterClient(`127.0.0.1:${router.port}`);
    try {
      await waitUntil('the https backend is in the catalogue', async () => router.catalog.snapshot.tools.has('secure__echo'), 20_000);
      const res = await call(client, 'discovered over tls');
      expect(fromListValue(res.content)).toEqual([{ type: 'text', text: 'discovered over tls' }]);
      const servers = (await unary(client, 'ListServers', {})).servers;
      expect(servers.map((s: any) => `${s.instanceId} ${s.url}`)).toEqual([`secure-1 https://127.0.0.1:${port}/mcp`]);
      await waitUntil('the refused registration is logged', async () => logged.some((l) => /MCP server registration refused/.test(l) && /mcp_scheme must be http or https; received \\"gopher\\"/.test(l)), 10_000);
    } finally {
      client.close();
      await router.close();
    }
  });
});

// A raw TCP probe on the backend's port: proves the port speaks only TLS (a plain HTTP request gets no MCP answer).
test('the backend port speaks TLS only (what the no-fallback checks rely on)', async () => {
  const port = Number(new URL(backend.url).port);
  const answer = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}'));
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    const timer = setTimeout(() => s.destroy(), 2000);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on('error', () => resolve(got));
  });
  expect(answer).not.toMatch(/jsonrpc/);
});
