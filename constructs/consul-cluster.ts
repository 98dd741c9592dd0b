/**
 * A Consul cluster of 1, 3 or 5 server containers (the seed's
 * `-bootstrap-expect=3` for larger deployments): every server gets the agent
 * configuration from renderConsulAgentConfig with `bootstrap_expect` = the
 * server count and `retry_join` = every server's name, and the network alias
 * `consul`. One server (the first) publishes the UI, HTTP API and DNS on the
 * admin address. Names: `<prefix>-consul` for one server (as before),
 * `<prefix>-consul-1..N` for more.
 *
 * ACLs (optional, default deny): the initial management token is made at
 * apply time (Terraform random_uuid, its value in Terraform state only) or
 * read by Terraform from a file the operator keeps (`file()`, evaluated at
 * plan time, never written into the plan).
 */
import { Container } from '@cdktf/provider-docker/lib/container';
import { Uuid } from '@cdktf/provider-random/lib/uuid';
import { RandomProvider } from '@cdktf/provider-random/lib/provider';
import { Fn, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { PORTS, ROUTER_SERVICE } from '../router-app/src/contract';
import { ConsulAclOptions, CONSUL_DEFAULT_PORTS } from './consul-agent-config';
import { ConsulServer } from './consul-server';
import { ContainerSecurityProps } from './container-security';
import { asOwnProps, isUnresolved, propError, validateLiteral } from './validation';

/** Server counts a cluster may have: an odd number keeps a majority through a failure. */
export const CONSUL_SERVER_COUNTS = [1, 3, 5] as const;

export interface ConsulClusterAclProps {
  /** Consul's ACL settings (default deny, extend-cache, token persistence). @default renderConsulAgentConfig's ACL defaults */
  readonly options?: ConsulAclOptions;
  /**
   * Path, on the machine that runs Terraform, of a file holding the initial management token
   * (a UUID). Terraform reads it at plan time (`file()`); the plan holds only the expression.
   * @default a random_uuid made at apply time (its value lives in Terraform state)
   */
  readonly managementTokenFile?: string;
}

export interface ConsulClusterProps {
  /** Docker network the servers join. */
  readonly networkName: string;
  /** Number of servers: 1, 3 or 5. @default 1 */
  readonly servers?: number;
  /** Container name prefix: `<prefix>-consul` (one server) or `<prefix>-consul-<i>`. @default 'mcp' */
  readonly namePrefix?: string;
  /** @default 'hashicorp/consul:1.20' */
  readonly image?: string;
  /** Host address of the first server's UI/API and DNS. @default '127.0.0.1' */
  readonly adminBindAddress?: string;
  /** @default 8500 */
  readonly httpHostPort?: number;
  /** @default 8600 */
  readonly dnsHostPort?: number;
  /** Service whose UI page `uiUrl` points at. @default 'mcp-router' */
  readonly uiServiceName?: string;
  /** @default 'dc1' */
  readonly datacenter?: string;
  /** ACLs with default deny. @default none (no ACLs) */
  readonly acl?: ConsulClusterAclProps;
  /** Apply waits until every server is healthy (a later stack's Consul provider needs a leader). @default false */
  readonly waitHealthy?: boolean;
  /** Lockdown of every server container (ConsulServerProps.security). @default every setting locked down (CONSUL_SECURITY_DEFAULTS) */
  readonly security?: ContainerSecurityProps;
}

const ID = 'ConsulCluster';

export class ConsulCluster extends Construct {
  /** Server counts a cluster may have (1, 3, 5). */
  public static readonly SERVER_COUNTS: number[] = [...CONSUL_SERVER_COUNTS];

  public readonly servers: ConsulServer[];
  /** Server container names, in order (their DNS names on the network). */
  public readonly serverNames: string[];
  /** The first server (it publishes the UI/API and DNS). */
  public readonly container: Container;
  /** Address of the first server on the network. */
  public readonly address: string;
  public readonly httpPort = CONSUL_DEFAULT_PORTS.http;
  public readonly dnsPort = CONSUL_DEFAULT_PORTS.dns;
  public readonly uiUrl: string;
  /** Base URL of the first server's HTTP API as published on the host. */
  public readonly httpUrl: string;
  public readonly datacenter: string;
  /** The ACL settings the agents of this cluster must share (undefined: no ACLs). */
  public readonly aclOptions?: ConsulAclOptions;
  /** The initial management token: a Terraform expression (sensitive), undefined without ACLs. */
  public readonly managementToken?: string;
  /** The random_uuid behind `managementToken` (undefined with `managementTokenFile` or without ACLs). */
  public readonly managementTokenResource?: Uuid;

  constructor(scope: Construct, id: string, props: ConsulClusterProps) {
    super(scope, id);
    const count = props.servers ?? 1;
    validateLiteral(ID, 'servers', count);
    if (!CONSUL_SERVER_COUNTS.includes(count as 1 | 3 | 5)) {
      throw propError(ID, 'servers', count, `one of ${CONSUL_SERVER_COUNTS.join(', ')} (an odd number: a cluster keeps working while a majority is up; an even count adds a server without adding a failure it survives)`);
    }
    const prefix = props.namePrefix ?? 'mcp';
    this.serverNames = count === 1 ? [`${prefix}-consul`] : Array.from({ length: count }, (_, i) => `${prefix}-consul-${i + 1}`);

    if (props.acl !== undefined) {
      const file = props.acl.managementTokenFile;
      if (file !== undefined) {
        if (typeof file !== 'string' || file.trim() === '' || isUnresolved(file)) throw propError(ID, 'acl.managementTokenFile', file, 'a literal path of a file on the machine that runs Terraform');
        // sensitive(): Terraform never shows it in plan output; trimspace(): a trailing newline is no part of the token.
        this.managementToken = Fn.sensitive(Fn.trimspace(Fn.file(file)));
      } else {
        const stack = TerraformStack.of(this);
        if (!stack.node.findAll().some((c) => c instanceof RandomProvider)) new RandomProvider(stack, 'random');
        this.managementTokenResource = new Uuid(this, 'ManagementToken', {});
        this.managementToken = this.managementTokenResource.result;
      }
      this.aclOptions = props.acl.options ?? {};
    }

    this.servers = this.serverNames.map((name, i) =>
      asOwnProps(ID, 'ConsulServer', { image: 'image', adminBindAddress: 'adminBindAddress', httpHostPort: 'httpHostPort', dnsHostPort: 'dnsHostPort', 'agentConfig.acl': 'acl.options', 'agentConfig.datacenter': 'datacenter', security: 'security' }, () =>
        new ConsulServer(this, count === 1 ? 'Server' : `Server${i + 1}`, {
          networkName: props.networkName,
          containerName: name,
          image: props.image,
          adminBindAddress: props.adminBindAddress,
          httpHostPort: props.httpHostPort ?? PORTS.consulHttp,
          dnsHostPort: props.dnsHostPort ?? PORTS.consulDns,
          publish: i === 0,
          uiServiceName: props.uiServiceName ?? ROUTER_SERVICE.name,
          agentConfig: {
            datacenter: props.datacenter,
            bootstrapExpect: count,
            // Every server's name, its own included: one config for all, and a restarted server finds the others.
            retryJoin: count > 1 ? this.serverNames : [],
            ...(this.aclOptions !== undefined ? { acl: this.aclOptions } : {}),
          },
          aclManagementToken: this.managementToken,
          waitHealthy: props.waitHealthy,
          security: props.security,
        }),
      ),
    );
    const first = this.servers[0];
    this.container = first.container;
    this.address = first.address;
    this.uiUrl = first.uiUrl;
    this.httpUrl = first.httpUrl;
    this.datacenter = first.datacenter;
  }

  /** Every server container (for depends_on). */
  get containers(): Container[] {
    return this.servers.map((s) => s.container);
  }
}
