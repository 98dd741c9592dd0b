/**
 * The router's Consul client: its agent (CONSUL_HOST:CONSUL_PORT) and, when
 * the platform runs Consul with ACLs, the router's token as a default option,
 * so every call the router makes — registration and its keep-registered loop,
 * deregistration, blocking queries for backends and peers, cluster health —
 * carries it (the `X-Consul-Token` header) — and a timeout (CONSUL_TIMEOUT_MS
 * or its default; blocking queries set their own).
 */
import Consul from 'consul';
import type { RouterConfig } from '../config';

export function consulClient(config: Pick<RouterConfig, 'consul' | 'timeouts'>): Consul {
  const token = config.consul.token;
  // Every Consul request has a timeout; the blocking queries set their own (their wait and a margin).
  // (`timeout` is one of the client's documented defaults; its type declarations leave it out.)
  type ConsulDefaults = NonNullable<ConstructorParameters<typeof Consul>[0]>['defaults'];
  const defaults = { timeout: config.timeouts.consulMs, ...(token !== undefined ? { token } : {}) } as ConsulDefaults;
  return new Consul({ host: config.consul.host, port: config.consul.port, defaults });
}
