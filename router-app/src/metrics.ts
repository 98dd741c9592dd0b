/**
 * Prometheus metrics (prom-client), served by the admin HTTP server.
 */
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { BatchedCounter, MethodHistogram } from './batched-metrics';

/** Outcome of one request to a backend, as counted in mcp_router_backend_calls_total. */
export type CallOutcome = 'ok' | 'mcp_error' | 'too_large' | 'timeout' | 'cancelled' | 'unavailable' | 'circuit_open' | 'over_limit';
export const CALL_OUTCOMES: readonly CallOutcome[] = ['ok', 'mcp_error', 'too_large', 'timeout', 'cancelled', 'unavailable', 'circuit_open', 'over_limit'];
/** Bounds of a backend's listing, as labelled in mcp_router_backend_listings_refused_total. */
export const LISTING_LIMITS = ['pages', 'items', 'bytes', 'timeout', 'depth'] as const;
/** Why a Consul registration was refused, as labelled in mcp_router_registrations_refused_total. */
export const REFUSAL_KINDS = ['invalid', 'address', 'namespace', 'limit'] as const;

export class RouterMetrics {
  readonly registry = new Registry();
  readonly calls: Counter<'method' | 'code'>;
  readonly latency: MethodHistogram;
  readonly backendUp: Gauge<'backend'>;
  readonly catalogSize: Gauge<'kind'>;
  readonly backendCalls: Counter<'backend' | 'outcome'>;
  readonly consulState: Gauge<'state'>;
  readonly listingsRefused: Counter<'backend' | 'limit'>;
  readonly registrationsRefused: Counter<'reason'>;
  readonly callsInFlight: Gauge;
  readonly callsRefused: Counter;
  readonly mcpRequests: Counter<'method' | 'status'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.grpcCalls = new BatchedCounter({ name: 'mcp_router_grpc_calls_total', help: 'gRPC calls by method and status code', labelNames: ['method', 'code'], registers: [this.registry] });
    this.calls = this.grpcCalls.counter;
    this.latency = new MethodHistogram({
      name: 'mcp_router_grpc_call_duration_seconds',
      help: 'gRPC call latency by method',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.backendUp = new Gauge({ name: 'mcp_router_backend_up', help: '1 when the MCP backend session is healthy', labelNames: ['backend'], registers: [this.registry] });
    this.catalogSize = new Gauge({ name: 'mcp_router_catalog_entries', help: 'Aggregated catalogue size by kind', labelNames: ['kind'], registers: [this.registry] });
    this.backendCalls = new Counter({
      name: 'mcp_router_backend_calls_total',
      help: `Requests to MCP backends (calls, reads, prompts, listings) by outcome: ${CALL_OUTCOMES.join(', ')}`,
      labelNames: ['backend', 'outcome'],
      registers: [this.registry],
    });
    this.consulState = new Gauge({
      name: 'mcp_router_consul_state',
      help: "State of the Consul cluster behind the router's agent, 1 for the current one: leader (all works), no-leader (a majority of servers is lost: serving the last known catalogue), unreachable (the agent does not answer)",
      labelNames: ['state'],
      registers: [this.registry],
    });
    this.listingsRefused = new Counter({
      name: 'mcp_router_backend_listings_refused_total',
      help: `Backend listings refused for going over a bound (${LISTING_LIMITS.join(', ')}); the backend keeps its last good listing`,
      labelNames: ['backend', 'limit'],
      registers: [this.registry],
    });
    this.registrationsRefused = new Counter({
      name: 'mcp_router_registrations_refused_total',
      help: `MCP server registrations from Consul refused (${REFUSAL_KINDS.join(', ')}), each distinct one counted once`,
      labelNames: ['reason'],
      registers: [this.registry],
    });
    const inFlight = () => this.inFlightSource();
    this.callsInFlight = new Gauge({
      name: 'mcp_router_calls_in_flight',
      help: 'Tool calls, resource reads and prompt gets in flight (both doors)',
      registers: [this.registry],
      // Read when scraped: the slots' own count, not a set() on every call.
      collect() {
        const n = inFlight();
        if (n !== undefined) this.set(n);
      },
    });
    this.callsRefused = new Counter({ name: 'mcp_router_calls_refused_total', help: 'Calls refused with RESOURCE_EXHAUSTED because MCP_ROUTER_MAX_CONCURRENT_CALLS were in flight', registers: [this.registry] });
    this.mcpRequestCounts = new BatchedCounter({
      name: 'mcp_router_mcp_requests_total',
      help: 'Requests to the MCP front door by JSON-RPC method (GET/DELETE for those HTTP methods) and HTTP status',
      labelNames: ['method', 'status'],
      registers: [this.registry],
    });
    this.mcpRequests = this.mcpRequestCounts.counter;
  }

  private readonly grpcCalls: BatchedCounter<'method' | 'code'>;
  private readonly mcpRequestCounts: BatchedCounter<'method' | 'status'>;
  private inFlightSource: () => number | undefined = () => undefined;

  /** mcp_router_calls_in_flight reads `source` when scraped (the call slots' count). */
  readInFlightFrom(source: () => number): void {
    this.inFlightSource = source;
  }

  /** Counts one request to the MCP front door: its JSON-RPC method (any other name counts as "other") and HTTP status. */
  countMcpRequest(method: string, status: number): void {
    this.mcpRequestCounts.child(RouterMetrics.MCP_METHODS.has(method) ? method : 'other', String(status)).inc();
  }

  /** Sets the Consul state set: 1 for `state`, 0 for the others. */
  setConsulState(state: string, all: readonly string[]): void {
    for (const s of all) this.consulState.set({ state: s }, s === state ? 1 : 0);
  }

  /** JSON-RPC methods counted by name in mcp_router_mcp_requests_total (anything else is "other"). */
  static readonly MCP_METHODS: ReadonlySet<string> = new Set([
    'initialize', 'ping', 'tools/list', 'tools/call', 'resources/list', 'resources/templates/list', 'resources/read', 'prompts/list', 'prompts/get',
    'notifications/initialized', 'notifications/cancelled', 'GET', 'DELETE',
  ]);

  /** Drops the series of a backend that is gone, so series do not pile up as registrations churn. */
  forgetBackend(backend: string): void {
    this.backendUp.remove({ backend });
    for (const outcome of CALL_OUTCOMES) this.backendCalls.remove({ backend, outcome });
    for (const limit of LISTING_LIMITS) this.listingsRefused.remove({ backend, limit });
  }

  /**
   * Returns a function that records one call of `method` when called with its status code.
   * The series are counted in plain numbers that prom-client reads when scraped (batched-metrics.ts): its own observe() and inc() do label
   * work on every call, ~8 % of a ListTools on this machine (bench/FINDINGS.md §9). Methods and
   * codes are the service's own (a bounded set).
   */
  startCall(method: string): (code: string) => void {
    const t0 = performance.now();
    return (code: string) => {
      this.latency.series(method).observe((performance.now() - t0) / 1000);
      this.grpcCalls.child(method, code).inc();
    };
  }
}
