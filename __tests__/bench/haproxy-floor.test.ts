/**
 * The HAProxy config of rows 3c and 8d (bench/bench-haproxy.ts): the shipped http-mode config with the Consul
 * server-template swapped for one static server and the health check removed. The test renders the
 * real config, so a renderer change that the swap no longer matches fails here, not mid-bench.
 */
import { benchHaproxyConfig, staticServerConfig } from '../../bench/bench-haproxy';
import type { HaproxyMode } from '../../haproxy-templates';

const platform = { ports: { consulDns: 8600, routerAdmin: 9090 }, block: { infraAddress: '127.9.9.1', prefix: '127.9.9' } } as unknown as Parameters<typeof benchHaproxyConfig>[0];
const shipped = benchHaproxyConfig(platform, { name: 'http', address: '127.9.9.1', frontendPort: 1000, statsPort: 1001, options: { mode: 'http' as HaproxyMode } });

describe('the static-server HAProxy config of the floors (rows 3c, 8d)', () => {
  const cfg = staticServerConfig(shipped, [{ name: 'bare', address: '127.9.9.253:4321' }]);

  it('has one static h2 server and no Consul template or health check', () => {
    expect(cfg).toMatch(/^\s+server bare 127\.9\.9\.253:4321 proto h2$/m);
    expect(cfg).not.toMatch(/server-template|httpchk|http-check/);
  });

  it("lists several servers in order, at the template's indentation", () => {
    const many = staticServerConfig(shipped, [1, 2, 3].map((i) => ({ name: `bare${i}`, address: `127.9.9.${200 + i}:50051` })));
    expect(many.match(/^ {4}server bare\d 127\.9\.9\.20\d:50051 proto h2$/gm)).toEqual([1, 2, 3].map((i) => `    server bare${i} 127.9.9.${200 + i}:50051 proto h2`));
  });

  it('keeps every other line of the shipped config (mode, reuse, timeouts, retries, logging)', () => {
    const kept = shipped.split('\n').filter((l: string) => !/server-template|httpchk|http-check/.test(l));
    expect(cfg.split('\n').filter((l: string) => !/server bare/.test(l))).toEqual(kept);
    expect(cfg).toMatch(/http-reuse safe/);
    expect(cfg).toMatch(/option httplog/);
  });

  it('refuses a config whose backend it cannot recognise', () => {
    expect(() => staticServerConfig(shipped.replace(/server-template .*/, ''), [{ name: 'bare', address: '127.0.0.1:1' }])).toThrow(/server-template/);
  });
});
