/**
 * The other routers of this deployment, from Consul (passing instances of the
 * router service), with their admin ports: where a front-door cancellation
 * for a call running on another router is sent, with its session ID.
 *
 * A registration under the router service is taken as a peer only when its
 * address is an IP the backend policy allows (MCP_ROUTER_BACKEND_ALLOWED_CIDRS:
 * routers advertise IPv4 addresses; the metadata address and public ones are
 * refused), and at most MAX_ROUTER_PEERS of them (by ID, the same on every
 * router): a registration that is no router neither receives session IDs
 * from an address of its choosing nor multiplies what one cancellation costs.
 */
import type Consul from 'consul';
import { isIP } from 'node:net';
import { PORTS, ROUTER_SERVICE } from '../contract';
import type { Logger } from '../logger';
import { BlockingQuery } from './blocking-query';
import { SeenOnce } from '../seen-once';

/** The most peers a cancellation is sent to. */
export const MAX_ROUTER_PEERS = 256;

export interface RouterPeer {
  readonly id: string;
  readonly address: string;
  readonly adminPort: number;
}

interface Entry {
  Service: { ID: string; Address: string; Meta: Record<string, string> | null };
  Node: { Address: string };
}

export class RouterPeers {
  private peers: RouterPeer[] = [];
  private query?: BlockingQuery<Entry[]>;

  constructor(
    private readonly consul: Consul,
    private readonly serviceName: string,
    private readonly selfId: string,
    private readonly logger: Logger,
    /** Whether a peer's address is one routers may connect to (the backend policy's ranges). */
    private readonly allows: (ip: string) => boolean = () => true,
  ) {}

  /** Peers already refused (by ID and reason), so each is logged once. */
  private readonly refused = new SeenOnce();

  private refuse(id: string, reason: string): void {
    if (!this.refused.first(`${id}\u0000${reason}`)) return;
    this.logger.warn({ id, reason }, 'router peer registration refused: front-door cancellations are not sent to it');
  }

  private accept(entries: readonly Entry[]): RouterPeer[] {
    const peers: RouterPeer[] = [];
    for (const e of [...entries].sort((a, b) => (a.Service.ID < b.Service.ID ? -1 : a.Service.ID > b.Service.ID ? 1 : 0))) {
      if (e.Service.ID === this.selfId) continue;
      const address = e.Service.Address || e.Node.Address;
      const adminPort = Number(e.Service.Meta?.[ROUTER_SERVICE.meta.adminPort] ?? PORTS.routerAdmin);
      // Routers advertise IPv4 addresses (MCP_ROUTER_ADVERTISE_ADDRESS); the cancellation's URL is built for one.
      if (isIP(address) !== 4) this.refuse(e.Service.ID, `address must be an IPv4 address, as routers advertise; received ${JSON.stringify(address)}`);
      else if (!this.allows(address)) this.refuse(e.Service.ID, `address ${address} is outside MCP_ROUTER_BACKEND_ALLOWED_CIDRS`);
      else if (!Number.isInteger(adminPort) || adminPort < 1 || adminPort > 65535) this.refuse(e.Service.ID, `${ROUTER_SERVICE.meta.adminPort} must be a port (1-65535)`);
      else if (peers.length >= MAX_ROUTER_PEERS) this.refuse(e.Service.ID, `more than ${MAX_ROUTER_PEERS} router peers in Consul: the first ${MAX_ROUTER_PEERS} by ID are used`);
      else peers.push({ id: e.Service.ID, address, adminPort });
    }
    return peers;
  }

  start(): void {
    this.query = new BlockingQuery<Entry[]>(
      (opts) => this.consul.health.service({ ...(opts as object), service: this.serviceName, passing: true } as never) as unknown as Promise<[{ headers: Record<string, string> }, Entry[]]>,
      (entries) => {
        this.peers = this.accept(entries ?? []);
      },
      (err) => this.logger.warn({ err: err.message }, 'consul query for router peers failed; keeping the last known peers'),
    );
    this.query.start();
  }

  list(): readonly RouterPeer[] {
    return this.peers;
  }

  stop(): void {
    this.query?.stop();
  }
}
