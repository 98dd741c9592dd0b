/**
 * The local platform's configs, produced by the same pure renderers the cdktf
 * constructs use (renderConsulAgentConfig, renderHaproxyConfig), with only
 * addresses and ports moved to the loopback plan.
 */
import { ConsulLogLevel, renderConsulAgentConfig, resolveConsulAgentConfig } from '../../constructs/consul-agent-config';
import { BalanceAlgorithm, HaproxyMode, renderHaproxyConfig, resolveHaproxyConfigOptions, TimeoutOptions } from '../../haproxy-templates';
import { PORTS } from '../../router-app/src/contract';

export interface PlatformPorts {
  readonly consulHttp: number;
  readonly consulDns: number;
  readonly consulSerfLan: number;
  readonly consulServer: number;
  readonly haproxyFrontend: number;
  readonly haproxyStats: number;
  readonly haproxyMcp: number;
  readonly router: number;
  readonly routerAdmin: number;
  readonly routerMcp: number;
  readonly backend: number;
}

/** The same ports the containers use; each part has its own loopback address. */
export const DEFAULT_PORTS: PlatformPorts = {
  consulHttp: PORTS.consulHttp,
  consulDns: PORTS.consulDns,
  consulSerfLan: PORTS.consulSerfLan,
  consulServer: PORTS.consulServer,
  haproxyFrontend: PORTS.grpc,
  haproxyStats: PORTS.haproxyStats,
  haproxyMcp: PORTS.mcp,
  router: PORTS.grpc,
  routerAdmin: PORTS.routerAdmin,
  routerMcp: PORTS.mcp,
  backend: PORTS.demoBackend,
};

export function consulConfigFor(address: string, dataDir: string, ports: PlatformPorts): string {
  return renderConsulAgentConfig(resolveConsulAgentConfig({
    nodeName: 'consul-local',
    dataDir,
    bindAddress: address,
    clientAddress: address,
    advertiseAddress: address,
    logLevel: ConsulLogLevel.WARN,
    ports: { http: ports.consulHttp, dns: ports.consulDns, serfLan: ports.consulSerfLan, server: ports.consulServer },
  }));
}

export interface HaproxyConfigFor {
  readonly address: string;
  readonly ports: PlatformPorts;
  readonly mode: HaproxyMode;
  readonly balance: BalanceAlgorithm;
  readonly maxInstances: number;
  /** The routers' MCP_ROUTER_MAX_CALL_MS: HAProxy's server and tunnel timeouts derive from it. @default the router's default */
  readonly maxCallMs?: number;
  /** @default the renderer's (server and tunnel derived from maxCallMs) */
  readonly timeouts?: TimeoutOptions;
}

export function haproxyConfigFor(o: HaproxyConfigFor): string {
  return renderHaproxyConfig(
    resolveHaproxyConfigOptions({
      mode: o.mode,
      balance: o.balance,
      maxInstances: o.maxInstances,
      frontend: { address: o.address, port: o.ports.haproxyFrontend },
      stats: { address: o.address, port: o.ports.haproxyStats },
      mcpFrontend: { address: o.address, port: o.ports.haproxyMcp },
      routerMcpPort: o.ports.routerMcp,
      nameservers: [{ address: o.address, port: o.ports.consulDns }],
      healthCheck: { port: o.ports.routerAdmin },
      maxCallMs: o.maxCallMs,
      timeouts: o.timeouts,
      // A host shell's file-descriptor limit is often lower than a container's.
      maxconn: 4000,
    }),
  );
}
