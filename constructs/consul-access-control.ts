/**
 * The platform's Consul ACLs, declared with the Consul provider
 * (@cdktf/provider-consul) in a stack applied after the one that runs the
 * Consul servers (the provider cannot plan against a Consul created in the
 * same apply). Policies (consul-acl-policies.ts) and tokens:
 *   - routers: one token for every router (its own service: write);
 *   - the routers' client agents: one token each, a node identity for exactly
 *     its node (`count` = the router count);
 *   - each self-registering MCP server (the demo servers): a token that writes
 *     exactly its service name, and one node identity for its agent;
 *   - DNS: a policy attached to the anonymous token (HAProxy's queries);
 *   - an operator token.
 * Consul makes every token's secret; `data.consul_acl_token_secret_id` reads
 * it back at apply time, and the containers get it as a file whose content is
 * that reference: the plan never holds a secret, Terraform state does.
 */
import { AclPolicy } from '@cdktf/provider-consul/lib/acl-policy';
import { AclToken } from '@cdktf/provider-consul/lib/acl-token';
import { AclTokenPolicyAttachment } from '@cdktf/provider-consul/lib/acl-token-policy-attachment';
import { DataConsulAclTokenSecretId } from '@cdktf/provider-consul/lib/data-consul-acl-token-secret-id';
import { propertyAccess, ref, TerraformCount, TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';
import { ROUTER_SERVICE } from '../router-app/src/contract';
import { dnsPolicyRules, mcpServerPolicyRules, operatorPolicyRules, routerPolicyRules } from './consul-acl-policies';
import { propError, validateName, validateRequiredString } from './validation';

/** Accessor ID of Consul's built-in anonymous token (what DNS queries without a token use). */
export const CONSUL_ANONYMOUS_TOKEN_ACCESSOR = '00000000-0000-0000-0000-000000000002';

/** Client agents with a count: how many, and their node name template. */
export interface ConsulAgentNodes {
  /** How many agents (a number or a token, e.g. the router count). */
  readonly count: number;
  /** Node name template with `${count.index}`, e.g. `mcp-router-agent-${count.index + 1}`. */
  readonly nodeName: string;
}

/** An MCP server that registers itself, with its client agent's node name. */
export interface SelfRegisteringMcpServer {
  /** Its Consul service name. */
  readonly name: string;
  /** Node name of its client agent. */
  readonly agentNodeName: string;
}

export interface ConsulAccessControlProps {
  /** Prefix of policy names and token descriptions (several platforms may share a Consul). @default 'mcp' */
  readonly namePrefix?: string;
  /** @default 'dc1' */
  readonly datacenter?: string;
  /** The routers' Consul service. @default 'mcp-router' */
  readonly routerServiceName?: string;
  /**
   * The routers' client agents: how many (the router count, a number or a token) and their node
   * name, a template with `${count.index}` (e.g. `mcp-router-agent-${count.index + 1}`).
   */
  readonly routerAgents: ConsulAgentNodes;
  /** Prefix shared by the routers' agent node names (the DNS policy reads those nodes). */
  readonly routerNodePrefix: string;
  /** MCP servers that register themselves, each with its client agent's node name. @default [] */
  readonly mcpServers?: SelfRegisteringMcpServer[];
  /** KV keys the routers read (e.g. their auth rules' key). @default [] (no KV access) */
  readonly routerReadKeys?: string[];
  /** Declare an operator token. @default true */
  readonly operatorToken?: boolean;
}

const ID = 'ConsulAccessControl';

export class ConsulAccessControl extends Construct {
  /** Accessor ID of Consul's built-in anonymous token (what DNS queries without a token use). */
  public static readonly ANONYMOUS_TOKEN_ACCESSOR: string = CONSUL_ANONYMOUS_TOKEN_ACCESSOR;

  public readonly routerPolicy: AclPolicy;
  public readonly routerToken: AclToken;
  /** The router token's secret, a Terraform reference (for a file in the router containers). */
  public readonly routerTokenSecret: string;
  public readonly routerAgentTokens: AclToken;
  /** The router agents' token secrets, a template with `count.index` (for the agent containers, same count). */
  public readonly routerAgentTokenSecret: string;
  public readonly dnsPolicy: AclPolicy;
  public readonly operatorToken?: AclToken;
  private readonly mcp = new Map<string, { token: string; agentToken: string }>();

  constructor(scope: Construct, id: string, props: ConsulAccessControlProps) {
    super(scope, id);
    const prefix = props.namePrefix ?? 'mcp';
    validateName(ID, 'namePrefix', prefix);
    const dc = props.datacenter ?? 'dc1';
    const service = props.routerServiceName ?? ROUTER_SERVICE.name;
    validateName(ID, 'routerServiceName', service);
    validateRequiredString(ID, 'routerNodePrefix', props.routerNodePrefix, 'the prefix of the routers\' agent node names');
    validateRequiredString(ID, 'routerAgents.nodeName', props.routerAgents?.nodeName, 'a node name template with ${count.index}');

    const secretOf = (tokenId: string, token: AclToken, counted: boolean) => {
      const data = new DataConsulAclTokenSecretId(this, `${tokenId}Secret`, {
        accessorId: counted ? `\${${token.fqn}[count.index].id}` : token.id,
        ...(counted ? { count: TerraformCount.of(props.routerAgents.count) } : {}),
      });
      // An instance of a counted data source, for a resource with the same count: data.X[count.index].secret_id
      // (a token, so it also works inside Terraform functions such as jsonencode).
      return counted
        ? Token.asString(propertyAccess(ref(`data.${DataConsulAclTokenSecretId.tfResourceType}.${data.friendlyUniqueId}`, TerraformStack.of(this)), [TerraformCount.of(props.routerAgents.count).index, 'secret_id']))
        : data.secretId;
    };

    this.routerPolicy = new AclPolicy(this, 'RouterPolicy', { name: `${prefix}-router`, description: `MCP routers (${prefix}): write their service ${service}, read services and nodes`, rules: routerPolicyRules(service, props.routerReadKeys ?? []) });
    this.routerToken = new AclToken(this, 'RouterToken', { description: `MCP routers (${prefix})`, policies: [this.routerPolicy.name] });
    this.routerTokenSecret = secretOf('RouterToken', this.routerToken, false);

    this.routerAgentTokens = new AclToken(this, 'RouterAgentToken', {
      count: TerraformCount.of(props.routerAgents.count),
      description: `Consul agent of MCP router \${count.index + 1} (${prefix})`,
      nodeIdentities: [{ nodeName: props.routerAgents.nodeName, datacenter: dc }],
    });
    this.routerAgentTokenSecret = secretOf('RouterAgentToken', this.routerAgentTokens, true);

    const names = new Set<string>();
    for (const s of props.mcpServers ?? []) {
      validateName(ID, 'mcpServers.name', s.name);
      if (names.has(s.name)) throw propError(ID, 'mcpServers', s.name, 'distinct MCP server names');
      names.add(s.name);
      const policy = new AclPolicy(this, `McpServerPolicy-${s.name}`, { name: `${prefix}-mcp-server-${s.name}`, description: `MCP server ${s.name} (${prefix}): write exactly its service`, rules: mcpServerPolicyRules(s.name) });
      const token = new AclToken(this, `McpServerToken-${s.name}`, { description: `MCP server ${s.name} (${prefix})`, policies: [policy.name] });
      const agentToken = new AclToken(this, `McpServerAgentToken-${s.name}`, { description: `Consul agent of MCP server ${s.name} (${prefix})`, nodeIdentities: [{ nodeName: s.agentNodeName, datacenter: dc }] });
      this.mcp.set(s.name, { token: secretOf(`McpServerToken-${s.name}`, token, false), agentToken: secretOf(`McpServerAgentToken-${s.name}`, agentToken, false) });
    }

    this.dnsPolicy = new AclPolicy(this, 'DnsPolicy', { name: `${prefix}-dns`, description: `DNS for HAProxy (${prefix}): read the ${service} service and its nodes only`, rules: dnsPolicyRules(service, props.routerNodePrefix) });
    new AclTokenPolicyAttachment(this, 'AnonymousDns', { tokenId: CONSUL_ANONYMOUS_TOKEN_ACCESSOR, policy: this.dnsPolicy.name });

    if (props.operatorToken ?? true) {
      const policy = new AclPolicy(this, 'OperatorPolicy', { name: `${prefix}-operator`, description: `Operators (${prefix}): read everything, register MCP servers by hand`, rules: operatorPolicyRules() });
      this.operatorToken = new AclToken(this, 'OperatorToken', { description: `Operator (${prefix})`, policies: [policy.name] });
    }
  }

  /** The token secret of a self-registering MCP server, a Terraform reference. */
  mcpServerTokenSecret(name: string): string {
    const t = this.mcp.get(name);
    if (!t) throw propError(ID, 'mcpServers', name, `one of the declared MCP servers (${[...this.mcp.keys()].join(', ') || 'none'})`);
    return t.token;
  }

  /** The token secret of an MCP server's client agent, a Terraform reference. */
  mcpServerAgentTokenSecret(name: string): string {
    const t = this.mcp.get(name);
    if (!t) throw propError(ID, 'mcpServers', name, `one of the declared MCP servers (${[...this.mcp.keys()].join(', ') || 'none'})`);
    return t.agentToken;
  }
}
