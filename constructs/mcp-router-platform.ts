/**
 * The whole platform in one construct: a Docker network, a Consul cluster
 * (1, 3 or 5 servers), N MCP routers built from router-app/, and HAProxy in
 * front of them, with Terraform outputs for every endpoint a user needs.
 * Bring your own network, Consul or image to reuse what you already run.
 *
 * With more than one server, or with ACLs, every router and demo server gets
 * a Consul client agent of its own (ConsulClientAgent): it registers there,
 * and the agent reaches whichever server is alive.
 *
 * ACLs (default deny) and external MCP servers are declared with the Consul
 * provider, which cannot plan against a Consul created in the same apply: the
 * network and the Consul servers then go into `consulStack`, a stack applied
 * before this one (McpRouterStack makes it), and this stack holds the
 * policies, the tokens and everything that uses them.
 */
import { ConsulProvider } from '@cdktf/provider-consul/lib/provider';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Image } from '@cdktf/provider-docker/lib/image';
import { Network } from '@cdktf/provider-docker/lib/network';
import { Password } from '@cdktf/provider-random/lib/password';
import { RandomProvider } from '@cdktf/provider-random/lib/provider';
import { Annotations, TerraformOutput, TerraformResource, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { BalanceAlgorithm, HaproxyMode, HaproxyTuningOptions, PlatformHealthCheckOptions } from '../haproxy-templates';
import { CONSUL_DOMAIN, LIMITS, PATHS, PATTERNS, PORTS, ROUTER_ENV, ROUTER_SERVICE } from '../router-app/src/contract';
import { ConsulAccessControl } from './consul-access-control';
import { ConsulClientAgent } from './consul-client-agent';
import { ConsulCluster } from './consul-cluster';
import { ExternalMcpServer, ExternalMcpServers } from './external-mcp-servers';
import { DemoBackends } from './demo-backend';
import { HaproxyLoadBalancer } from './haproxy-load-balancer';
import { RouterFleet, RouterFleetProps, ROUTER_ADMIN_PORT, ROUTER_MCP_PORT } from './router-fleet';
import { validateRouterMemory } from './router-heap';
import { RouterImage } from './router-image';
import { RateLimitProps, RouterAuthProps } from './router-auth';
import { ContainerSecurityProps, mergeContainerSecurity, validateContainerSecurity } from './container-security';
import { asOwnProps, checkObject, isUnresolved, propError, resolveEnableMcp, validateDistinctPorts, validateLiteral, validateName, validateOneOf, validatePort } from './validation';
import { ConsulService } from './swarm/consul-service';
import { HaproxyService } from './swarm/haproxy-service';
import { RouterService } from './swarm/router-service';
import { DeploymentTarget, SwarmProps } from './swarm/swarm-options';
import { buildSwarmParts, checkSwarmPlatformProps } from './swarm/swarm-platform';

/** Adds the random provider to the stack unless it has one (the session key needs it). */
function ensureRandomProvider(scope: Construct): void {
  const stack = TerraformStack.of(scope);
  if (!stack.node.findAll().some((c) => c instanceof RandomProvider)) new RandomProvider(stack, 'random');
}

export interface ExistingConsul {
  /** Host name or IP of a Consul agent reachable on the network. */
  readonly host: string;
  /** @default 8500 */
  readonly httpPort?: number;
  /** @default 8600 */
  readonly dnsPort?: number;
  /** UI URL reported in the outputs. @default none */
  readonly uiUrl?: string;
  /**
   * Absolute path, on the Docker host, of a file holding the routers' Consul ACL token (a Consul
   * with ACLs): mounted read-only into every router. @default no token
   */
  readonly routerTokenHostPath?: string;
}

/**
 * Renderer options the platform lets through: the tuning, and the health check
 * but for its port and path. (Mode and balance are props of their own; the
 * routers' longest call comes from routerEnvironment; the rest must agree with
 * the other parts, so the platform sets them.)
 */
export interface PlatformHaproxyOptions extends HaproxyTuningOptions {
  /** Health check; its port and path are the router's admin port and /readyz. @default type READYZ, interMs 2000, rise 2, fall 3 */
  readonly healthCheck?: PlatformHealthCheckOptions;
}

export interface McpRouterPlatformProps {
  /**
   * Where the platform runs: containers on one Docker host, or services on a Docker
   * Swarm (applied through a manager node; see `swarm`).
   * @default DeploymentTarget.HOST
   */
  readonly target?: DeploymentTarget;
  /**
   * Swarm settings (only with `target: DeploymentTarget.SWARM`): overlay subnet, rolling
   * update and rollback, restart policy, resources, placement, publish mode.
   * @default see SwarmProps
   */
  readonly swarm?: SwarmProps;
  /**
   * Number of routers: an integer from 1 to `maxInstances`, or a token such as a
   * TerraformVariable's `numberValue` (then validated by the variable at plan time).
   * @default 1
   */
  readonly instanceCount?: number;
  /** HAProxy server-template slots: the most routers this deployment can grow to without a config change. @default 10 */
  readonly maxInstances?: number;
  /** Prefix for container and network names. @default 'mcp' */
  readonly namePrefix?: string;
  /** HAProxy proxy mode: `HTTP` balances each gRPC call over HTTP/2; `TCP` balances connections (the seed's). @default HaproxyMode.HTTP */
  readonly mode?: HaproxyMode;
  /** @default BalanceAlgorithm.ROUND_ROBIN */
  readonly balance?: BalanceAlgorithm;
  /**
   * Further HAProxy renderer options (health check type/interval/rise/fall, timeouts,
   * maxconn, nbthread, sticky sessions, rate limit, TLS, Prometheus exporter, DNS hold
   * times). Listeners, nameservers, service name and the router's check port are set
   * by the platform so they match the other parts.
   * @default the renderer's defaults (HAPROXY_DEFAULTS)
   */
  readonly haproxy?: PlatformHaproxyOptions;
  /** Consul service name of the routers (their registration and HAProxy's SRV lookup). @default 'mcp-router' */
  readonly serviceName?: string;
  /**
   * Host address the public endpoints (gRPC, MCP) are published on. Without `auth` the default
   * keeps them on the Docker host itself; with `auth` they are open to the network.
   * An unauthenticated platform on a non-loopback address is warned about at synth.
   * @default '0.0.0.0' with `auth`, '127.0.0.1' without
   */
  readonly publicBindAddress?: string;
  /**
   * Who may call what, the same on the gRPC and MCP doors: JWT and/or API key
   * authentication, authorization rules (file or Consul KV), who sees internals, and a
   * per-identity rate limit (default 100 requests/s, burst 200, platform-wide).
   * @default undefined: no authentication (and the public endpoints on 127.0.0.1)
   */
  readonly auth?: RouterAuthProps;
  /**
   * Basic authentication of the HAProxy stats page and its /metrics: absolute path of a file
   * on the Docker host with the HAProxy userlist `mcp_stats_users` (`npm run auth --
   * stats-user <name>` writes one). No credential enters the plan.
   * @default undefined (no authentication; the stats page is on `adminBindAddress` only)
   */
  readonly statsAuthHostPath?: string;
  /**
   * Absolute path of a directory on the Docker host with per-backend credential files
   * (`<name>.json`), mounted read-only into the routers; a backend names its file in
   * MCP_BACKENDS (`credentials`) or Consul meta `mcp_credentials`.
   * @default none
   */
  readonly backendCredentialsHostDir?: string;
  /** Host port of the public gRPC endpoint. @default 50051 */
  readonly publicPort?: number;
  /** Host address of the admin endpoints (HAProxy stats, Consul UI/API/DNS). Set '0.0.0.0' to open them. @default '127.0.0.1' */
  readonly adminBindAddress?: string;
  /** Host port of the HAProxy stats page (and its Prometheus /metrics). @default 8404 */
  readonly statsPort?: number;
  /**
   * Host port of the public MCP endpoint (Streamable HTTP at /mcp), on
   * `publicBindAddress`. @default 8080
   */
  readonly mcpPort?: number;
  /** `false` leaves the public MCP endpoint out of HAProxy (then `mcpPort` must be unset). @default true */
  readonly enableMcp?: boolean;
  /**
   * Absolute path on the Docker host of a file with the keys that sign MCP
   * session IDs (`<id>=<secret>` per line; the first signs, all verify: put a new
   * key first to rotate). @default a random key made at apply time (Terraform
   * random_password; its value lives in Terraform state, not in the plan)
   */
  readonly sessionKeysHostPath?: string;
  /**
   * TLS termination at HAProxy: absolute path of a PEM (certificate + key) on the Docker
   * host, mounted read-only. @default undefined (plaintext gRPC, as the seed)
   */
  readonly tlsCertificateHostPath?: string;
  /** @default 8500 */
  readonly consulHttpPort?: number;
  /** @default 8600 */
  readonly consulDnsPort?: number;
  /** Use this Docker network instead of creating one. @default a new bridge network '<namePrefix>-net' */
  readonly existingNetworkName?: string;
  /** Use this Consul instead of deploying servers. @default a Consul cluster of `consulServers` containers */
  readonly existingConsul?: ExistingConsul;
  /**
   * Consul servers to run: 1, 3 or 5 (`bootstrap_expect`, `retry_join` of all). The first
   * publishes the UI/API and DNS; HAProxy asks every one for DNS. @default 1
   */
  readonly consulServers?: number;
  /**
   * Consul ACLs, default deny: the initial management token is made at apply time, and the
   * routers, their agents, the demo servers, DNS and an operator each get a token (or policy)
   * with the least they need. Needs `consulStack`. @default false (McpRouterStack: true)
   */
  readonly acl?: boolean;
  /**
   * Path, on the machine that runs Terraform, of a file holding the initial management token
   * (Terraform reads it with `file()`; the plan holds only that expression).
   * @default a random_uuid made at apply time (its value lives in Terraform state)
   */
  readonly consulManagementTokenFile?: string;
  /**
   * A stack applied before this one, where the network and the Consul servers go; needed by
   * `acl` and `externalMcpServers` (the Consul provider declares those, and it cannot plan
   * against a Consul created in the same apply). It must have a DockerProvider.
   * @default none (everything in this construct's stack)
   */
  readonly consulStack?: TerraformStack;
  /**
   * Where Terraform's Consul provider reaches the first server's HTTP API (host:port).
   * @default `<adminBindAddress, 127.0.0.1 for 0.0.0.0>:<consulHttpPort>`
   */
  readonly consulProviderAddress?: string;
  /**
   * MCP servers outside the platform (SaaS endpoints), put in the Consul catalogue with an HTTP
   * or TCP check; the routers call them like any other backend. Needs `consulStack`. @default []
   */
  readonly externalMcpServers?: ExternalMcpServer[];
  /** Run this router image instead of building router-app/. @default built from router-app/ */
  readonly routerImage?: string;
  /**
   * Build context for the router image: relative to the synthesized stack dir
   * (`cdktf.out/stacks/<stack>`), or absolute.
   * @default the router-app/ shipped in this package (see RouterImageProps.contextPath)
   */
  readonly routerAppPath?: string;
  /** Extra router environment (e.g. MCP_BACKENDS, LOG_LEVEL). @default {} */
  readonly routerEnvironment?: { [name: string]: string };
  /** CPUs per router (vertical scaling); 0 for no limit. The same as `routerSecurity.cpus`. @default 1 */
  readonly routerCpus?: number;
  /**
   * Memory per router in MiB (vertical scaling); 0 for no limit. The same as `routerSecurity.memoryMb`.
   * A literal limit other than 256 also scales the router's V8 heap flags to it
   * (`--max-old-space-size` = 3/8 of the limit; constructs/router-heap.ts). @default 256
   */
  readonly routerMemoryMb?: number;
  /**
   * Lockdown of every container of the platform (routers, HAProxy, Consul, demo servers):
   * read-only root filesystem, all capabilities dropped, no-new-privileges, memory and CPU
   * limits, log rotation. Set a field to relax it everywhere (e.g. `{ logMaxSizeMb: 50 }`);
   * `routerSecurity`, `haproxySecurity` and `consulSecurity` override it field by field for one part.
   * With target SWARM it locks down the services' tasks the same way, except no-new-privileges
   * (not available on a docker_service; `noNewPrivileges: true` is refused).
   * @default every setting locked down, limits sized per part (see ContainerSecurityProps)
   */
  readonly containerSecurity?: ContainerSecurityProps;
  /** The routers' lockdown, over `containerSecurity`. @default containerSecurity (memory 256 MiB, 1 CPU) */
  readonly routerSecurity?: ContainerSecurityProps;
  /** HAProxy's lockdown, over `containerSecurity`. @default containerSecurity (memory 64 MiB + 48 KiB per maxconn, CPUs nbthread or 2) */
  readonly haproxySecurity?: ContainerSecurityProps;
  /** The Consul server's lockdown, over `containerSecurity`. @default containerSecurity (memory 256 MiB, 1 CPU) */
  readonly consulSecurity?: ContainerSecurityProps;
  /**
   * Base image of the images the platform builds (router, demo servers): any Node 20 image
   * with the `node` user, e.g. your registry's mirror of node:20-slim, best pinned by digest.
   * @default node:20-slim pinned by digest (RouterImage's NODE_BASE_IMAGE)
   */
  readonly nodeBaseImage?: string;
  /** Publish router i on host port base+i-1 (debugging). @default not published */
  readonly routerHostPortBase?: number;
  /**
   * Demo MCP servers (examples/demo-mcp-server) to deploy, by name; each
   * registers itself in Consul so its tools appear behind the router.
   * @default [] (none)
   */
  readonly demoBackends?: string[];
  /** @default 'hashicorp/consul:1.20' */
  readonly consulImage?: string;
  /** @default 'haproxy:2.8-alpine' */
  readonly haproxyImage?: string;
}

const ID = 'McpRouterPlatform';

/** The per-identity rate limit of a new deployment with authentication. */
export const DEFAULT_RATE_LIMIT: RateLimitProps = { requestsPerSecond: 100, burst: 200 };

/**
 * Terraform `depends_on`: `resource` is created after (and destroyed before) `on`.
 * (`node.addDependency` orders constructs only; it writes nothing into the plan.)
 * HAProxy needs it: it exits at start when the Consul container's name does not
 * resolve yet, and the provider then fails the apply ("container exited immediately").
 */
function dependOn(resource: TerraformResource, on: TerraformResource): void {
  resource.dependsOn = [...(resource.dependsOn ?? []), on.fqn];
}

export class McpRouterPlatform extends Construct {
  /** Network name all parts share. */
  public readonly networkName: string;
  /** The created network (undefined when `existingNetworkName` is given). */
  public readonly network?: Network;
  /** The Consul cluster (undefined when `existingConsul` is given). */
  public readonly consul?: ConsulCluster;
  /** The Consul ACL policies and tokens (undefined without `acl`). */
  public readonly accessControl?: ConsulAccessControl;
  /** The routers' Consul client agents, one per router (undefined with one server and no ACLs, or existingConsul). */
  public readonly routerAgents?: ConsulClientAgent;
  /** The demo servers' Consul client agents, by server name. */
  public readonly demoAgents: { [name: string]: ConsulClientAgent } = {};
  /** External MCP servers in the catalogue (undefined without `externalMcpServers`). */
  public readonly externalServers?: ExternalMcpServers;
  /** The router image build (undefined when `routerImage` is given). */
  public readonly routerImage?: RouterImage;
  /** The router containers (undefined with target SWARM: see `routerService`). */
  public readonly routers?: RouterFleet;
  /** The router service (target SWARM only). */
  public readonly routerService?: RouterService;
  /** The Consul service (target SWARM only, unless `existingConsul` is given). */
  public readonly consulService?: ConsulService;
  /** The HAProxy service (target SWARM only). */
  public readonly haproxyService?: HaproxyService;
  /** Demo MCP servers (undefined unless `demoBackends` is given). */
  public readonly demoBackends?: DemoBackends;
  /** The HAProxy container (undefined with target SWARM: see `haproxyService`). */
  public readonly loadBalancer?: HaproxyLoadBalancer;
  /** gRPC endpoint for clients (host:port). */
  public readonly routerEndpoint: string;
  /** MCP endpoint for MCP clients (http://host:port/mcp); undefined when `enableMcp` is false. */
  public readonly mcpUrl?: string;
  /** The random key that signs MCP session IDs (undefined when `sessionKeysHostPath` is given). */
  public readonly sessionKey?: Password;
  public readonly statsUrl: string;
  public readonly consulUiUrl: string;

  constructor(scope: Construct, id: string, props: McpRouterPlatformProps = {}) {
    super(scope, id);
    // The platform checks what it owns (names, literals, host ports across parts,
    // existingConsul); each part validates its own props, and its errors are
    // reported here under the platform prop the user set (asOwnProps).
    const target = props.target ?? DeploymentTarget.HOST;
    validateOneOf(ID, 'target', target, Object.values(DeploymentTarget));
    if (target === DeploymentTarget.HOST && props.swarm !== undefined) throw propError(ID, 'swarm', props.swarm, 'unset unless target is DeploymentTarget.SWARM');
    if (target === DeploymentTarget.SWARM) checkSwarmPlatformProps(ID, props);
    const prefix = props.namePrefix ?? 'mcp';
    validateLiteral(ID, 'namePrefix', prefix);
    validateName(ID, 'namePrefix', prefix);
    const serviceName = props.serviceName ?? ROUTER_SERVICE.name;
    validateLiteral(ID, 'serviceName', serviceName);
    validateName(ID, 'serviceName', serviceName);
    // maxInstances sizes HAProxy's server slots in haproxy.cfg: it must be known at synth.
    validateLiteral(ID, 'maxInstances', props.maxInstances);
    const maxInstances = props.maxInstances ?? LIMITS.maxInstances.default;
    const instanceCount = props.instanceCount ?? 1;
    const enableMcp = resolveEnableMcp(ID, props.enableMcp, props.mcpPort);
    const mcpPort = enableMcp ? (props.mcpPort ?? PORTS.mcp) : undefined;
    const ports = {
      publicPort: props.publicPort ?? PORTS.grpc,
      statsPort: props.statsPort ?? PORTS.haproxyStats,
      ...(mcpPort !== undefined ? { mcpPort } : {}),
      ...(props.existingConsul ? {} : { consulHttpPort: props.consulHttpPort ?? PORTS.consulHttp, consulDnsPort: props.consulDnsPort ?? PORTS.consulDns }),
    };
    for (const [prop, port] of Object.entries(ports)) validatePort(ID, prop, port);
    validateDistinctPorts(ID, ports);
    if (props.existingConsul !== undefined) {
      checkObject(ID, 'existingConsul', props.existingConsul, 'an object { host, httpPort?, dnsPort?, uiUrl? }');
      validateLiteral(ID, 'existingConsul.host', props.existingConsul.host);
      if (typeof props.existingConsul.host !== 'string' || !PATTERNS.host.test(props.existingConsul.host)) {
        throw propError(ID, 'existingConsul.host', props.existingConsul.host, 'the host name or IP of a Consul agent reachable on the network');
      }
      validatePort(ID, 'existingConsul.httpPort', props.existingConsul.httpPort);
      validatePort(ID, 'existingConsul.dnsPort', props.existingConsul.dnsPort);
      if (props.existingConsul.uiUrl !== undefined && typeof props.existingConsul.uiUrl !== 'string') {
        throw propError(ID, 'existingConsul.uiUrl', props.existingConsul.uiUrl, 'a URL string');
      }
    }
    // Where the network and the Consul servers go: this construct, or the stack applied before this one.
    const infra: Construct = props.consulStack ?? this;
    const infraId = (name: string) => (props.consulStack ? `${id}-${name}` : name);
    const acl = props.acl ?? false;
    if (typeof acl !== 'boolean') throw propError(ID, 'acl', acl, 'true or false');
    const externals = props.externalMcpServers ?? [];
    if (!Array.isArray(externals)) throw propError(ID, 'externalMcpServers', externals, 'a list of { name, url, ... }');
    validateLiteral(ID, 'consulServers', props.consulServers);
    const consulServers = props.consulServers ?? 1;
    if (props.existingConsul !== undefined) {
      const unset = 'left unset with existingConsul (this platform deploys no Consul then)';
      if (props.consulServers !== undefined) throw propError(ID, 'consulServers', props.consulServers, unset);
      if (acl) throw propError(ID, 'acl', acl, "false with existingConsul (the ACLs of a Consul you run are yours; give the routers a token with existingConsul.routerTokenHostPath)");
      if (externals.length > 0) throw propError(ID, 'externalMcpServers', `${externals.length} server(s)`, 'empty with existingConsul (register them in your Consul)');
      if (props.consulStack !== undefined) throw propError(ID, 'consulStack', props.consulStack.node.path, unset);
      if (props.consulManagementTokenFile !== undefined) throw propError(ID, 'consulManagementTokenFile', props.consulManagementTokenFile, unset);
    } else if (props.existingConsul === undefined && props.consulManagementTokenFile !== undefined && !acl) {
      throw propError(ID, 'consulManagementTokenFile', props.consulManagementTokenFile, 'left unset without acl (the management token bootstraps ACLs)');
    }
    const ownStack = TerraformStack.of(this);
    if (props.consulStack !== undefined) {
      if (!(props.consulStack instanceof TerraformStack)) throw propError(ID, 'consulStack', props.consulStack, 'a TerraformStack');
      if (props.consulStack === ownStack) throw propError(ID, 'consulStack', props.consulStack.node.path, "another stack than the platform's own (one applied before it)");
      if (!props.consulStack.node.findAll().some((c) => c instanceof DockerProvider)) throw propError(ID, 'consulStack', props.consulStack.node.path, 'a stack with a DockerProvider (its network and Consul servers are Docker resources)');
    }
    const needsProvider = acl || externals.length > 0;
    if (needsProvider && props.consulStack === undefined) {
      const why = 'the Consul provider declares them, and it cannot plan against a Consul created in the same apply: pass consulStack, a stack applied before this one (McpRouterStack does)';
      if (acl) throw propError(ID, 'acl', acl, `false, or true with consulStack (${why})`);
      throw propError(ID, 'externalMcpServers', `${externals.length} server(s)`, `given with consulStack (${why})`);
    }
    if (props.consulProviderAddress !== undefined && (typeof props.consulProviderAddress !== 'string' || !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(props.consulProviderAddress))) {
      throw propError(ID, 'consulProviderAddress', props.consulProviderAddress, 'host:port of the Consul HTTP API as the machine running Terraform reaches it');
    }
    // Client agents: with several servers (a router then never depends on one) and with ACLs (each agent has its own node identity).
    const useAgents = props.existingConsul === undefined && (consulServers > 1 || acl);
    if (props.routerEnvironment !== undefined) checkObject(ID, 'routerEnvironment', props.routerEnvironment, 'a map of variable names to string values');
    if (props.haproxy !== undefined) checkObject(ID, 'haproxy', props.haproxy, 'an object of HAProxy renderer options');
    if (props.demoBackends !== undefined && !Array.isArray(props.demoBackends)) {
      throw propError(ID, 'demoBackends', props.demoBackends, 'a list of demo server names');
    }
    if (props.routerImage !== undefined && (typeof props.routerImage !== 'string' || props.routerImage === '')) {
      throw propError(ID, 'routerImage', props.routerImage, 'a non-empty image reference');
    }
    validateContainerSecurity(ID, 'containerSecurity', props.containerSecurity);
    for (const prop of ['routerSecurity', 'haproxySecurity', 'consulSecurity'] as const) validateContainerSecurity(ID, prop, props[prop]);
    // The routers' memory limit, named as the user gave it: their own (one of the first three; two of
    // them set is a conflict the parts report), else containerSecurity's.
    const given = (limits: ReadonlyArray<readonly [string, number | undefined]>) => limits.filter(([, v]) => v !== undefined);
    const ownMemory = given([
      ['routerMemoryMb', props.routerMemoryMb],
      ['swarm.routerResources.limitMemoryMb', props.swarm?.routerResources?.limitMemoryMb],
      ['routerSecurity.memoryMb', props.routerSecurity?.memoryMb],
    ]);
    const routerMemory = ownMemory.length > 0 ? ownMemory : given([['containerSecurity.memoryMb', props.containerSecurity?.memoryMb]]);
    if (routerMemory.length === 1) validateRouterMemory(ID, routerMemory[0][0], routerMemory[0][1]);
    const security = (own: ContainerSecurityProps | undefined) => mergeContainerSecurity(props.containerSecurity, own);
    // routerCpus / routerMemoryMb win over containerSecurity's limits (they are the routers' own).
    const routerSecurity = mergeContainerSecurity(
      props.containerSecurity && { ...props.containerSecurity, ...(props.routerCpus !== undefined ? { cpus: undefined } : {}), ...(props.routerMemoryMb !== undefined ? { memoryMb: undefined } : {}) },
      props.routerSecurity,
    );
    const adminBind = props.adminBindAddress ?? '127.0.0.1';
    // HAProxy's server and tunnel timeouts derive from the routers' longest call, so they agree.
    const maxCallRaw = props.routerEnvironment?.[ROUTER_ENV.maxCallMs];
    let maxCallMs: number | undefined;
    if (maxCallRaw !== undefined && maxCallRaw !== '' && !isUnresolved(maxCallRaw)) {
      maxCallMs = Number(maxCallRaw);
      if (!/^\d+$/.test(maxCallRaw) || maxCallMs < 1000 || maxCallMs > 86_400_000) {
        throw propError(ID, `routerEnvironment.${ROUTER_ENV.maxCallMs}`, maxCallRaw, 'an integer from 1000 to 86400000 (ms; HAProxy\'s timeouts derive from it)');
      }
    }
    // Secure by default: without authentication the public doors stay on the Docker host.
    const publicBind = props.publicBindAddress ?? (props.auth ? '0.0.0.0' : '127.0.0.1');
    if (props.auth === undefined && typeof publicBind === 'string' && !isUnresolved(publicBind) && !publicBind.startsWith('127.')) {
      Annotations.of(this).addWarning(
        `${ID}: NO AUTHENTICATION on a public address: publicBindAddress is ${publicBind} and auth is not set, so anyone who can reach ${publicBind} may call every tool of every MCP server behind this platform. Set auth (jwt and/or apiKeysHostPath), or bind to 127.0.0.1.`,
      );
    }
    const auth: RouterAuthProps | undefined = props.auth ? { ...props.auth, rateLimit: props.auth.rateLimit ?? DEFAULT_RATE_LIMIT } : undefined;
    if (props.existingNetworkName !== undefined && (typeof props.existingNetworkName !== 'string' || props.existingNetworkName === '')) {
      throw propError(ID, 'existingNetworkName', props.existingNetworkName, 'a Docker network name');
    }

    if (target === DeploymentTarget.SWARM) {
      let swarmImage = props.routerImage;
      if (swarmImage === undefined) {
        this.routerImage = asOwnProps(ID, 'RouterImage', { baseImage: 'nodeBaseImage', contextPath: 'routerAppPath' }, () =>
          new RouterImage(this, 'RouterImage', { contextPath: props.routerAppPath, imageName: `${prefix}-router:local`, baseImage: props.nodeBaseImage }),
        );
        swarmImage = this.routerImage.imageRef;
      }
      if (props.sessionKeysHostPath === undefined) {
        ensureRandomProvider(this);
        this.sessionKey = new Password(this, 'SessionKey', { length: 48, special: false });
      }
      const parts = buildSwarmParts(this, {
        prefix,
        serviceName,
        instanceCount,
        maxInstances,
        routerImage: swarmImage,
        swarm: props.swarm,
        consulServers,
        existingNetworkName: props.existingNetworkName,
        existingConsul: props.existingConsul
          ? { host: props.existingConsul.host, httpPort: props.existingConsul.httpPort ?? PORTS.consulHttp, dnsPort: props.existingConsul.dnsPort ?? PORTS.consulDns }
          : undefined,
        consulImage: props.consulImage,
        haproxyImage: props.haproxyImage,
        publishAdmin: adminBind === '0.0.0.0',
        ports,
        enableMcp,
        routerEnvironment: props.routerEnvironment,
        routerCpus: props.routerCpus,
        routerMemoryMb: props.routerMemoryMb,
        sessionKeys: this.sessionKey ? `k1=${this.sessionKey.result}` : undefined,
        sessionKeysHostPath: props.sessionKeysHostPath,
        auth,
        backendCredentialsHostDir: props.backendCredentialsHostDir,
        tlsCertificateHostPath: props.tlsCertificateHostPath,
        statsAuthHostPath: props.statsAuthHostPath,
        haproxyConfig: { ...props.haproxy, mode: props.mode, balance: props.balance, maxInstances, serviceName, maxCallMs },
        routerSecurity,
        haproxySecurity: security(props.haproxySecurity),
        consulSecurity: security(props.consulSecurity),
      });
      this.network = parts.network;
      this.networkName = parts.networkName;
      this.consulService = parts.consul;
      this.routerService = parts.routers;
      this.haproxyService = parts.haproxy;
      this.routerEndpoint = parts.haproxy.endpoint;
      this.mcpUrl = parts.haproxy.mcpUrl;
      this.statsUrl = parts.haproxy.statsUrl;
      this.consulUiUrl = props.existingConsul ? (props.existingConsul.uiUrl ?? '') : parts.consul!.uiUrl;
      const out = (name: string) => (prefix === 'mcp' ? name : `${prefix.replace(/-/g, '_')}_${name}`);
      const output = (id: string, name: string, value: string, description: string) =>
        new TerraformOutput(this, id, { value, description }).overrideLogicalId(out(name));
      output('RouterEndpoint', 'router_endpoint', this.routerEndpoint, 'gRPC endpoint of the MCP router (HAProxy, published by Swarm on every node), host:port on the manager');
      if (this.mcpUrl) output('McpUrl', 'mcp_url', this.mcpUrl, 'MCP endpoint (Streamable HTTP) of the platform, for MCP clients');
      output('StatsUrl', 'stats_url', this.statsUrl, "HAProxy stats page ('' unless adminBindAddress is 0.0.0.0)");
      output('ConsulUiUrl', 'consul_ui_url', this.consulUiUrl, `Consul UI page of the ${serviceName} service ('' unless adminBindAddress is 0.0.0.0)`);
      output('RouterServiceName', 'router_service_name', parts.routers.serviceName, 'Swarm service of the routers (docker service ps / scale)');
      return;
    }

    if (props.existingNetworkName !== undefined) {
      this.networkName = props.existingNetworkName;
    } else {
      this.network = new Network(infra, infraId('Network'), { name: `${prefix}-net`, driver: 'bridge', attachable: true });
      this.networkName = this.network.name;
    }

    let consulHost: string;
    let consulHttpPort: number;
    let consulDnsPort: number;
    let dnsServers: string[];
    if (props.existingConsul) {
      consulHost = props.existingConsul.host;
      consulHttpPort = props.existingConsul.httpPort ?? PORTS.consulHttp;
      consulDnsPort = props.existingConsul.dnsPort ?? PORTS.consulDns;
      dnsServers = [consulHost];
      this.consulUiUrl = props.existingConsul.uiUrl ?? '';
    } else {
      const cluster = asOwnProps(
        ID,
        'ConsulCluster',
        { servers: 'consulServers', image: 'consulImage', adminBindAddress: 'adminBindAddress', httpHostPort: 'consulHttpPort', dnsHostPort: 'consulDnsPort', 'acl.managementTokenFile': 'consulManagementTokenFile', security: 'consulSecurity' },
        () =>
          new ConsulCluster(infra, infraId('Consul'), {
            networkName: this.networkName,
            servers: consulServers,
            namePrefix: prefix,
            image: props.consulImage,
            adminBindAddress: adminBind,
            httpHostPort: ports.consulHttpPort,
            dnsHostPort: ports.consulDnsPort,
            uiServiceName: serviceName,
            ...(acl ? { acl: { managementTokenFile: props.consulManagementTokenFile } } : {}),
            // A Consul provider in this stack plans against it: the apply of its stack waits for a leader.
            waitHealthy: props.consulStack !== undefined,
            security: security(props.consulSecurity),
          }),
      );
      this.consul = cluster;
      if (cluster.managementTokenResource !== undefined) {
        // For the operator: `terraform output -raw consul_management_token` in the stack that holds the
        // servers. Sensitive: the plan holds the reference, Terraform state (already) the value.
        new TerraformOutput(infra, infraId('ConsulManagementToken'), {
          value: cluster.managementToken,
          sensitive: true,
          description: 'The initial Consul management token (made at apply time): ACL administration; keep it out of daily use',
        }).overrideLogicalId(prefix === 'mcp' ? 'consul_management_token' : `${prefix.replace(/-/g, '_')}_consul_management_token`);
      }
      consulHost = cluster.address;
      consulHttpPort = cluster.httpPort;
      consulDnsPort = cluster.dnsPort;
      dnsServers = cluster.serverNames;
      this.consulUiUrl = cluster.uiUrl;
    }

    if (needsProvider) {
      const cluster = this.consul!;
      const stack = ownStack;
      if (!stack.node.findAll().some((c) => c instanceof ConsulProvider)) {
        new ConsulProvider(stack, 'consul', {
          address: props.consulProviderAddress ?? `${adminBind === '0.0.0.0' ? '127.0.0.1' : adminBind}:${ports.consulHttpPort}`,
          scheme: 'http',
          datacenter: cluster.datacenter,
          // A reference into the Consul stack's state (a sensitive output), never a value in this plan.
          ...(cluster.managementToken !== undefined ? { token: cluster.managementToken } : {}),
        });
      }
    }
    if (acl) {
      this.accessControl = new ConsulAccessControl(this, 'Acl', {
        namePrefix: prefix,
        datacenter: this.consul!.datacenter,
        routerServiceName: serviceName,
        routerAgents: { count: instanceCount, nodeName: `${prefix}-router-agent-\${count.index + 1}` },
        routerNodePrefix: `${prefix}-router-agent-`,
        // Valid, distinct demo names only: DemoBackends refuses the others, naming demoBackends.
        mcpServers: [...new Set(props.demoBackends ?? [])].filter((name) => typeof name === 'string' && /^[a-z][a-z0-9-]{0,30}$/.test(name)).map((name) => ({ name, agentNodeName: `${prefix}-demo-agent-${name}` })),
        // Auth rules kept in Consul KV: the routers' token reads exactly that key.
        routerReadKeys: typeof props.auth?.rulesConsulKey === 'string' ? [props.auth.rulesConsulKey] : [],
      });
    }
    if (externals.length > 0) {
      this.externalServers = asOwnProps(ID, 'ExternalMcpServers', { servers: 'externalMcpServers' }, () =>
        new ExternalMcpServers(this, 'ExternalMcpServers', { servers: externals, namePrefix: prefix, datacenter: this.consul!.datacenter }),
      );
    }
    const agentImage = useAgents ? new Image(this, 'ConsulAgentImage', { name: props.consulImage ?? 'hashicorp/consul:1.20', keepLocally: true }).imageId : undefined;
    const agent = (scopeId: string, name: string, token: string | undefined, count?: number) =>
      new ConsulClientAgent(this, scopeId, {
        networkName: this.networkName,
        name,
        image: agentImage!,
        servers: this.consul!.serverNames,
        datacenter: this.consul!.datacenter,
        acl: this.consul!.aclOptions,
        agentToken: token,
        count,
        security: security(props.consulSecurity),
      });

    let image = props.routerImage;
    if (image === undefined) {
      this.routerImage = asOwnProps(ID, 'RouterImage', { baseImage: 'nodeBaseImage', contextPath: 'routerAppPath' }, () =>
        new RouterImage(this, 'RouterImage', { contextPath: props.routerAppPath, imageName: `${prefix}-router:local`, baseImage: props.nodeBaseImage }),
      );
      image = this.routerImage.imageRef;
    }

    // MCP session IDs are signed with keys every router shares: from the operator's file,
    // or a random one made at apply time (its value lives in Terraform state, not in the plan).
    let sessionKeys: string | undefined;
    if (props.sessionKeysHostPath === undefined) {
      ensureRandomProvider(this);
      this.sessionKey = new Password(this, 'SessionKey', { length: 48, special: false });
      sessionKeys = `k1=${this.sessionKey.result}`;
    }
    const fleetProps: RouterFleetProps = {
      instanceCount,
      maxInstances,
      image,
      networkName: this.networkName,
      consulHost: useAgents ? `${prefix}-router-agent-\${count.index + 1}` : consulHost,
      consulPort: consulHttpPort,
      consulToken: this.accessControl?.routerTokenSecret,
      consulTokenHostPath: props.existingConsul?.routerTokenHostPath,
      hostnamePrefix: `${prefix}-router`,
      serviceName,
      environment: props.routerEnvironment,
      cpus: props.routerCpus,
      memoryMb: props.routerMemoryMb,
      security: routerSecurity,
      hostPortBase: props.routerHostPortBase,
      sessionKeys,
      sessionKeysHostPath: props.sessionKeysHostPath,
      auth,
      backendCredentialsHostDir: props.backendCredentialsHostDir,
    };
    const routers = asOwnProps(
      ID,
      'RouterFleet',
      { instanceCount: 'instanceCount', maxInstances: 'maxInstances', image: 'routerImage', environment: 'routerEnvironment', cpus: 'routerCpus', memoryMb: 'routerMemoryMb', hostPortBase: 'routerHostPortBase', sessionKeysHostPath: 'sessionKeysHostPath', auth: 'auth', backendCredentialsHostDir: 'backendCredentialsHostDir', security: 'routerSecurity', consulTokenHostPath: 'existingConsul.routerTokenHostPath' },
      () => new RouterFleet(this, 'Routers', fleetProps),
    );
    if (useAgents) this.routerAgents = agent('RouterAgents', `${prefix}-router-agent-\${count.index + 1}`, this.accessControl?.routerAgentTokenSecret, instanceCount);
    // In one stack, the routers start after the servers (in two, the stacks are ordered).
    const sameStack = this.consul !== undefined && props.consulStack === undefined;
    this.routers = routers;
    if (sameStack) dependOn(routers.containers, this.consul!.container);

    const loadBalancer = asOwnProps(
      ID,
      'HaproxyLoadBalancer',
      {
        image: 'haproxyImage',
        publicBindAddress: 'publicBindAddress',
        publicPort: 'publicPort',
        adminBindAddress: 'adminBindAddress',
        statsPort: 'statsPort',
        mcpPort: 'mcpPort',
        enableMcp: 'enableMcp',
        tlsCertificateHostPath: 'tlsCertificateHostPath',
        statsAuthHostPath: 'statsAuthHostPath',
        config: 'haproxy',
        'config.mode': 'mode',
        'config.balance': 'balance',
        'config.maxInstances': 'maxInstances',
        security: 'haproxySecurity',
      },
      () =>
        new HaproxyLoadBalancer(this, 'LoadBalancer', {
          networkName: this.networkName,
          // Every Consul server answers DNS: HAProxy's resolvers section lists them all.
          consulDnsAddress: dnsServers[0],
          consulDnsAddresses: dnsServers.slice(1),
          consulDnsPort,
          containerName: `${prefix}-haproxy`,
          image: props.haproxyImage,
          publicBindAddress: publicBind,
          publicPort: ports.publicPort,
          adminBindAddress: adminBind,
          statsPort: ports.statsPort,
          mcpPort,
          enableMcp,
          tlsCertificateHostPath: props.tlsCertificateHostPath,
          statsAuthHostPath: props.statsAuthHostPath,
          security: security(props.haproxySecurity),
          config: {
            ...props.haproxy,
            mode: props.mode,
            balance: props.balance,
            maxInstances,
            serviceName,
            consulDomain: CONSUL_DOMAIN,
            routerMcpPort: ROUTER_MCP_PORT,
            maxCallMs,
            // The routers' admin port and readiness path (router-app's contract).
            healthCheck: { ...props.haproxy?.healthCheck, port: ROUTER_ADMIN_PORT, path: PATHS.readyz },
          },
        }),
    );
    // HAProxy resolves the nameservers' names at start: in one stack, it starts after every server.
    this.loadBalancer = loadBalancer;
    if (sameStack) for (const c of this.consul!.containers) dependOn(loadBalancer.container, c);

    if (props.demoBackends && props.demoBackends.length > 0) {
      const names = props.demoBackends;
      const hosts: Record<string, string> = {};
      const tokens: Record<string, string> = {};
      if (useAgents) {
        for (const name of names) {
          if (typeof name !== 'string' || !/^[a-z][a-z0-9-]{0,30}$/.test(name) || this.demoAgents[name]) continue; // DemoBackends refuses it, by name
          this.demoAgents[name] = agent(`DemoAgent-${name}`, `${prefix}-demo-agent-${name}`, this.accessControl?.mcpServerAgentTokenSecret(name));
          hosts[name] = `${prefix}-demo-agent-${name}`;
          if (this.accessControl) tokens[name] = this.accessControl.mcpServerTokenSecret(name);
        }
      }
      this.demoBackends = asOwnProps(ID, 'DemoBackends', { names: 'demoBackends', baseImage: 'nodeBaseImage', security: 'containerSecurity' }, () =>
        new DemoBackends(this, 'DemoBackends', {
          names,
          networkName: this.networkName,
          consulHost,
          consulPort: consulHttpPort,
          ...(useAgents ? { consulHosts: hosts } : {}),
          ...(this.accessControl ? { consulTokens: tokens } : {}),
          containerPrefix: `${prefix}-demo`,
          baseImage: props.nodeBaseImage,
          security: props.containerSecurity,
        }),
      );
      if (sameStack) for (const c of this.demoBackends.containers) dependOn(c, this.consul!.container);
    }

    this.routerEndpoint = loadBalancer.endpoint;
    this.mcpUrl = loadBalancer.mcpUrl;
    this.statsUrl = loadBalancer.statsUrl;

    // Output names are part of the contract (`terraform output router_endpoint`);
    // a second platform in the same stack gets its prefix in front.
    const out = (name: string) => (prefix === 'mcp' ? name : `${prefix.replace(/-/g, '_')}_${name}`);
    const output = (id: string, name: string, value: string, description: string) =>
      new TerraformOutput(this, id, { value, description }).overrideLogicalId(out(name));
    output('RouterEndpoint', 'router_endpoint', this.routerEndpoint, 'gRPC endpoint of the MCP router (HAProxy), host:port');
    if (this.mcpUrl) output('McpUrl', 'mcp_url', this.mcpUrl, 'MCP endpoint (Streamable HTTP) of the platform, for MCP clients');
    output('StatsUrl', 'stats_url', this.statsUrl, 'HAProxy stats page');
    output('ConsulUiUrl', 'consul_ui_url', this.consulUiUrl, `Consul UI page of the ${serviceName} service`);
    output('RouterInstanceNames', 'router_instance_names', routers.instanceNames, 'Router container names (hostnames)');
    if (this.accessControl?.operatorToken) {
      output('ConsulOperatorToken', 'consul_operator_token_accessor', this.accessControl.operatorToken.id, 'Accessor ID of the operator token (read its secret with the management token: consul acl token read -id <accessor>)');
    }
  }
}
