/**
 * The other routers of this deployment, from Consul (passing instances of the
 * router service), with their admin ports: where a front-door cancellation
 * for a call running on another router is sent.
 */
import type Consul from 'consul';
import { PORTS, ROUTER_SERVICE } from '../contract';
import type { Logger } from '../logger';
import { BlockingQuery } from './blocking-query';

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
  ) {}

  start(): void {
    this.query = new BlockingQuery<Entry[]>(
      (opts) => this.consul.health.service({ ...(opts as object), service: this.serviceName, passing: true } as never) as unknown as Promise<[{ headers: Record<string, string> }, Entry[]]>,
      (entries) => {
        this.peers = (entries ?? [])
          .filter((e) => e.Service.ID !== this.selfId)
          .map((e) => ({ id: e.Service.ID, address: e.Service.Address || e.Node.Address, adminPort: Number(e.Service.Meta?.[ROUTER_SERVICE.meta.adminPort] ?? PORTS.routerAdmin) }))
          .filter((p) => Number.isInteger(p.adminPort) && p.adminPort > 0 && p.adminPort < 65536);
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
