/**
 * The Consul ACL policies of the platform, as rule text (HCL), each with the
 * least its holder needs. Pure: names in, rules out; ConsulAccessControl
 * declares them with the Consul provider, the tests apply them to a real
 * Consul and check what they allow and refuse.
 *
 * Consul's rules name services and nodes, not tags: "the services tagged for
 * MCP" cannot be a rule, so the routers read every service (`service_prefix ""`)
 * and pick the tagged ones themselves; what they may WRITE is exactly their
 * own service.
 */

const block = (kind: string, name: string, policy: 'read' | 'write') => `${kind} ${JSON.stringify(name)} {\n  policy = ${JSON.stringify(policy)}\n}\n`;

/**
 * Routers: register (and deregister, re-register) their own service; read every service
 * (discovery of MCP servers by tag, the peers' registrations) and every node (health queries
 * return nodes); read exactly the KV keys named (their auth rules' key, when in Consul).
 */
export function routerPolicyRules(routerServiceName: string, readKeys: readonly string[] = []): string {
  return [block('service', routerServiceName, 'write'), block('service_prefix', '', 'read'), block('node_prefix', '', 'read'), ...readKeys.map((k) => block('key', k, 'read'))].join('');
}

/** An MCP server that registers itself: write exactly its own service name, nothing else. */
export function mcpServerPolicyRules(serviceName: string): string {
  return block('service', serviceName, 'write');
}

/**
 * DNS for HAProxy (attached to the anonymous token, which DNS queries use): read the routers'
 * service, and the nodes it runs on (the routers' client agents, by their name prefix), which
 * Consul needs to answer a service query. Nothing else.
 */
export function dnsPolicyRules(routerServiceName: string, routerNodePrefix: string): string {
  return [block('service', routerServiceName, 'read'), block('node_prefix', routerNodePrefix, 'read')].join('');
}

/**
 * An operator: see everything the platform runs (services, nodes, agents, Raft peers) and
 * register or remove MCP servers by hand (any service). No ACL administration (that is the
 * management token's), no KV.
 */
export function operatorPolicyRules(): string {
  return ['operator = "read"\n', block('agent_prefix', '', 'read'), block('node_prefix', '', 'read'), block('service_prefix', '', 'write')].join('');
}

/** The platform's ACL policy rules (HCL), as the package exports them (static methods). */
export class ConsulAclPolicies {
  /** Routers: write their service, read services and nodes, read the KV keys named. */
  public static routerRules(routerServiceName: string, readKeys?: string[]): string {
    return routerPolicyRules(routerServiceName, readKeys ?? []);
  }

  /** A self-registering MCP server: write exactly its service. */
  public static mcpServerRules(serviceName: string): string {
    return mcpServerPolicyRules(serviceName);
  }

  /** DNS (the anonymous token): read the routers' service and their agents' nodes. */
  public static dnsRules(routerServiceName: string, routerNodePrefix: string): string {
    return dnsPolicyRules(routerServiceName, routerNodePrefix);
  }

  /** An operator: read everything, register MCP servers by hand; no ACL administration, no KV. */
  public static operatorRules(): string {
    return operatorPolicyRules();
  }

  private constructor() {}
}
