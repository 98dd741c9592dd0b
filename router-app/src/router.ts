/**
 * Composes the router: catalogue + discovery, gRPC server (McpRouter, health,
 * reflection), admin HTTP server, Consul registration, and graceful drain.
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type * as http from 'node:http';
import { startAdminServer } from './admin/http-server';
import type { RouterConfig } from './config';
import { consulClient } from './consul/client';
import { ConsulClusterHealth, CONSUL_CLUSTER_STATES } from './consul/cluster-health';
import { ConsulRegistration } from './consul/registration';
import { BackendPolicy } from './discovery/backend-policy';
import { ConsulDiscovery } from './discovery/consul-discovery';
import { staticBackends } from './discovery/static';
import { createHandlers } from './grpc/handlers';
import { packageDefinition, SERVICE_NAME } from './grpc/proto';
import { withRequestDecodeGuard } from './grpc/request-decoding';
import { padGrpcServerSessions } from './grpc/http2-stream-index';
import { SeenOnce } from './seen-once';
import { drain } from './lifecycle/shutdown';
import { createLogger, Logger } from './logger';
import type { Backend } from './mcp/backend';
import { Catalog } from './mcp/catalog';
import { CallOutcome, RouterMetrics } from './metrics';
import { CallPath } from './routing/call-path';
import { CallSlots } from './routing/call-slots';
import { RouterPeer, RouterPeers } from './discovery/router-peers';
import { InflightCalls } from './http/inflight';
import { startMcpFrontDoor } from './http/mcp-front-door';
import { SessionTokens } from './http/session-token';
import { CallCancelledError } from './mcp/errors';
import { PATHS, ROUTER_ENV } from './contract';
import { admit } from './grpc/handlers';
import { startAuth } from './auth/setup';
import { AuthorizedCalls } from './routing/authorized';
import { toGrpcError } from './grpc/status';
import { BackendCredentialStore } from './mcp/backend-credentials';

/** A peer's answer to a cancellation is `{"status":200,"cancelled":true}`: more is not read. */
const PEER_ANSWER_MAX_BYTES = 4096;

/** The JSON of an answer of at most `max` bytes; the read stops (and fails) past that. */
async function smallJson(res: Response, max: number): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.length;
    if (size > max) throw new Error(`answer over ${max} bytes`);
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** Passes a front-door cancellation to every peer router; resolves to how many cancelled a call. */
async function cancelOnPeers(peers: readonly RouterPeer[], session: string, requestId: unknown): Promise<number> {
  const results = await Promise.allSettled(
    peers.map(async (p) => {
      const res = await fetch(`http://${p.address}:${p.adminPort}${PATHS.peerCancel}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ session, requestId }),
        signal: AbortSignal.timeout(2_000),
      });
      return ((await smallJson(res, PEER_ANSWER_MAX_BYTES)) as { cancelled?: boolean } | undefined)?.cancelled === true;
    }),
  );
  return results.filter((r) => r.status === 'fulfilled' && r.value).length;
}

export interface RouterHandle {
  readonly config: RouterConfig;
  /** Bound gRPC port (useful when MCP_ROUTER_PORT is 0). */
  readonly port: number;
  /** Bound admin port. */
  readonly metricsPort: number;
  /** Bound MCP front-door port. */
  readonly mcpPort: number;
  /** Open MCP notification streams (GET) on the front door. */
  readonly mcpStreams: () => number;
  readonly catalog: Catalog;
  readonly logger: Logger;
  readonly health: HealthImplementation;
  /** The HTTP/2 GC workaround (grpc/http2-stream-index.ts): 'on', 'off' (GRPC_HTTP2_GC_WORKAROUND=false), or why it is not installed. */
  readonly http2GcWorkaround: string;
  /** True while the router takes new work: its catalogue was built once, and it is not draining. */
  readonly serving: () => boolean;
  /** Resolves when the router is ready (first catalogue built from every backend source). */
  readonly ready: Promise<void>;
  /** Graceful stop: NOT_SERVING, deregister, drain delay, finish in-flight calls (grace), close. */
  drain(): Promise<void>;
  /** Immediate stop (tests). */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger?: Logger;
}

/** Caches serialized bytes of the listing responses (same object → same bytes). */
function withSerializationCache(def: grpc.ServiceDefinition, methods: string[]): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...def };
  for (const m of methods) {
    const original = def[m];
    const cache = new WeakMap<object, Buffer>();
    out[m] = {
      ...original,
      responseSerialize: (value: unknown) => {
        const key = value as object;
        let buf = cache.get(key);
        if (!buf) {
          buf = original.responseSerialize(value);
          cache.set(key, buf);
        }
        return buf;
      },
    };
  }
  return out as grpc.ServiceDefinition;
}

export async function startRouter(config: RouterConfig, options: StartOptions = {}): Promise<RouterHandle> {
  const logger = options.logger ?? createLogger(config.logLevel, config.instanceId);
  const metrics = new RouterMetrics();
  const backendCredentials = new BackendCredentialStore(config.backendCredentialsDir, config.auth.reloadMs, logger);
  const catalog = new Catalog(
    {
      connectTimeoutMs: config.timeouts.connectMs,
      breakerFailures: config.breaker.failures,
      breakerResetMs: config.breaker.resetMs,
      caPem: config.backends.caPem,
      maxResponseBytes: config.backends.maxResponseBytes,
      listing: config.listing,
      logger,
      credentials: backendCredentials,
    },
    config.timeouts.catalogTtlMs,
    logger,
  );
  catalog.on('updated', (snap) => {
    metrics.catalogSize.set({ kind: 'tools' }, snap.tools.size);
    metrics.catalogSize.set({ kind: 'prompts' }, snap.prompts.size);
    metrics.catalogSize.set({ kind: 'resources' }, snap.resources.size);
  });
  catalog.on('backend-health', (b: Backend, up: boolean) => metrics.backendUp.set({ backend: b.id }, up ? 1 : 0));
  catalog.on('backend-call', (b: Backend, outcome: CallOutcome) => metrics.backendCalls.inc({ backend: b.id, outcome }));
  catalog.on('backend-removed', (b: Backend) => metrics.forgetBackend(b.id));
  catalog.on('listing-refused', (b: Backend, limit: string) => metrics.listingsRefused.inc({ backend: b.id, limit }));

  // Every Consul call carries the router's ACL token when it has one (CONSUL_HTTP_TOKEN[_FILE]),
  // and a timeout (the blocking queries set their own: their wait and a margin).
  const consul = consulClient(config);
  const policy = new BackendPolicy(config.backends.allowedCidrs, config.backends.allowedNamespaces);
  if (config.discovery.enabled && policy.allows('169.254.169.254')) {
    logger.warn({ variable: ROUTER_ENV.backendAllowedCidrs }, 'the allowed backend ranges include 169.254.169.254, the cloud metadata address: a registration in Consul can make this router call it');
  }
  const statics = staticBackends(config.staticBackends);
  let discovered: typeof statics = [];
  const publish = () => catalog.setBackends([...statics, ...discovered]);
  publish();
  catalog.start();
  const discovery = config.discovery.enabled
    ? new ConsulDiscovery(
        consul,
        config.discovery.tag,
        (list) => {
          discovered = list;
          publish();
        },
        logger,
        policy,
        (kind) => metrics.registrationsRefused.inc({ reason: kind }),
        [config.serviceName],
        config.discovery.holdMs,
        config.discovery.maxBackends,
      )
    : undefined;
  discovery?.start();
  // The cluster's health as the router's agent sees it: a lost majority is logged and in the metrics.
  const clusterHealth = config.consul.register || config.discovery.enabled
    ? new ConsulClusterHealth(consul, config.checks.consulHealthIntervalMs, logger, (state) => metrics.setConsulState(state, CONSUL_CLUSTER_STATES), () => catalog.allBackends().length)
    : undefined;
  clusterHealth?.start();

  const pkg = packageDefinition();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.grpc.maxReceiveBytes,
    'grpc.max_send_message_length': config.grpc.maxSendBytes,
    'grpc.keepalive_time_ms': config.grpc.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': config.grpc.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  const def = withSerializationCache(withRequestDecodeGuard(pkg[SERVICE_NAME] as grpc.ServiceDefinition), ['ListTools', 'ListPrompts', 'ListResources', 'ListResourceTemplates']);
  const slots = new CallSlots(config.limits.maxConcurrentCalls, { refused: () => metrics.callsRefused.inc() });
  metrics.readInFlightFrom(() => slots.inFlight);
  const calls = new CallPath(catalog, slots);
  // Who may call what: the same identity and rules at both doors.
  const peers = config.consul.register ? new RouterPeers(consul, config.serviceName, config.instanceId, logger, (ip) => policy.allows(ip)) : undefined;
  const auth = startAuth(config.auth, { consul, registry: metrics.registry, logger, routersServing: () => 1 + (peers?.list().length ?? 0) });
  const authorized = new AuthorizedCalls(calls, auth.access);
  server.addService(def, createHandlers({ catalog, calls, access: auth.access, authorized, metrics, instanceId: config.instanceId, defaultTimeoutMs: config.timeouts.defaultCallMs, maxCallMs: config.limits.maxCallMs }));
  // NOT_SERVING until the first catalogue is built (see `ready` below).
  const health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
  // Health stays open: HAProxy, Consul and Docker check it without credentials; it tells SERVING or not, nothing else.
  health.addToServer(server);
  // Reflection describes the API to callers that may see internals only (the admin scope, or everyone).
  new ReflectionService(pkg).addToServer({
    addService: (service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation) => {
      const gated: grpc.UntypedServiceImplementation = {};
      for (const [name, handler] of Object.entries(impl)) {
        gated[name] = ((call: grpc.ServerDuplexStream<unknown, unknown>) => {
          Promise.resolve()
            .then(() => admit(auth.access, call))
            .then((a) => {
              if (!a.internals) throw auth.access.denyInternals();
              (handler as grpc.handleBidiStreamingCall<unknown, unknown>)(call);
            })
            .catch((err: unknown) => call.emit('error', toGrpcError(err)));
        }) as grpc.handleBidiStreamingCall<unknown, unknown>;
      }
      server.addService(service, gated);
    },
  } as unknown as grpc.Server);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${config.bindAddress}:${config.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  // Against a GC storm in Node's HTTP/2 server (grpc/http2-stream-index.ts; bench/FINDINGS.md §14).
  let http2GcWorkaround = 'off';
  if (config.grpc.http2GcWorkaround) {
    const skipped = new SeenOnce(16);
    const why = padGrpcServerSessions(server, (reason) => {
      if (skipped.first(reason)) logger.warn({ variable: ROUTER_ENV.grpcHttp2GcWorkaround, reason, node: process.version }, 'a gRPC connection runs without the HTTP/2 GC workaround');
    });
    if (why) logger.warn({ variable: ROUTER_ENV.grpcHttp2GcWorkaround, reason: why, node: process.version }, 'HTTP/2 GC workaround not installed: the gRPC server runs as a stock grpc-js server');
    http2GcWorkaround = why ?? 'on';
  }
  let isReady = false;
  let draining = false;
  const serving = () => isReady && !draining;
  const setHealth = (s: 'SERVING' | 'NOT_SERVING') => {
    health.setStatus('', s);
    health.setStatus(SERVICE_NAME, s);
  };

  // The MCP front door: session IDs signed with the deployment's keys (any router answers any request).
  const tokens = new SessionTokens(config.mcp.sessionKeys, config.mcp.sessionTtlMs);
  if (tokens.ephemeral) logger.warn({ variable: ROUTER_ENV.sessionKeys }, 'no session keys given: MCP sessions of this router are valid on this router only; give every router the same keys');
  const inflight = new InflightCalls();
  peers?.start();
  const frontDoor = await startMcpFrontDoor({
    address: config.bindAddress,
    port: config.mcp.port,
    calls,
    authorized,
    access: auth.access,
    protectedResource: auth.protectedResource,
    catalog,
    tokens,
    inflight,
    allowedOrigins: config.mcp.allowedOrigins,
    maxBodyBytes: config.mcp.maxBodyBytes,
    receiveTimeoutMs: config.mcp.receiveTimeoutMs,
    pageSize: config.mcp.pageSize,
    defaultTimeoutMs: config.timeouts.defaultCallMs,
    cancelOnPeers: (sessionId, requestId) => cancelOnPeers(peers?.list() ?? [], sessionId, requestId),
    metrics,
    logger,
  });

  // Port 0 picks a free port (tests); the "router started" line and the handle report it.
  const admin: http.Server | undefined = await startAdminServer(config.bindAddress, config.metricsPort, metrics, serving, (body) => {
    const state = typeof body.session === 'string' ? tokens.verify(body.session) : 'malformed';
    if (typeof state === 'string') return { status: 403, cancelled: false, error: `session ${state}` };
    return { status: 200, cancelled: inflight.cancel(state.nonce, body.requestId, new CallCancelledError()) };
  }, () => ({
    routerInstanceId: config.instanceId,
    servers: catalog.allBackends().map((b) => ({ name: b.descriptor.namespace, instanceId: b.id, url: b.descriptor.url, healthy: b.healthy, circuitState: b.circuitState, lastError: b.lastError || b.listingError })),
  }));
  const metricsPort = (admin.address() as { port: number }).port;

  // Registration runs in the background: a Consul that is down or hung never holds up the start.
  const registration = config.consul.register ? new ConsulRegistration(consul, config, port, logger, { admin: metricsPort, mcp: frontDoor.port }) : undefined;
  registration?.start();
  logger.info({ address: `${config.bindAddress}:${port}`, advertise: `${config.advertiseAddress}:${port}`, metricsPort, mcpPort: frontDoor.port, instanceId: config.instanceId, http2GcWorkaround }, 'router started');

  // Ready (gRPC SERVING, /readyz 200) once the router can really serve: its listeners are up and
  // its first catalogue is built from every source it has (static backends, and Consul's first
  // answer when discovery is on), each backend's listing settled within the listing bounds.
  const startedAt = Date.now();
  const ready = (async () => {
    if (discovery) await discovery.initialized;
    await catalog.settled();
  })().then(() => {
    if (draining) return;
    isReady = true;
    setHealth('SERVING');
    logger.info({ ms: Date.now() - startedAt, tools: catalog.snapshot.tools.size, backends: catalog.allBackends().length }, 'router ready');
  });

  let stopping: Promise<void> | undefined;
  const finish = async () => {
    clusterHealth?.stop();
    discovery?.stop();
    peers?.stop();
    auth.close();
    backendCredentials.close();
    await frontDoor.close();
    await catalog.close();
    await new Promise<void>((r) => (admin ? admin.close(() => r()) : r()));
    admin?.closeAllConnections();
  };

  return {
    config,
    port,
    metricsPort,
    mcpPort: frontDoor.port,
    mcpStreams: frontDoor.streams,
    catalog,
    logger,
    health,
    http2GcWorkaround,
    serving,
    ready,
    drain() {
      stopping ??= drain({
        server,
        logger,
        drainDelayMs: config.timeouts.drainDelayMs,
        graceMs: config.timeouts.shutdownGraceMs,
        stopAdvertising: () => {
          draining = true;
          setHealth('NOT_SERVING');
        },
        deregister: async () => registration?.deregister(),
        stopOtherDoors: (graceMs) => frontDoor.drain(graceMs),
        release: finish,
      });
      return stopping;
    },
    async close() {
      draining = true;
      stopping ??= (async () => {
        await registration?.deregister();
        server.forceShutdown();
        await finish();
      })();
      return stopping;
    },
  };
}
