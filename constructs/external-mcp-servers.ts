/**
 * MCP servers that run in no container of the platform (SaaS endpoints, other
 * teams' servers) in the Consul catalogue, declared with the Consul provider:
 * one `consul_node` (the endpoint's host) and one `consul_service` each, tag
 * `mcp-server`, meta `mcp_path`, `namespace`, `mcp_scheme` (and
 * `mcp_tls_server_name`), and an HTTP or TCP check. The routers pick them up
 * like any other backend, over HTTPS when the URL says https.
 *
 * Consul agents run the checks of the services registered through them only;
 * a catalogue entry's check is run by consul-esm (HashiCorp's External
 * Service Monitor), which probes nodes whose meta says `external-node` and
 * `external-probe` (set here). Without it the check keeps `initialStatus`,
 * and a router's circuit breaker is what notices the endpoint failing.
 */
import { Node } from '@cdktf/provider-consul/lib/node';
import { Service } from '@cdktf/provider-consul/lib/service';
import { Construct } from 'constructs';
import { MCP_SERVER_DISCOVERY, PATHS, PATTERNS } from '../router-app/src/contract';
import { checkObject, checkOneOf, isUnresolved, propError } from './validation';

/** How an external MCP server is checked. */
export enum ExternalCheckType {
  /** Connect to host:port (an MCP endpoint answers a plain GET with 4xx). */
  TCP = 'tcp',
  /** GET a health path (2xx passes). */
  HTTP = 'http',
}

/** A check's status until a prober (consul-esm) runs it. */
export enum ExternalCheckStatus {
  PASSING = 'passing',
  CRITICAL = 'critical',
}

export interface ExternalMcpServerCheck {
  /**
   * `TCP`: connect to host:port (an MCP endpoint answers a plain GET with 4xx). `HTTP`: GET `path` (2xx passes).
   * @default ExternalCheckType.TCP
   * @jsii suppress JSII5018 (the name every check option of this package uses)
   */
  readonly type?: ExternalCheckType;
  /** Path of the health endpoint for an `http` check (same scheme, host and port as the URL). @default '/healthz' */
  readonly path?: string;
  /** @default 10 */
  readonly intervalSeconds?: number;
  /** @default 5 */
  readonly timeoutSeconds?: number;
}

export interface ExternalMcpServer {
  /** Consul service name, and the tools' namespace unless `namespace` is given: a DNS label, distinct. */
  readonly name: string;
  /** The Streamable HTTP endpoint: `http(s)://host[:port]/path`, no credentials, query or fragment. */
  readonly url: string;
  /**
   * Prefix of its tools and prompts (`<namespace>__<tool>`); the Consul meta key of the same name.
   * @default name
   * @jsii suppress JSII5018 (the platform's word for it: the registration meta key)
   */
  readonly namespace?: string;
  /** Name for SNI and certificate verification when the URL's host is an IP. @default none (the host) */
  readonly tlsServerName?: string;
  /** Its health check. @default a TCP check every 10 s */
  readonly check?: ExternalMcpServerCheck;
  /**
   * The check's status until a prober (consul-esm) runs it: `passing` lets the routers use the
   * server at once, `CRITICAL` keeps it out until probed. @default ExternalCheckStatus.PASSING
   */
  readonly initialStatus?: ExternalCheckStatus;
}

export interface ExternalMcpServersProps {
  readonly servers: ExternalMcpServer[];
  /** Prefix of the Consul node names (`<prefix>-external-<name>`). @default 'mcp' */
  readonly namePrefix?: string;
  /** @default 'dc1' */
  readonly datacenter?: string;
}

/** What the routers will call, parsed from an external server's URL. */
export interface ParsedMcpUrl {
  readonly scheme: 'http' | 'https';
  readonly host: string;
  readonly port: number;
  readonly path: string;
}

const ID = 'ExternalMcpServers';
const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** The routers' rule for mcp_path (router-app's discovery): an absolute path without dot segments. */
const PATH_RE = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,511}$/;

/** Parses and checks an external MCP server's URL; throws a PropError naming `prop`. */
export function parseMcpUrl(scope: string, prop: string, url: unknown): ParsedMcpUrl {
  const allowed = 'an http(s) URL such as https://mcp.example.com/mcp (a host name or IPv4 address, optional port, an absolute path; no credentials, query or fragment)';
  if (typeof url !== 'string' || isUnresolved(url)) throw propError(scope, prop, url, allowed);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw propError(scope, prop, url, allowed);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password || u.search || u.hash || url.includes('?') || url.includes('#')) throw propError(scope, prop, url, allowed);
  // The path as written must be the path the routers will call: no dot segments (also encoded),
  // nothing the URL parser would rewrite.
  const rawPath = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(rawPath) || (rawPath !== '' && rawPath !== u.pathname)) throw propError(scope, prop, url, allowed);
  const host = u.hostname;
  if (!PATTERNS.host.test(host)) throw propError(scope, prop, url, allowed);
  const path = u.pathname === '' ? PATHS.mcp : u.pathname;
  if (!PATH_RE.test(path) || /(^|\/)\.\.?(\/|$)/.test(path)) throw propError(scope, prop, url, allowed);
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  const port = u.port ? Number(u.port) : scheme === 'https' ? 443 : 80;
  return { scheme, host, port, path };
}

export class ExternalMcpServers extends Construct {
  public readonly nodes: Node[] = [];
  public readonly services: Service[] = [];

  constructor(scope: Construct, id: string, props: ExternalMcpServersProps) {
    super(scope, id);
    if (!Array.isArray(props.servers)) throw propError(ID, 'servers', props.servers, 'a list of { name, url, namespace?, tlsServerName?, check?, initialStatus? }');
    const prefix = props.namePrefix ?? 'mcp';
    const seen = new Set<string>();
    props.servers.forEach((s, i) => {
      const at = `servers[${i}]`;
      checkObject(ID, at, s, 'an object { name, url, namespace?, tlsServerName?, check?, initialStatus? }');
      if (typeof s.name !== 'string' || !NAME_RE.test(s.name)) throw propError(ID, `${at}.name`, s.name, 'a DNS label (lowercase letters, digits and hyphens, 1-63 characters)');
      if (seen.has(s.name)) throw propError(ID, `${at}.name`, s.name, `distinct from the other external servers' names ("${s.name}" appears twice)`);
      seen.add(s.name);
      const url = parseMcpUrl(ID, `${at}.url`, s.url);
      const namespace = s.namespace ?? s.name;
      if (typeof namespace !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(namespace)) throw propError(ID, `${at}.namespace`, s.namespace, '1-64 letters, digits, "_" or "-"');
      if (s.tlsServerName !== undefined && (typeof s.tlsServerName !== 'string' || !PATTERNS.host.test(s.tlsServerName) || PATTERNS.ipv4.test(s.tlsServerName))) {
        throw propError(ID, `${at}.tlsServerName`, s.tlsServerName, 'a host name');
      }
      if (s.tlsServerName !== undefined && url.scheme !== 'https') throw propError(ID, `${at}.tlsServerName`, s.tlsServerName, 'left unset for an http URL');
      const check = s.check ?? {};
      checkObject(ID, `${at}.check`, check, 'an object { type?, path?, intervalSeconds?, timeoutSeconds? }');
      const type = checkOneOf(ID, `${at}.check.type`, check.type ?? ExternalCheckType.TCP, Object.values(ExternalCheckType));
      const healthPath = check.path ?? PATHS.healthz;
      if (type === 'http' && (typeof healthPath !== 'string' || !PATH_RE.test(healthPath))) throw propError(ID, `${at}.check.path`, check.path, 'an absolute path such as /healthz');
      if (type === 'tcp' && check.path !== undefined) throw propError(ID, `${at}.check.path`, check.path, 'left unset for a tcp check');
      const interval = check.intervalSeconds ?? 10;
      const timeout = check.timeoutSeconds ?? 5;
      if (!Number.isInteger(interval) || interval < 1 || interval > 3600) throw propError(ID, `${at}.check.intervalSeconds`, interval, 'an integer from 1 to 3600');
      if (!Number.isInteger(timeout) || timeout < 1 || timeout > interval) throw propError(ID, `${at}.check.timeoutSeconds`, timeout, `an integer from 1 to the interval (${interval})`);
      const status = checkOneOf(ID, `${at}.initialStatus`, s.initialStatus ?? ExternalCheckStatus.PASSING, Object.values(ExternalCheckStatus));

      const node = new Node(this, `Node-${s.name}`, {
        name: `${prefix}-external-${s.name}`,
        address: url.host,
        datacenter: props.datacenter,
        // consul-esm probes the checks of nodes marked like this.
        meta: { 'external-node': 'true', 'external-probe': 'true' },
      });
      const hostPort = `${url.host}:${url.port}`;
      const meta: Record<string, string> = {
        [MCP_SERVER_DISCOVERY.meta.path]: url.path,
        [MCP_SERVER_DISCOVERY.meta.namespace]: namespace,
        [MCP_SERVER_DISCOVERY.meta.scheme]: url.scheme,
        ...(s.tlsServerName !== undefined ? { [MCP_SERVER_DISCOVERY.meta.tlsServerName]: s.tlsServerName } : {}),
      };
      const service = new Service(this, `Service-${s.name}`, {
        name: s.name,
        serviceId: `${prefix}-external-${s.name}`,
        nodeAttribute: node.name,
        address: url.host,
        port: url.port,
        datacenter: props.datacenter,
        tags: [MCP_SERVER_DISCOVERY.tag],
        meta,
        check: [
          {
            checkId: `${prefix}-external-${s.name}:${type}`,
            name: `${s.name} ${type === 'tcp' ? `TCP ${hostPort}` : `HTTP ${healthPath}`}`,
            ...(type === 'tcp' ? { tcp: hostPort } : { http: `${url.scheme}://${hostPort}${healthPath}` }),
            interval: `${interval}s`,
            timeout: `${timeout}s`,
            status,
            // A catalogue entry is removed by Terraform, never by a prober.
            deregisterCriticalServiceAfter: '0',
          },
        ],
      });
      this.nodes.push(node);
      this.services.push(service);
    });
  }
}
