/**
 * Registrations under the router service are the routers a front-door cancellation is passed to,
 * with its session ID (router-app/src/discovery/router-peers.ts). A registration that is no router
 * could have a router send session IDs to an address of its choosing, answer each with as much as
 * it liked (read whole), and multiply what one cancellation costs by registering many times. Now a
 * peer must be an IP address inside MCP_ROUTER_BACKEND_ALLOWED_CIDRS, at most 256 are taken (by ID),
 * and a peer's answer is read up to 4 KiB. Real Consul (Debian's 1.8.7), the router as a process
 * registered in it, the official SDK client on its MCP door, peers as real HTTP servers on loopback.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { MAX_ROUTER_PEERS } from '../../router-app/src/discovery/router-peers';
import { ConsulAgent, startConsulAgent } from '../support/consul-agent';
import { connectMcp, HostileServer, killLeftovers, postToSession, report, RouterProcess, sleep, startHostileServer, startRouterProcess, waitUntil } from './harness';

jest.setTimeout(180_000);

/** An HTTP server standing in for a peer's admin port: counts the cancellations it gets, answers `answer`. */
async function startPeer(host: string, answer: () => string) {
  const bodies: string[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    bodies.push(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json' }).end(answer());
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  return { port: (server.address() as net.AddressInfo).port, bodies, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

let consul: ConsulAgent;
let backend: HostileServer;
let router: RouterProcess;
let mcp: Client;
let transport: StreamableHTTPClientTransport;
const peers: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  consul = await startConsulAgent();
  backend = await startHostileServer('plain', {}, consul.address);
  router = await startRouterProcess(
    {
      CONSUL_HOST: consul.address,
      CONSUL_PORT: String(consul.httpPort),
      CONSUL_REGISTER: 'true',
      MCP_BACKENDS: JSON.stringify([{ name: 'plain', url: backend.url }]),
      MCP_ROUTER_BACKEND_ALLOWED_CIDRS: `${consul.address}/32`,
    },
    consul.address,
    'peers-router',
  );
  await router.ready();
  ({ client: mcp, transport } = await connectMcp(router, 'router-peers-test'));
});

afterAll(async () => {
  await mcp?.close().catch(() => undefined);
  await router?.stop();
  await backend?.close();
  for (const p of peers) await p.close();
  await killLeftovers();
  await consul?.stop();
});

const registerPeer = (id: string, address: string, adminPort: number) =>
  consul.api('/v1/agent/service/register', { method: 'PUT', body: JSON.stringify({ ID: id, Name: 'mcp-router', Address: address, Port: 50051, Meta: { admin_port: String(adminPort) } }) });
const deregister = (id: string) => consul.api(`/v1/agent/service/deregister/${id}`, { method: 'PUT' });
const refusals = (id: string) => router.proc.tail(5000).split('\n').filter((l) => l.includes('router peer registration refused') && l.includes(`"id":"${id}"`));

/** A notifications/cancelled for a request this router does not run: it is passed to every peer. */
async function cancelElsewhere(requestId: number): Promise<void> {
  const res = await postToSession(router, transport, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'test' } });
  expect(res.status).toBe(202);
}

test('a peer outside the allowed ranges or named by host gets no session ID; a peer answering 8 MiB costs a router 4 KiB of it', async () => {
  const last = Number(consul.address.split('.')[3]);
  const outsideAddress = `${consul.address.split('.').slice(0, 3).join('.')}.${last === 254 ? 253 : last + 1}`;
  const outside = await startPeer(outsideAddress, () => '{"status":200,"cancelled":false}');
  const huge = await startPeer(consul.address, () => `{"cancelled":false,"pad":"${'x'.repeat(8 * 1024 * 1024)}"}`);
  peers.push(outside, huge);
  await registerPeer('outside-1', outsideAddress, outside.port);
  await registerPeer('named-1', 'localhost', huge.port);
  await registerPeer('v6-1', '::1', huge.port);
  for (let i = 0; i < 20; i++) await registerPeer(`huge-${String(i).padStart(2, '0')}`, consul.address, huge.port);
  await waitUntil('outside-1, named-1 and v6-1 refused', async () => refusals('outside-1').length > 0 && refusals('named-1').length > 0 && refusals('v6-1').length > 0, 20_000, 100);
  await sleep(500);
  const before = router.memory();
  for (let i = 0; i < 3; i++) {
    const seen = huge.bodies.length;
    await cancelElsewhere(1_000 + i);
    await waitUntil('the cancellation reached the 20 peers', async () => huge.bodies.length === seen + 20, 10_000, 50);
    await sleep(300);
  }
  const after = router.memory();
  const figures = {
    cancellationsAtOutsidePeer: outside.bodies.length,
    cancellationsAtAllowedPeers: huge.bodies.length,
    sessionIdSent: huge.bodies[0]?.includes(transport.sessionId!),
    outsideReason: JSON.parse(refusals('outside-1')[0]).reason,
    namedReason: JSON.parse(refusals('named-1')[0]).reason,
    peakRssMb: { before: before.peakMb, after: after.peakMb },
  };
  report('router peers: addresses and answers', figures);
  expect(outside.bodies).toEqual([]);
  expect(figures.cancellationsAtAllowedPeers).toBe(60);
  expect(figures.sessionIdSent).toBe(true);
  expect(figures.outsideReason).toBe(`address ${outsideAddress} is outside MCP_ROUTER_BACKEND_ALLOWED_CIDRS`);
  expect(figures.namedReason).toBe('address must be an IPv4 address, as routers advertise; received "localhost"');
  expect(JSON.parse(refusals('v6-1')[0]).reason).toBe('address must be an IPv4 address, as routers advertise; received "::1"');
  // 60 answers of 8 MiB read whole would be 480 MiB through the router's heap.
  expect(after.peakMb - before.peakMb).toBeLessThan(64);
  for (let i = 0; i < 20; i++) await deregister(`huge-${String(i).padStart(2, '0')}`);
  for (const id of ['outside-1', 'named-1', 'v6-1']) await deregister(id);
});

test(`a flood of router registrations: one cancellation goes to ${MAX_ROUTER_PEERS} peers at most, the same ones on every router (by ID)`, async () => {
  const good = await startPeer(consul.address, () => '{"status":200,"cancelled":false}');
  peers.push(good);
  const ids = Array.from({ length: 300 }, (_, i) => `flood-${String(i).padStart(3, '0')}`);
  for (const id of ids) await registerPeer(id, consul.address, good.port);
  await waitUntil('flood-299 refused', async () => refusals('flood-299').length > 0, 30_000, 100);
  await cancelElsewhere(2_000);
  await waitUntil(`${MAX_ROUTER_PEERS} cancellations`, async () => good.bodies.length >= MAX_ROUTER_PEERS, 20_000, 50);
  await sleep(1_000);
  const refused = ids.filter((id) => refusals(id).length > 0);
  report('router peers: registration flood', { registered: ids.length, cancellationsSent: good.bodies.length, refused: refused.length, firstRefused: refused[0], reason: JSON.parse(refusals('flood-299')[0]).reason });
  expect(good.bodies).toHaveLength(MAX_ROUTER_PEERS);
  expect(refused).toEqual(ids.slice(MAX_ROUTER_PEERS));
  for (const id of ids) await deregister(id);
});
