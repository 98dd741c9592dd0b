/**
 * Which backends a Consul registration may point the router at: the address
 * ranges any backend may be at (MCP_ROUTER_BACKEND_ALLOWED_CIDRS) and,
 * optionally, the namespaces that may be served and from where
 * (MCP_ROUTER_BACKEND_ALLOWED_NAMESPACES). A registration is anyone who can
 * write to Consul; this is the router's own defence in depth behind Consul's
 * ACLs.
 *
 * - An IP address is checked when the registration is read; a host name is
 *   checked when it is resolved, at every connection (`lookup`), so a name
 *   that resolves to the metadata address, or is re-pointed later, is refused
 *   too.
 * - Namespace rules: `name` (served from any allowed address), `name@cidr`
 *   (only from that range; repeat the entry for more ranges), and a trailing
 *   `*` matches a prefix (`team-a-*`). With rules set, a namespace no rule
 *   names is refused; a registration that reuses a namespace from an address
 *   outside its ranges is refused, so it cannot join that server's pool.
 *
 * CIDR matching is node's net.BlockList.
 */
import * as dns from 'node:dns';
import * as net from 'node:net';

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

export interface NamespaceRule {
  /** Exact name, or a prefix when `prefix` is true (the entry ended in `*`). */
  readonly name: string;
  readonly prefix: boolean;
  /** Ranges this namespace may be served from; empty: any allowed address. */
  readonly cidrs: readonly Cidr[];
}

/** Parses `a.b.c.d/n` or `x::y/n` (a bare address is a single host); throws a message saying what is allowed. */
export function parseCidr(text: string): Cidr {
  const t = text.trim();
  const slash = t.lastIndexOf('/');
  const address = slash >= 0 ? t.slice(0, slash) : t;
  const v = net.isIP(address);
  if (v === 0) throw new Error(`${JSON.stringify(text)} is not an IP address or CIDR range such as 10.0.0.0/8 or fc00::/7`);
  const max = v === 4 ? 32 : 128;
  const prefixText = slash >= 0 ? t.slice(slash + 1) : String(max);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) throw new Error(`${JSON.stringify(text)}: the prefix length must be 0 to ${max}`);
  return { address, prefix: Number(prefixText), family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** Comma-separated CIDR ranges. */
export function parseCidrList(text: string): Cidr[] {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error('must list at least one CIDR range, such as 10.0.0.0/8');
  return parts.map(parseCidr);
}

const NAME_RULE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\*?$|^\*$/;

/** Comma-separated namespace rules: `name`, `name@cidr`, `prefix*`, `prefix*@cidr`. */
export function parseNamespaceRules(text: string): NamespaceRule[] {
  const byName = new Map<string, { name: string; prefix: boolean; cidrs: Cidr[]; any: boolean }>();
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error('must list at least one namespace, such as demo or demo@10.0.1.0/24');
  for (const part of parts) {
    const at = part.indexOf('@');
    const name = at >= 0 ? part.slice(0, at) : part;
    if (!NAME_RULE.test(name)) throw new Error(`${JSON.stringify(part)}: a namespace rule is a name of letters, digits, "_", "." or "-" (a trailing "*" matches a prefix), optionally followed by @<cidr>`);
    const key = name;
    const rule = byName.get(key) ?? { name: name.endsWith('*') ? name.slice(0, -1) : name, prefix: name.endsWith('*'), cidrs: [], any: false };
    if (at >= 0) rule.cidrs.push(parseCidr(part.slice(at + 1)));
    else rule.any = true;
    byName.set(key, rule);
  }
  // A name listed both bare and with ranges: the bare entry allows any address.
  return [...byName.values()].map((r) => ({ name: r.name, prefix: r.prefix, cidrs: r.any ? [] : r.cidrs }));
}

function blockListOf(cidrs: readonly Cidr[]): net.BlockList {
  const list = new net.BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family);
  return list;
}

const familyOf = (ip: string): 'ipv4' | 'ipv6' => (net.isIP(ip) === 6 ? 'ipv6' : 'ipv4');

/** Why a backend address or namespace is refused, by kind (the metric's label). */
export type RefusalKind = 'invalid' | 'address' | 'namespace' | 'limit';

export class Refusal {
  constructor(
    readonly kind: RefusalKind,
    readonly reason: string,
  ) {}
}

/** The address check of one backend (its namespace's ranges within the allowed ones), used at registration and at connect time. */
export interface AddressGuard {
  /** Undefined when `ip` may be connected to, else why not. */
  check(ip: string): string | undefined;
  /** The same, as a Refusal: `address` outside the allowed ranges, `namespace` outside the namespace's own. */
  refusal(ip: string): Refusal | undefined;
}

export class BackendPolicy {
  private readonly allowed: net.BlockList;
  private readonly rules?: ReadonlyArray<NamespaceRule & { readonly list?: net.BlockList }>;

  constructor(
    readonly allowedCidrs: readonly Cidr[],
    namespaceRules?: readonly NamespaceRule[],
    private readonly names = { cidrs: 'MCP_ROUTER_BACKEND_ALLOWED_CIDRS', namespaces: 'MCP_ROUTER_BACKEND_ALLOWED_NAMESPACES' },
  ) {
    this.allowed = blockListOf(allowedCidrs);
    this.rules = namespaceRules?.map((r) => ({ ...r, list: r.cidrs.length ? blockListOf(r.cidrs) : undefined }));
  }

  /** True when the allowed ranges include `ip` (e.g. to warn that the metadata address is allowed). */
  allows(ip: string): boolean {
    return this.allowed.check(ip, familyOf(ip));
  }

  /** The address guard for `namespace`, or a Refusal when the namespace may not be served at all. */
  guardFor(namespace: string): AddressGuard | Refusal {
    let list: net.BlockList | undefined;
    let ranges = '';
    if (this.rules) {
      const rule = this.rules.find((r) => (r.prefix ? namespace.startsWith(r.name) : namespace === r.name));
      if (!rule) return new Refusal('namespace', `namespace ${JSON.stringify(namespace)} is not in ${this.names.namespaces}`);
      list = rule.list;
      ranges = rule.cidrs.map((c) => `${c.address}/${c.prefix}`).join(', ');
    }
    const refusal = (ip: string): Refusal | undefined => {
      const family = familyOf(ip);
      if (!this.allowed.check(ip, family)) return new Refusal('address', `address ${ip} is outside ${this.names.cidrs}`);
      if (list && !list.check(ip, family)) return new Refusal('namespace', `namespace ${JSON.stringify(namespace)} may only be served from ${ranges} (${this.names.namespaces}); address ${ip} is not`);
      return undefined;
    };
    return { refusal, check: (ip: string) => refusal(ip)?.reason };
  }

  /**
   * Checks a registration's address (an IP now; a host name is checked when
   * it resolves, with the guard returned) and namespace: the address guard
   * when allowed, else the Refusal.
   */
  admit(address: string, namespace: string): AddressGuard | Refusal {
    const guard = this.guardFor(namespace);
    if (guard instanceof Refusal || net.isIP(address) === 0) return guard;
    return guard.refusal(address) ?? guard;
  }
}

/** Error code of a connection refused by the address guard (never sent). */
export const ADDRESS_REFUSED = 'ERR_BACKEND_ADDRESS_REFUSED';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for node:http(s) that resolves as dns.lookup does and refuses the
 * connection (error code ERR_BACKEND_ADDRESS_REFUSED) when no resolved address
 * passes the guard; addresses that fail are dropped.
 */
export function guardedLookup(guard: AddressGuard): net.LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, options.all ? [] : '', undefined);
      const list = addresses as dns.LookupAddress[];
      const ok = list.filter((a) => guard.check(a.address) === undefined);
      if (ok.length === 0) {
        const why = list.length ? guard.check(list[0].address)! : 'no address';
        const e: NodeJS.ErrnoException = new Error(`host ${hostname} resolves to ${list.map((a) => a.address).join(', ') || 'nothing'}: ${why}`);
        e.code = ADDRESS_REFUSED;
        return callback(e, options.all ? [] : '', undefined);
      }
      if (options.all) return callback(null, ok);
      callback(null, ok[0].address, ok[0].family);
    });
  }) as unknown as net.LookupFunction;
}
