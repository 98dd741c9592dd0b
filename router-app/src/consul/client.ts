/**
 * The router's Consul client: its agent (CONSUL_HOST:CONSUL_PORT) and, when
 * the platform runs Consul with ACLs, the router's token as a default option,
 * so every call the router makes — registration and its keep-registered loop,
 * deregistration, blocking queries for backends and peers, cluster health —
 * carries it (the `X-Consul-Token` header).
 */
import Consul from 'consul';
import type { RouterConfig } from '../config';

export function consulClient(config: Pick<RouterConfig, 'consul'>): Consul {
  const token = config.consul.token;
  return new Consul({ host: config.consul.host, port: config.consul.port, ...(token !== undefined ? { defaults: { token } } : {}) });
}
