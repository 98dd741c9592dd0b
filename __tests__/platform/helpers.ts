/**
 * Shared pieces of the platform scenario tests: SRV lookups through Consul's
 * DNS with the real `dig`, and a readable report line for measured figures.
 */
import { execFileSync } from 'node:child_process';
import { requireTool } from '../support/tools';
import type { LocalPlatform } from '../../scripts/local-platform/platform';

/** SRV targets' addresses for the router service, via `dig` against Consul DNS. */
export function digRouterSrv(platform: LocalPlatform): string[] {
  const out = execFileSync(
    requireTool('dig'),
    ['@' + platform.block.infraAddress, '-p', String(platform.ports.consulDns), '+bufsize=8192', '+noall', '+additional', '_mcp-router._tcp.service.consul', 'SRV'],
    { encoding: 'utf8', timeout: 10_000 },
  );
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[3] === 'A')
    .map((f) => f[4])
    .sort();
}

/** Prints a measured figure so it shows up in the test log (and CI output). */
export function report(scenario: string, figures: Record<string, unknown>): void {
  process.stdout.write(`[platform] ${scenario}: ${JSON.stringify(figures)}\n`);
}

/** max/min of per-router shares over the given routers (missing routers count 0). */
export function spread(byRouter: Record<string, number>, routerIds: readonly string[]): { shares: Record<string, number>; maxOverMin: number } {
  const counts = routerIds.map((id) => byRouter[id] ?? 0);
  const total = counts.reduce((a, b) => a + b, 0) || 1;
  const shares = Object.fromEntries(routerIds.map((id, i) => [id, Math.round((counts[i] / total) * 1000) / 1000]));
  return { shares, maxOverMin: Math.min(...counts) === 0 ? Infinity : Math.max(...counts) / Math.min(...counts) };
}
