/**
 * Router configuration from the environment, parsed and validated at start
 * (zod). An invalid value stops the router with a message naming the
 * variable, the value received and what is allowed.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { z } from 'zod';

const MiB = 1024 * 1024;

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, { message: `must be an integer from ${min} to ${max}` })
    .transform(Number)
    .pipe(z.number().int().min(min, { message: `must be an integer from ${min} to ${max}` }).max(max, { message: `must be an integer from ${min} to ${max}` }));

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), { message: 'must be true or false' })
  .transform((v) => ['true', '1', 'yes'].includes(v));

const host = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9.-]{1,253}$/, { message: 'must be a host name or IPv4 address' });

const ipv4 = z
  .string()
  .trim()
  .regex(/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/, { message: 'must be an IPv4 address' });

const name = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, { message: 'must be 1-128 letters, digits, "_", "." or "-"' });

const backendList = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array like [{"name":"demo","url":"http://host:3000/mcp"}]' });
      return z.NEVER;
    }
  })
  .pipe(
    z.array(
      z.object({
        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, { message: 'backend name must be 1-64 letters, digits, "_" or "-"' }),
        url: z.string().url({ message: 'backend url must be an http(s) URL' }).refine((u) => /^https?:\/\//.test(u), { message: 'backend url must be http(s)' }),
        tlsServerName: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, { message: 'backend tlsServerName must be a host name' }).optional(),
      }).strict(),
    ),
  );

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Env variable → schema; the key is the variable's name. */
const schema = {
  CONSUL_HOST: host.default('consul'),
  CONSUL_PORT: int(1, 65535).default(8500),
  CONSUL_REGISTER: bool.default(true),
  MCP_ROUTER_PORT: int(0, 65535).default(50051),
  MCP_ROUTER_BIND_ADDRESS: ipv4.default('0.0.0.0'),
  MCP_ROUTER_ADVERTISE_ADDRESS: ipv4.optional(),
  MCP_ROUTER_HOSTNAME: name.optional(),
  MCP_ROUTER_INSTANCE_ID: name.optional(),
  MCP_ROUTER_SERVICE_NAME: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, { message: 'must be a DNS label' }).default('mcp-router'),
  MCP_ROUTER_METRICS_PORT: int(0, 65535).default(9464),
  MCP_BACKENDS: backendList.default([]),
  MCP_BACKEND_DISCOVERY: bool.default(true),
  MCP_BACKEND_TAG: name.default('mcp-server'),
  MCP_BACKEND_CA_FILE: z.string().trim().min(1).optional(),
  MCP_ROUTER_MAX_BACKEND_RESPONSE_BYTES: int(1024, 1024 * MiB).default(16 * MiB),
  MCP_ROUTER_DEFAULT_TIMEOUT_MS: int(1, 3_600_000).default(30_000),
  MCP_ROUTER_CONNECT_TIMEOUT_MS: int(1, 600_000).default(5_000),
  MCP_ROUTER_CATALOG_TTL_MS: int(1_000, 86_400_000).default(60_000),
  MCP_ROUTER_DRAIN_DELAY_MS: int(0, 600_000).default(7_000),
  MCP_ROUTER_SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),
  MCP_ROUTER_BREAKER_FAILURES: int(1, 1000).default(5),
  MCP_ROUTER_BREAKER_RESET_MS: int(100, 600_000).default(5_000),
  GRPC_MAX_RECEIVE_MESSAGE_BYTES: int(1024, 1024 * MiB).default(50 * MiB),
  GRPC_MAX_SEND_MESSAGE_BYTES: int(1024, 1024 * MiB).default(50 * MiB),
  GRPC_KEEPALIVE_TIME_MS: int(1_000, 86_400_000).default(30_000),
  GRPC_KEEPALIVE_TIMEOUT_MS: int(1_000, 600_000).default(10_000),
  CONSUL_CHECK_INTERVAL_TCP: z.string().regex(/^\d+(ms|s|m)$/, { message: 'must be a duration like 10s' }).default('10s'),
  CONSUL_CHECK_INTERVAL_GRPC: z.string().regex(/^\d+(ms|s|m)$/, { message: 'must be a duration like 2s' }).default('2s'),
  CONSUL_DEREGISTER_CRITICAL_AFTER: z.string().regex(/^\d+(ms|s|m|h)$/, { message: 'must be a duration like 1m' }).default('1m'),
  CONSUL_REREGISTER_INTERVAL_MS: int(200, 600_000).default(5_000),
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
} as const;

export const ENV_VARIABLES = Object.keys(schema);

type Schema = typeof schema;
type Parsed = { [K in keyof Schema]: z.output<Schema[K]> };

export interface RouterConfig {
  readonly consul: { readonly host: string; readonly port: number; readonly register: boolean };
  readonly port: number;
  readonly bindAddress: string;
  readonly advertiseAddress: string;
  readonly hostname: string;
  readonly instanceId: string;
  readonly serviceName: string;
  readonly metricsPort: number;
  readonly staticBackends: ReadonlyArray<{ name: string; url: string; tlsServerName?: string }>;
  readonly discovery: { readonly enabled: boolean; readonly tag: string };
  /** Backends: extra CA certificates (PEM, from MCP_BACKEND_CA_FILE) and the response size bound. */
  readonly backends: { readonly caPem?: string; readonly caFile?: string; readonly maxResponseBytes: number };
  readonly timeouts: { readonly defaultCallMs: number; readonly connectMs: number; readonly catalogTtlMs: number; readonly drainDelayMs: number; readonly shutdownGraceMs: number };
  readonly breaker: { readonly failures: number; readonly resetMs: number };
  readonly grpc: { readonly maxReceiveBytes: number; readonly maxSendBytes: number; readonly keepaliveTimeMs: number; readonly keepaliveTimeoutMs: number };
  readonly checks: { readonly tcpInterval: string; readonly grpcInterval: string; readonly deregisterCriticalAfter: string; readonly reregisterIntervalMs: number };
  readonly logLevel: (typeof LOG_LEVELS)[number];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid router configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws ConfigError listing every bad variable with its value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RouterConfig {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(schema)) {
    const raw = env[key];
    const r = (s as z.ZodType).safeParse(raw === '' ? undefined : raw);
    if (r.success) out[key] = r.data;
    else problems.push(`${key}=${JSON.stringify(raw)}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  }
  const caPem = out.MCP_BACKEND_CA_FILE === undefined ? undefined : readCaFile(String(out.MCP_BACKEND_CA_FILE), problems);
  if (problems.length) throw new ConfigError(problems);
  const p = out as Parsed;
  const hostname = p.MCP_ROUTER_HOSTNAME ?? os.hostname();
  const advertise = p.MCP_ROUTER_ADVERTISE_ADDRESS ?? (p.MCP_ROUTER_BIND_ADDRESS !== '0.0.0.0' ? p.MCP_ROUTER_BIND_ADDRESS : firstIpv4());
  return {
    consul: { host: p.CONSUL_HOST, port: p.CONSUL_PORT, register: p.CONSUL_REGISTER },
    port: p.MCP_ROUTER_PORT,
    bindAddress: p.MCP_ROUTER_BIND_ADDRESS,
    advertiseAddress: advertise,
    hostname,
    instanceId: p.MCP_ROUTER_INSTANCE_ID ?? `mcp-router-${hostname}`,
    serviceName: p.MCP_ROUTER_SERVICE_NAME,
    metricsPort: p.MCP_ROUTER_METRICS_PORT,
    staticBackends: p.MCP_BACKENDS,
    discovery: { enabled: p.MCP_BACKEND_DISCOVERY, tag: p.MCP_BACKEND_TAG },
    backends: { caPem, caFile: p.MCP_BACKEND_CA_FILE, maxResponseBytes: p.MCP_ROUTER_MAX_BACKEND_RESPONSE_BYTES },
    timeouts: {
      defaultCallMs: p.MCP_ROUTER_DEFAULT_TIMEOUT_MS,
      connectMs: p.MCP_ROUTER_CONNECT_TIMEOUT_MS,
      catalogTtlMs: p.MCP_ROUTER_CATALOG_TTL_MS,
      drainDelayMs: p.MCP_ROUTER_DRAIN_DELAY_MS,
      shutdownGraceMs: p.MCP_ROUTER_SHUTDOWN_GRACE_MS,
    },
    breaker: { failures: p.MCP_ROUTER_BREAKER_FAILURES, resetMs: p.MCP_ROUTER_BREAKER_RESET_MS },
    grpc: {
      maxReceiveBytes: p.GRPC_MAX_RECEIVE_MESSAGE_BYTES,
      maxSendBytes: p.GRPC_MAX_SEND_MESSAGE_BYTES,
      keepaliveTimeMs: p.GRPC_KEEPALIVE_TIME_MS,
      keepaliveTimeoutMs: p.GRPC_KEEPALIVE_TIMEOUT_MS,
    },
    checks: {
      tcpInterval: p.CONSUL_CHECK_INTERVAL_TCP,
      grpcInterval: p.CONSUL_CHECK_INTERVAL_GRPC,
      deregisterCriticalAfter: p.CONSUL_DEREGISTER_CRITICAL_AFTER,
      reregisterIntervalMs: p.CONSUL_REREGISTER_INTERVAL_MS,
    },
    logLevel: p.LOG_LEVEL,
  };
}

/** The PEM bundle of MCP_BACKEND_CA_FILE; a problem is recorded when it can't be read or holds no certificate. */
function readCaFile(file: string, problems: string[]): string | undefined {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`MCP_BACKEND_CA_FILE=${JSON.stringify(file)}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the path of a PEM file with the CA certificates to trust`);
    return undefined;
  }
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    if (certs.length === 0) throw new Error('no PEM certificate in it');
    for (const c of certs) new crypto.X509Certificate(c);
  } catch (err) {
    problems.push(`MCP_BACKEND_CA_FILE=${JSON.stringify(file)}: not a PEM certificate bundle (${(err as Error).message})`);
    return undefined;
  }
  return pem;
}

function firstIpv4(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
