/**
 * An HAProxy the bench owns, beside the local platform: the shipped config
 * (renderHaproxyConfig defaults) with only addresses and ports moved to the
 * platform's loopback plan, as scripts/local-platform/platform-config.ts does,
 * started already pinned to the load-generator CPU — so HAProxy's automatic
 * nbthread sees the one CPU it is given, as in a container with a cpuset.
 * (The platform's own HAProxy is started unpinned, i.e. with a thread per CPU
 * of the machine; pinning it afterwards would put 2 threads on 1 CPU.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchContext } from './context';
import { BenchProcess } from './procs';
import type { BalanceAlgorithm, HaproxyConfigOptions, HaproxyMode } from '../haproxy-templates';
import type { LocalPlatform } from '../scripts/local-platform/platform';

export interface BenchHaproxyOptions {
  /** File and process name suffix, e.g. "http". */
  readonly name: string;
  /** Listener address (loopback), e.g. the platform's infra address. */
  readonly address: string;
  readonly frontendPort: number;
  readonly statsPort: number;
  /** Renderer options on top of the shipped defaults (mode, balance, ...). */
  readonly options?: HaproxyConfigOptions;
  /** A text edit of the rendered config (bench-only additions such as an admin socket). */
  readonly edit?: (cfg: string) => string;
}

export interface BenchHaproxy {
  readonly proc: BenchProcess;
  /** host:port of the gRPC listener */
  readonly target: string;
  /** URL of the MCP listener (http://host:port/mcp), when the options enable it. */
  readonly mcpUrl?: string;
  readonly statsUrl: string;
  readonly configFile: string;
}

export function benchHaproxyConfig(platform: Pick<LocalPlatform, 'ports' | 'block'>, o: BenchHaproxyOptions): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { renderHaproxyConfig, resolveHaproxyConfigOptions } = require('../haproxy-templates') as typeof import('../haproxy-templates');
  const text = renderHaproxyConfig(resolveHaproxyConfigOptions({
    // The gRPC listener alone, unless an item asks for the MCP listener (options.enableMcp + mcpFrontend).
    enableMcp: false,
    mode: 'http' as HaproxyMode,
    balance: 'roundrobin' as BalanceAlgorithm,
    maxInstances: 10,
    frontend: { address: o.address, port: o.frontendPort },
    stats: { address: o.address, port: o.statsPort },
    nameservers: [{ address: platform.block.infraAddress, port: platform.ports.consulDns }],
    healthCheck: { port: platform.ports.routerAdmin },
    // As the local platform: a host shell's file-descriptor limit is often lower than a container's.
    maxconn: 4000,
    ...o.options,
  }));
  return o.edit ? o.edit(text) : text;
}

export async function startBenchHaproxy(ctx: BenchContext, platform: Pick<LocalPlatform, 'ports' | 'block' | 'workDir'>, o: BenchHaproxyOptions): Promise<BenchHaproxy> {
  const configFile = path.join(platform.workDir, `haproxy-${o.name}.cfg`);
  fs.writeFileSync(configFile, benchHaproxyConfig(platform, o));
  const statsUrl = `http://${o.address}:${o.statsPort}/`;
  const { proc } = await BenchProcess.start({
    name: `haproxy-${o.name}`,
    command: ctx.tools.haproxy!,
    args: ['-db', '-f', configFile],
    cpu: ctx.cpu.client,
    readyCheck: async () => (await fetch(statsUrl, { signal: AbortSignal.timeout(1_000) })).ok,
    readyTimeoutMs: 15_000,
  });
  const mcp = o.options?.mcpFrontend;
  const mcpUrl = mcp ? `http://${mcp.address}:${mcp.port}/mcp` : undefined;
  return { proc, target: `${o.address}:${o.frontendPort}`, ...(mcpUrl ? { mcpUrl } : {}), statsUrl, configFile };
}
