/**
 * The whole platform in one construct: a Docker network, a Consul server,
 * N MCP routers built from router-app/, and HAProxy in front of them, with
 * Terraform outputs for every endpoint a user needs. Bring your own network,
 * Consul or image to reuse what you already run.
 */
import { Network } from '@cdktf/provider-docker/lib/network';
import { Password } from '@cdktf/provider-random/lib/password';
import { RandomProvider } from '@cdktf/provider-random/lib/provider';
import { Annotations, TerraformOutput, TerraformResource, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { BalanceAlgorithm, HaproxyMode, HaproxyTuningOptions, PlatformHealthCheckOptions } from '../haproxy-templates';
import { CONSUL_DOMAIN, LIMITS, PATHS, PATTERNS, PORTS, ROUTER_ENV, ROUTER_SERVICE } from '../router-app/src/contract';
import { ConsulServer } from './consul-server';
import { DemoBackends } from './demo-backend';
import { HaproxyLoadBalancer } from './haproxy-load-balancer';
import { RouterFleet, RouterFleetProps, ROUTER_ADMIN_PORT, ROUTER_MCP_PORT } from './router-fleet';
import { RouterImage } from './router-image';
import { RateLimitProps, RouterAuthProps } from './router-auth';
import { ContainerSecurityProps, mergeContainerSecurity, validateContainerSecurity } from './container-security';
import { asOwnProps, checkObject, isUnresolved, propError, resolveEnableMcp, validateDistinctPorts, validateLiteral, validateName, validatePort } from './validation';

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
  /** Use this Consul instead of deploying a server. @default a Consul server container */
  readonly existingConsul?: ExistingConsul;
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
  /** Memory per router in MiB (vertical scaling); 0 for no limit. The same as `routerSecurity.memoryMb`. @default 256 */
  readonly routerMemoryMb?: number;
  /**
   * Lockdown of every container of the platform (routers, HAProxy, Consul, demo servers):
   * read-only root filesystem, all capabilities dropped, no-new-privileges, memory and CPU
   * limits, log rotation. Set a field to relax it everywhere (e.g. `{ logMaxSizeMb: 50 }`);
   * `routerSecurity`, `haproxySecurity` and `consulSecurity` override it field by field for one part.
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
  /** The Consul server (undefined when `existingConsul` is given). */
  public readonly consul?: ConsulServer;
  /** The router image build (undefined when `routerImage` is given). */
  public readonly routerImage?: RouterImage;
  public readonly routers: RouterFleet;
  /** Demo MCP servers (undefined unless `demoBackends` is given). */
  public readonly demoBackends?: DemoBackends;
  public readonly loadBalancer: HaproxyLoadBalancer;
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
    const security = (own: ContainerSecurityProps | undefined) => mergeContainerSecurity(props.containerSecurity, own);
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

    if (props.existingNetworkName !== undefined) {
      if (typeof props.existingNetworkName !== 'string' || props.existingNetworkName === '') {
        throw propError(ID, 'existingNetworkName', props.existingNetworkName, 'a Docker network name');
      }
      this.networkName = props.existingNetworkName;
    } else {
      this.network = new Network(this, 'Network', { name: `${prefix}-net`, driver: 'bridge', attachable: true });
      this.networkName = this.network.name;
    }

    let consulHost: string;
    let consulHttpPort: number;
    let consulDnsPort: number;
    if (props.existingConsul) {
      consulHost = props.existingConsul.host;
      consulHttpPort = props.existingConsul.httpPort ?? PORTS.consulHttp;
      consulDnsPort = props.existingConsul.dnsPort ?? PORTS.consulDns;
      this.consulUiUrl = props.existingConsul.uiUrl ?? '';
    } else {
      this.consul = asOwnProps(ID, 'ConsulServer', { image: 'consulImage', adminBindAddress: 'adminBindAddress', httpHostPort: 'consulHttpPort', dnsHostPort: 'consulDnsPort', security: 'consulSecurity' }, () =>
        new ConsulServer(this, 'Consul', {
          networkName: this.networkName,
          containerName: `${prefix}-consul`,
          image: props.consulImage,
          adminBindAddress: adminBind,
          httpHostPort: ports.consulHttpPort,
          dnsHostPort: ports.consulDnsPort,
          uiServiceName: serviceName,
          security: security(props.consulSecurity),
        }),
      );
      consulHost = this.consul.address;
      consulHttpPort = this.consul.httpPort;
      consulDnsPort = this.consul.dnsPort;
      this.consulUiUrl = this.consul.uiUrl;
    }

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
    // routerCpus / routerMemoryMb win over containerSecurity's limits (they are the routers' own).
    const routerSecurity = mergeContainerSecurity(
      props.containerSecurity && { ...props.containerSecurity, ...(props.routerCpus !== undefined ? { cpus: undefined } : {}), ...(props.routerMemoryMb !== undefined ? { memoryMb: undefined } : {}) },
      props.routerSecurity,
    );
    const fleetProps: RouterFleetProps = {
      instanceCount,
      maxInstances,
      image,
      networkName: this.networkName,
      consulHost,
      consulPort: consulHttpPort,
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
    this.routers = asOwnProps(
      ID,
      'RouterFleet',
      { instanceCount: 'instanceCount', maxInstances: 'maxInstances', image: 'routerImage', environment: 'routerEnvironment', cpus: 'routerCpus', memoryMb: 'routerMemoryMb', security: 'routerSecurity', hostPortBase: 'routerHostPortBase', sessionKeysHostPath: 'sessionKeysHostPath', auth: 'auth', backendCredentialsHostDir: 'backendCredentialsHostDir' },
      () => new RouterFleet(this, 'Routers', fleetProps),
    );
    if (this.consul) dependOn(this.routers.containers, this.consul.container);

    this.loadBalancer = asOwnProps(
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
          consulDnsAddress: consulHost,
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
    if (this.consul) dependOn(this.loadBalancer.container, this.consul.container);

    if (props.demoBackends && props.demoBackends.length > 0) {
      this.demoBackends = asOwnProps(ID, 'DemoBackends', { names: 'demoBackends', baseImage: 'nodeBaseImage', security: 'containerSecurity' }, () =>
        new DemoBackends(this, 'DemoBackends', {
          names: props.demoBackends!,
          networkName: this.networkName,
          consulHost,
          consulPort: consulHttpPort,
          containerPrefix: `${prefix}-demo`,
          baseImage: props.nodeBaseImage,
          security: props.containerSecurity,
        }),
      );
      if (this.consul) for (const c of this.demoBackends.containers) dependOn(c, this.consul.container);
    }

    this.routerEndpoint = this.loadBalancer.endpoint;
    this.mcpUrl = this.loadBalancer.mcpUrl;
    this.statsUrl = this.loadBalancer.statsUrl;

    // Output names are part of the contract (`terraform output router_endpoint`);
    // a second platform in the same stack gets its prefix in front.
    const out = (name: string) => (prefix === 'mcp' ? name : `${prefix.replace(/-/g, '_')}_${name}`);
    const output = (id: string, name: string, value: string, description: string) =>
      new TerraformOutput(this, id, { value, description }).overrideLogicalId(out(name));
    output('RouterEndpoint', 'router_endpoint', this.routerEndpoint, 'gRPC endpoint of the MCP router (HAProxy), host:port');
    if (this.mcpUrl) output('McpUrl', 'mcp_url', this.mcpUrl, 'MCP endpoint (Streamable HTTP) of the platform, for MCP clients');
    output('StatsUrl', 'stats_url', this.statsUrl, 'HAProxy stats page');
    output('ConsulUiUrl', 'consul_ui_url', this.consulUiUrl, `Consul UI page of the ${serviceName} service`);
    output('RouterInstanceNames', 'router_instance_names', this.routers.instanceNames, 'Router container names (hostnames)');
  }
}
