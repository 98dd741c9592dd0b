/**
 * Metrics of authentication, authorization and rate limiting, in the router's
 * registry (served on the admin port only). The reason a credential failed is
 * here and in the debug log, never in an answer to the client.
 */
import { Counter, Registry } from 'prom-client';
import { AUTH_FAILURES } from './errors';

export class AuthMetrics {
  readonly failures: Counter<'reason'>;
  readonly denied: Counter<'kind'>;
  readonly rateLimited: Counter;
  readonly jwksFetches: Counter<'outcome'>;
  readonly reloads: Counter<'source' | 'outcome'>;

  constructor(registry: Registry) {
    this.failures = new Counter({ name: 'mcp_router_auth_failures_total', help: `Requests refused as unauthenticated, by reason: ${AUTH_FAILURES.join(', ')}`, labelNames: ['reason'], registers: [registry] });
    this.denied = new Counter({ name: 'mcp_router_auth_denied_total', help: 'Requests refused by the authorization rules, by what was asked for (tool, prompt, resource, internals)', labelNames: ['kind'], registers: [registry] });
    this.rateLimited = new Counter({ name: 'mcp_router_rate_limited_total', help: 'Requests refused by the per-identity rate limit', registers: [registry] });
    this.jwksFetches = new Counter({ name: 'mcp_router_jwks_fetches_total', help: 'JWKS fetches by outcome (ok, failed)', labelNames: ['outcome'], registers: [registry] });
    this.reloads = new Counter({ name: 'mcp_router_auth_reloads_total', help: 'Reloads of API keys, rules and backend credentials by source and outcome', labelNames: ['source', 'outcome'], registers: [registry] });
  }
}
