/** The backend policy on its own: allowed ranges (net.BlockList), namespace rules, and the guarded lookup. */
import { BackendPolicy, guardedLookup, parseCidrList, parseNamespaceRules, Refusal } from '../../router-app/src/discovery/backend-policy';
import { ROUTER_DEFAULTS } from '../../router-app/src/contract';

const defaults = new BackendPolicy(parseCidrList(ROUTER_DEFAULTS.backendAllowedCidrs));
const reason = (r: unknown) => (r instanceof Refusal ? `${r.kind}: ${r.reason}` : 'allowed');

test('the default ranges: loopback and private allowed; link-local (metadata), public, unspecified, multicast refused', () => {
  for (const ok of ['127.0.0.1', '10.1.2.3', '172.16.0.9', '172.31.255.254', '192.168.1.1', '::1', 'fd00::5']) expect(reason(defaults.admit(ok, 'x'))).toBe('allowed');
  for (const bad of ['169.254.169.254', '169.254.170.2', '8.8.8.8', '0.0.0.0', '224.0.0.1', '172.32.0.1', 'fe80::1', '2001:db8::1', '100.100.100.200']) {
    expect(reason(defaults.admit(bad, 'x'))).toBe(`address: address ${bad} is outside MCP_ROUTER_BACKEND_ALLOWED_CIDRS`);
  }
  // A host name is not judged by its text: its guard checks what it resolves to.
  expect(reason(defaults.admit('metadata.google.internal', 'x'))).toBe('allowed');
});

test('namespace rules: exact names, prefixes, ranges per namespace; a bare entry allows any allowed address', () => {
  const p = new BackendPolicy(parseCidrList('10.0.0.0/8'), parseNamespaceRules('demo@10.0.1.0/24,demo@10.0.2.7,team-*,open,open@10.9.9.9'));
  expect(reason(p.admit('10.0.1.5', 'demo'))).toBe('allowed');
  expect(reason(p.admit('10.0.2.7', 'demo'))).toBe('allowed');
  expect(reason(p.admit('10.0.3.1', 'demo'))).toBe('namespace: namespace "demo" may only be served from 10.0.1.0/24, 10.0.2.7/32 (MCP_ROUTER_BACKEND_ALLOWED_NAMESPACES); address 10.0.3.1 is not');
  expect(reason(p.admit('10.5.5.5', 'team-search'))).toBe('allowed');
  expect(reason(p.admit('10.5.5.5', 'open'))).toBe('allowed');
  expect(reason(p.admit('10.5.5.5', 'demo2'))).toBe('namespace: namespace "demo2" is not in MCP_ROUTER_BACKEND_ALLOWED_NAMESPACES');
  // The allowed ranges still hold for every namespace.
  expect(reason(p.admit('192.168.0.1', 'team-x'))).toBe('address: address 192.168.0.1 is outside MCP_ROUTER_BACKEND_ALLOWED_CIDRS');
});

test('the guarded lookup resolves as dns.lookup does and refuses a name whose addresses are all outside the ranges', async () => {
  const onlyTen = new BackendPolicy(parseCidrList('10.0.0.0/8')).guardFor('x');
  const loopback = defaults.guardFor('x');
  if (onlyTen instanceof Refusal || loopback instanceof Refusal) throw new Error('unexpected refusal');
  const lookup = (guard: typeof loopback) =>
    new Promise<{ err?: NodeJS.ErrnoException; addresses?: unknown }>((resolve) =>
      (guardedLookup(guard) as unknown as (h: string, o: object, cb: (e: NodeJS.ErrnoException | null, a: unknown) => void) => void)('localhost', { all: true }, (err, addresses) => resolve({ err: err ?? undefined, addresses })),
    );
  const refused = await lookup(onlyTen);
  expect(refused.err?.code).toBe('ERR_BACKEND_ADDRESS_REFUSED');
  expect(refused.err?.message).toMatch(/^host localhost resolves to .*outside MCP_ROUTER_BACKEND_ALLOWED_CIDRS/);
  const allowed = await lookup(loopback);
  expect(allowed.err).toBeUndefined();
  expect((allowed.addresses as Array<{ address: string }>).map((a) => a.address)).toEqual(expect.arrayContaining([expect.stringMatching(/^(127\.0\.0\.1|::1)$/)]));
});
