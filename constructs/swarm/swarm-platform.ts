/**
 * McpRouterPlatform's Swarm target: the checks of the platform props that
 * differ on a swarm, and the parts (overlay network, Consul service, router
 * service, HAProxy service). The platform calls these; they are not exported
 * from the package.
 */
import { Network } from '@cdktf/provider-docker/lib/network';
import { TerraformResource, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { HaproxyRoutingOptions } from '../../haproxy-templates';
import { CONSUL_DOMAIN, PATHS, PORTS } from '../../router-app/src/contract';
import { ContainerSecurityProps, SERVICE_NO_NEW_PRIVILEGES_REASON } from '../container-security';
import { RouterAuthProps } from '../router-auth';
import { asOwnProps, isUnresolved, propError } from '../validation';
import { ConsulService } from './consul-service';
import { HaproxyService } from './haproxy-service';
import { RouterService } from './router-service';
import { SWARM_DEFAULTS, SwarmProps, validateSwarmProps } from './swarm-options';

/** The platform props the Swarm target reads or refuses (a subset of McpRouterPlatformProps). */
export interface SwarmPlatformInput {
  readonly swarm?: SwarmProps;
  readonly publicBindAddress?: string;
  readonly adminBindAddress?: string;
  readonly auth?: RouterAuthProps;
  readonly routerHostPortBase?: number;
  readonly demoBackends?: string[];
  readonly routerCpus?: number;
  readonly routerMemoryMb?: number;
  readonly existingNetworkName?: string;
  readonly acl?: boolean;
  readonly consulStack?: TerraformStack;
  readonly externalMcpServers?: unknown[];
  readonly consulManagementTokenFile?: string;
  readonly consulProviderAddress?: string;
  readonly containerSecurity?: ContainerSecurityProps;
  readonly routerSecurity?: ContainerSecurityProps;
  readonly haproxySecurity?: ContainerSecurityProps;
  readonly consulSecurity?: ContainerSecurityProps;
}

/**
 * What a swarm cannot do as one host does, refused at synth by prop name:
 * published ports answer on every address of the nodes (no 127.0.0.1), so an
 * unauthenticated public door must be opened knowingly; admin ports are
 * published or not; per-router host ports and the demo containers do not apply.
 */
export function checkSwarmPlatformProps(scope: string, p: SwarmPlatformInput): void {
  validateSwarmProps(scope, 'swarm', p.swarm);
  if (p.publicBindAddress !== undefined && !isUnresolved(p.publicBindAddress) && p.publicBindAddress !== '0.0.0.0') {
    throw propError(scope, 'publicBindAddress', p.publicBindAddress, "'0.0.0.0' or unset with target SWARM (a port Swarm publishes answers on every address of the nodes)");
  }
  if (p.publicBindAddress === undefined && p.auth === undefined) {
    throw propError(
      scope,
      'publicBindAddress',
      undefined,
      "set with target SWARM and no auth: Swarm publishes the gRPC and MCP ports on every address of every node, so anyone who can reach a node could call every tool. Set auth, or set publicBindAddress: '0.0.0.0' to open them knowingly",
    );
  }
  const admin = p.adminBindAddress;
  if (admin !== undefined && !isUnresolved(admin) && admin !== '127.0.0.1' && admin !== '0.0.0.0') {
    throw propError(scope, 'adminBindAddress', admin, "'127.0.0.1' (not published: reach the stats page and Consul from the overlay network) or '0.0.0.0' (published on every node) with target SWARM");
  }
  if (p.routerHostPortBase !== undefined) throw propError(scope, 'routerHostPortBase', p.routerHostPortBase, 'unset with target SWARM (router tasks are reached through HAProxy or the overlay network)');
  if (p.demoBackends !== undefined && p.demoBackends.length > 0) {
    throw propError(scope, 'demoBackends', p.demoBackends, 'unset with target SWARM (run your MCP servers as services that register in Consul)');
  }
  // Not built for Swarm yet: the Consul ACLs (client agents, tokens), a separate Consul stack, external servers.
  const notYet = 'unset with target SWARM (Consul ACLs, the Consul stack and external MCP servers are built for target HOST only so far)';
  if (p.acl === true) throw propError(scope, 'acl', p.acl, `false or ${notYet}`);
  if (p.externalMcpServers !== undefined && p.externalMcpServers.length > 0) throw propError(scope, 'externalMcpServers', `${p.externalMcpServers.length} server(s)`, `empty or ${notYet}`);
  if (p.consulStack !== undefined) throw propError(scope, 'consulStack', p.consulStack.node.path, notYet);
  if (p.consulManagementTokenFile !== undefined) throw propError(scope, 'consulManagementTokenFile', p.consulManagementTokenFile, notYet);
  if (p.consulProviderAddress !== undefined) throw propError(scope, 'consulProviderAddress', p.consulProviderAddress, notYet);
  for (const prop of ['containerSecurity', 'routerSecurity', 'haproxySecurity', 'consulSecurity'] as const) {
    if (p[prop]?.noNewPrivileges === true) throw propError(scope, `${prop}.noNewPrivileges`, true, SERVICE_NO_NEW_PRIVILEGES_REASON);
  }
  // One limit each: the routers' lockdown limits and their Swarm resources cannot both set one.
  const own = p.routerSecurity;
  if (own?.cpus !== undefined && (p.routerCpus !== undefined || p.swarm?.routerResources?.limitCpus !== undefined)) {
    throw propError(scope, 'routerSecurity.cpus', own.cpus, 'unset when routerCpus or swarm.routerResources.limitCpus is set (one CPU limit)');
  }
  if (own?.memoryMb !== undefined && (p.routerMemoryMb !== undefined || p.swarm?.routerResources?.limitMemoryMb !== undefined)) {
    throw propError(scope, 'routerSecurity.memoryMb', own.memoryMb, 'unset when routerMemoryMb or swarm.routerResources.limitMemoryMb is set (one memory limit)');
  }
  const limits = p.swarm?.routerResources;
  if (p.routerCpus !== undefined && limits?.limitCpus !== undefined) throw propError(scope, 'swarm.routerResources.limitCpus', limits.limitCpus, 'unset when routerCpus is set (one CPU limit)');
  if (p.routerMemoryMb !== undefined && limits?.limitMemoryMb !== undefined) {
    throw propError(scope, 'swarm.routerResources.limitMemoryMb', limits.limitMemoryMb, 'unset when routerMemoryMb is set (one memory limit)');
  }
}

export interface SwarmPartsInput {
  readonly prefix: string;
  readonly serviceName: string;
  readonly instanceCount: number;
  readonly maxInstances: number;
  readonly routerImage: string;
  readonly swarm?: SwarmProps;
  /** Consul servers (the platform's consulServers). */
  readonly consulServers: number;
  readonly existingNetworkName?: string;
  /** When given, no Consul service is deployed. */
  readonly existingConsul?: { readonly host: string; readonly httpPort: number; readonly dnsPort: number };
  readonly consulImage?: string;
  readonly haproxyImage?: string;
  readonly publishAdmin: boolean;
  readonly ports: { readonly publicPort: number; readonly statsPort: number; readonly mcpPort?: number; readonly consulHttpPort?: number; readonly consulDnsPort?: number };
  readonly enableMcp: boolean;
  readonly routerEnvironment?: { [name: string]: string };
  readonly routerCpus?: number;
  readonly routerMemoryMb?: number;
  readonly sessionKeys?: string;
  readonly sessionKeysHostPath?: string;
  readonly auth?: RouterAuthProps;
  readonly backendCredentialsHostDir?: string;
  readonly tlsCertificateHostPath?: string;
  readonly statsAuthHostPath?: string;
  readonly haproxyConfig: HaproxyRoutingOptions;
  /** The parts' lockdowns (containerSecurity merged with each part's own). */
  readonly routerSecurity?: ContainerSecurityProps;
  readonly haproxySecurity?: ContainerSecurityProps;
  readonly consulSecurity?: ContainerSecurityProps;
}

export interface SwarmParts {
  readonly network?: Network;
  readonly networkName: string;
  readonly consul?: ConsulService;
  readonly consulHost: string;
  readonly routers: RouterService;
  readonly haproxy: HaproxyService;
}

const ID = 'McpRouterPlatform';

function dependOn(resource: TerraformResource, on: TerraformResource): void {
  resource.dependsOn = [...(resource.dependsOn ?? []), on.fqn];
}

/** The Swarm parts, under `scope` (the platform), reporting part errors as platform props. */
export function buildSwarmParts(scope: Construct, p: SwarmPartsInput): SwarmParts {
  const s = p.swarm ?? {};
  const subnet = s.subnet ?? SWARM_DEFAULTS.subnet;
  // routerCpus / routerMemoryMb 0 is "no limit": a lockdown setting (as on the host target), not a task limit.
  const zero = { ...(p.routerCpus === 0 ? { cpus: 0 } : {}), ...(p.routerMemoryMb === 0 ? { memoryMb: 0 } : {}) };
  const unlimited = Object.keys(zero).length > 0 ? zero : undefined;
  let network: Network | undefined;
  let networkName: string;
  if (p.existingNetworkName !== undefined) {
    networkName = p.existingNetworkName;
  } else {
    // Attachable: `docker run --network` can join it for troubleshooting, as the seed does.
    network = new Network(scope, 'Network', { name: `${p.prefix}-net`, driver: 'overlay', attachable: true, ipamConfig: [{ subnet }] });
    networkName = network.name;
  }

  let consul: ConsulService | undefined;
  let consulHost: string;
  let consulHttpPort: number;
  let consulDnsPort: number;
  if (p.existingConsul) {
    ({ host: consulHost, httpPort: consulHttpPort, dnsPort: consulDnsPort } = p.existingConsul);
  } else {
    consul = asOwnProps(ID, 'ConsulService', { image: 'consulImage', httpPublishedPort: 'consulHttpPort', dnsPublishedPort: 'consulDnsPort', servers: 'consulServers', placement: 'swarm.consulPlacement', security: 'consulSecurity' }, () =>
      new ConsulService(scope, 'Consul', {
        networkName,
        subnet,
        serviceName: `${p.prefix}-consul`,
        image: p.consulImage,
        servers: p.consulServers,
        publishAdmin: p.publishAdmin,
        publishMode: s.publishMode,
        httpPublishedPort: p.ports.consulHttpPort,
        dnsPublishedPort: p.ports.consulDnsPort,
        uiServiceName: p.serviceName,
        placement: s.consulPlacement,
        security: p.consulSecurity,
      }),
    );
    consulHost = consul.address;
    consulHttpPort = consul.httpPort;
    consulDnsPort = consul.dnsPort;
  }

  const routers = asOwnProps(
    ID,
    'RouterService',
    {
      instanceCount: 'instanceCount',
      maxInstances: 'maxInstances',
      image: 'routerImage',
      environment: 'routerEnvironment',
      sessionKeysHostPath: 'sessionKeysHostPath',
      auth: 'auth',
      backendCredentialsHostDir: 'backendCredentialsHostDir',
      update: 'swarm.routerUpdate',
      rollback: 'swarm.routerRollback',
      restart: 'swarm.routerRestart',
      resources: 'swarm.routerResources',
      placement: 'swarm.routerPlacement',
      stopGraceSeconds: 'swarm.routerStopGraceSeconds',
      security: 'routerSecurity',
    },
    () =>
      new RouterService(scope, 'Routers', {
        instanceCount: p.instanceCount,
        maxInstances: p.maxInstances,
        image: p.routerImage,
        networkName,
        subnet,
        consulHost,
        consulPort: consulHttpPort,
        serviceName: p.serviceName,
        swarmServiceName: `${p.prefix}-router`,
        environment: p.routerEnvironment,
        sessionKeys: p.sessionKeys,
        sessionKeysHostPath: p.sessionKeysHostPath,
        auth: p.auth,
        backendCredentialsHostDir: p.backendCredentialsHostDir,
        update: s.routerUpdate,
        rollback: s.routerRollback,
        restart: s.routerRestart,
        // routerCpus / routerMemoryMb are the tasks' limits (0: see `unlimited`).
        resources: {
          ...s.routerResources,
          limitCpus: p.routerCpus === 0 ? undefined : (p.routerCpus ?? s.routerResources?.limitCpus),
          limitMemoryMb: p.routerMemoryMb === 0 ? undefined : (p.routerMemoryMb ?? s.routerResources?.limitMemoryMb),
        },
        placement: s.routerPlacement,
        stopGraceSeconds: s.routerStopGraceSeconds,
        security: unlimited ? { ...p.routerSecurity, ...unlimited } : p.routerSecurity,
      }),
  );

  const haproxy = asOwnProps(
    ID,
    'HaproxyService',
    {
      image: 'haproxyImage',
      publicPort: 'publicPort',
      statsPort: 'statsPort',
      mcpPort: 'mcpPort',
      enableMcp: 'enableMcp',
      tlsCertificateHostPath: 'tlsCertificateHostPath',
      statsAuthHostPath: 'statsAuthHostPath',
      replicas: 'swarm.haproxyReplicas',
      placement: 'swarm.haproxyPlacement',
      security: 'haproxySecurity',
      config: 'haproxy',
      'config.mode': 'mode',
      'config.balance': 'balance',
      'config.maxInstances': 'maxInstances',
    },
    () =>
      new HaproxyService(scope, 'LoadBalancer', {
        networkName,
        consulDnsAddress: consulHost,
        consulDnsPort,
        serviceName: `${p.prefix}-haproxy`,
        image: p.haproxyImage,
        replicas: s.haproxyReplicas,
        publishMode: s.publishMode,
        publicPort: p.ports.publicPort,
        mcpPort: p.ports.mcpPort,
        enableMcp: p.enableMcp,
        publishAdmin: p.publishAdmin,
        statsPort: p.ports.statsPort,
        tlsCertificateHostPath: p.tlsCertificateHostPath,
        statsAuthHostPath: p.statsAuthHostPath,
        config: { ...p.haproxyConfig, consulDomain: CONSUL_DOMAIN, routerMcpPort: PORTS.mcp, healthCheck: { ...p.haproxyConfig.healthCheck, port: PORTS.routerAdmin, path: PATHS.readyz } },
        placement: s.haproxyPlacement,
        security: p.haproxySecurity,
      }),
  );
  if (consul) {
    // HAProxy resolves the Consul service's name at start; the routers register once it answers.
    dependOn(routers.service, consul.service);
    dependOn(haproxy.service, consul.service);
  }
  return { network, networkName, consul, consulHost, routers, haproxy };
}
