/**
 * The whole platform as real processes on loopback, from the same renderers
 * and settings the cdktf constructs deploy: a Consul agent configured by
 * renderConsulAgentConfig, N router processes (router-app/dist/main.js), each
 * on its own 127.a.b.(i+1):50051 and advertising that address as a container
 * would, HAProxy running the renderHaproxyConfig output with its resolvers on
 * Consul's DNS, and demo MCP backends that register themselves in Consul.
 *
 * Used by `npm run local` and by the platform scenario tests.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoopbackBlock, loopbackBlock, randomFreeBlock } from './loopback';
import { ManagedProcess, waitUntil } from './managed-process';
import { consulConfigFor, haproxyConfigFor, PlatformPorts, DEFAULT_PORTS } from './platform-config';
import type { BalanceAlgorithm, HaproxyMode, TimeoutOptions } from '../../haproxy-templates';
import { ROUTER_ENV } from '../../router-app/src/contract';
import { locateTool } from './tools';
import { statsServers, StatsServer, upAddresses } from './haproxy-stats';
import { contextCommand } from '../../constructs/build-trigger';
import { JwksServer } from './local-issuer';

const REPO = path.resolve(__dirname, '..', '..');
export const ROUTER_ENTRY = path.join(REPO, 'router-app', 'dist', 'main.js');
/** Node flags of the router image's CMD (so local routers run as deployed ones do). */
export function routerNodeFlags(): string[] {
  return contextCommand(path.join(REPO, 'router-app')).slice(1, -1).filter((a) => a.startsWith('--'));
}

export const DEMO_BACKEND_ENTRY = path.join(REPO, 'examples', 'demo-mcp-server', 'dist', 'main.js');

export interface LocalPlatformOptions {
  /** Routers to start. @default 1 */
  readonly instances?: number;
  /** HAProxy slots (the constructs' maxInstances). @default 10 */
  readonly maxInstances?: number;
  /** HAProxy proxy mode. @default 'http' */
  readonly mode?: 'http' | 'tcp';
  /** HAProxy balance algorithm. @default 'roundrobin' */
  readonly balance?: 'roundrobin' | 'leastconn' | 'source';
  /** Loopback block; tests use a random free one. @default 127.0.0 */
  readonly block?: LoopbackBlock | 'random';
  /** Demo MCP backends to start, by name. @default ['demo'] */
  readonly backends?: readonly string[];
  /** Start HAProxy before any router exists. @default false */
  readonly haproxyFirst?: boolean;
  /** Extra router environment (its MCP_ROUTER_MAX_CALL_MS also sets HAProxy's server and tunnel timeouts). */
  readonly routerEnv?: Readonly<Record<string, string>>;
  /** HAProxy timeouts (tests shorten them). @default the renderer's, derived from the routers' maximum call time */
  readonly haproxyTimeouts?: TimeoutOptions;
  /** Where process logs and generated configs go. @default a new temp dir */
  readonly workDir?: string;
  /** Print process output lines (prefixed) to this stream. */
  readonly echo?: NodeJS.WritableStream;
  /**
   * Wait, at the end of start(), until every router is UP in HAProxy's stats
   * and passing in Consul (`upMs` says how long the whole start took).
   * @default true
   */
  readonly waitUntilUp?: boolean;
  /** Aborts a start in progress: what was started is stopped (in order) and start() rejects. */
  readonly signal?: AbortSignal;
  /**
   * Authentication on both doors of every router. Without it the routers run
   * with MCP_ROUTER_AUTH=none (every caller on loopback is the developer).
   * @default no authentication
   */
  readonly auth?: LocalAuthOptions;
}

/** One entry of the routers' API key file (the key's SHA-256, never the key). */
export interface LocalApiKeyEntry {
  readonly id: string;
  readonly sha256: string;
  readonly scopes?: readonly string[];
  readonly revoked?: boolean;
}

/** How the local platform's routers authenticate and authorize callers. */
export interface LocalAuthOptions {
  /**
   * JWTs from a local issuer: this harness runs a JWKS server on the infra
   * address (scripts/local-platform/local-issuer.ts) with one ES256 key; the
   * audience is the platform's MCP URL (MCP_ROUTER_PUBLIC_URL).
   * @default false
   */
  readonly jwt?: boolean;
  /** API keys (hashes) written to the routers' key file. @default no API keys */
  readonly apiKeys?: readonly LocalApiKeyEntry[];
  /**
   * Authorization rules (router-app/src/auth/policy.ts), written to the
   * routers' rules file. @default none: every authenticated caller may call everything
   */
  readonly rules?: unknown;
}

/** The kid of the local issuer's signing key. */
export const LOCAL_ISSUER_KID = 'local-1';

/** One process stopped by close(), in the order they ended. */
export interface StopRecord {
  readonly name: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** ms from the start of close() */
  readonly atMs: number;
  /** It ended as it should on the signal it was sent (see close()). */
  readonly clean: boolean;
}

export class LocalPlatform {
  readonly block: LoopbackBlock;
  readonly ports: PlatformPorts;
  readonly workDir: string;
  readonly mode: 'http' | 'tcp';
  readonly routers = new Map<number, ManagedProcess>();
  readonly backends = new Map<string, ManagedProcess>();
  consul?: ManagedProcess;
  haproxy?: ManagedProcess;
  /** ms from start() until every router was UP in HAProxy and passing in Consul (undefined when not waited for). */
  upMs?: number;
  private closing?: Promise<StopRecord[]>;
  /** The key every router signs MCP session IDs with (random per platform). */
  private readonly sessionKey = randomBytes(32).toString('base64url');
  /** The local JWT issuer (its JWKS server), when options.auth.jwt. */
  issuer?: JwksServer;
  /** The routers' API key and rules files, when given (tests rewrite them: the routers reload them). */
  readonly authFiles: { apiKeys?: string; rules?: string } = {};

  private constructor(private readonly options: LocalPlatformOptions, block: LoopbackBlock, workDir: string) {
    this.block = block;
    this.workDir = workDir;
    this.mode = options.mode ?? 'http';
    this.ports = DEFAULT_PORTS;
  }

  static async start(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
    const t0 = Date.now();
    for (const entry of [ROUTER_ENTRY, DEMO_BACKEND_ENTRY]) {
      if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
    }
    const block =
      options.block === 'random'
        ? await randomFreeBlock([DEFAULT_PORTS.consulHttp, DEFAULT_PORTS.consulDns, DEFAULT_PORTS.haproxyFrontend, DEFAULT_PORTS.haproxyStats, DEFAULT_PORTS.haproxyMcp])
        : (options.block ?? loopbackBlock('127.0.0'));
    const workDir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-local-platform-'));
    const platform = new LocalPlatform(options, block, workDir);
    // Each step races the abort signal: a Ctrl-C during start stops what has started, at once.
    const step = <T>(p: Promise<T>): Promise<T> => {
      const signal = options.signal;
      if (!signal) return p;
      if (signal.aborted) return Promise.reject(new Error('start aborted'));
      return new Promise<T>((resolve, reject) => {
        const onAbort = () => reject(new Error('start aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
        p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
    };
    try {
      await step(platform.startAuth());
      await step(platform.startConsul());
      if (options.haproxyFirst) await step(platform.startHaproxy());
      for (const name of options.backends ?? ['demo']) await step(platform.startBackend(name));
      const n = options.instances ?? 1;
      await step(Promise.all(Array.from({ length: n }, (_, i) => platform.startRouter(i + 1))));
      if (!options.haproxyFirst) await step(platform.startHaproxy());
      if (options.waitUntilUp ?? true) {
        await step(platform.waitUntilUp());
        platform.upMs = Date.now() - t0;
      }
    } catch (err) {
      await platform.close();
      throw err;
    }
    return platform;
  }

  /**
   * Waits until every running router is UP in HAProxy's stats and its checks
   * pass in Consul (HAProxy resolves only passing routers). Resolves to the
   * ms it waited.
   */
  async waitUntilUp(timeoutMs = 60_000): Promise<number> {
    const want = this.runningRouters().map((i) => this.block.routerAddress(i)).sort();
    const ids = this.runningRouters().map((i) => `mcp-router-mcp-router-${i}`).sort();
    return waitUntil(
      `${want.length} router(s) UP in HAProxy and passing in Consul`,
      async () => {
        const [up, passing] = await Promise.all([this.haproxyUpAddresses(), this.passingRouterIds()]);
        return want.every((a) => up.includes(a)) && ids.every((id) => passing.includes(id));
      },
      timeoutMs,
      200,
      this.haproxy,
    );
  }

  /** The routers' maximum call time, when their environment sets it (HAProxy's timeouts derive from it). */
  get maxCallMs(): number | undefined {
    const raw = this.options.routerEnv?.[ROUTER_ENV.maxCallMs];
    return raw === undefined || raw === '' ? undefined : Number(raw);
  }

  // ---- endpoints ---------------------------------------------------------
  get endpoint(): string {
    return `${this.block.infraAddress}:${this.ports.haproxyFrontend}`;
  }
  /** The platform's MCP endpoint (HAProxy's MCP listener). */
  get mcpUrl(): string {
    return `http://${this.block.infraAddress}:${this.ports.haproxyMcp}/mcp`;
  }
  get statsUrl(): string {
    return `http://${this.block.infraAddress}:${this.ports.haproxyStats}/`;
  }
  get consulHttp(): string {
    return `http://${this.block.infraAddress}:${this.ports.consulHttp}`;
  }
  get consulUiUrl(): string {
    return `${this.consulHttp}/ui/dc1/services/mcp-router`;
  }
  routerTarget(i: number): string {
    return `${this.block.routerAddress(i)}:${this.ports.router}`;
  }

  // ---- authentication ----------------------------------------------------
  /** Starts the local issuer and writes the key and rules files (options.auth). */
  async startAuth(): Promise<void> {
    const auth = this.options.auth;
    if (!auth) return;
    if (auth.jwt) {
      this.issuer = await JwksServer.start(this.block.infraAddress);
      await this.issuer.addKey(LOCAL_ISSUER_KID, 'ES256');
    }
    if (auth.apiKeys) {
      this.authFiles.apiKeys = path.join(this.workDir, 'api-keys.json');
      fs.writeFileSync(this.authFiles.apiKeys, JSON.stringify({ keys: auth.apiKeys }), { mode: 0o600 });
    }
    if (auth.rules !== undefined) {
      this.authFiles.rules = path.join(this.workDir, 'auth-rules.json');
      fs.writeFileSync(this.authFiles.rules, JSON.stringify(auth.rules), { mode: 0o600 });
    }
  }

  /** The routers' authentication environment (none without options.auth, or for a router started with MCP_ROUTER_AUTH=none). */
  private authEnv(off = false): Record<string, string> {
    const auth = off ? undefined : this.options.auth;
    // Loopback only: without authentication every caller here is the developer (set admin to try the rule).
    if (!auth) return { [ROUTER_ENV.auth]: 'none', [ROUTER_ENV.internals]: 'everyone' };
    const methods = [...(this.issuer ? ['jwt'] : []), ...(this.authFiles.apiKeys ? ['apiKeys'] : [])];
    if (methods.length === 0) throw new Error('options.auth needs jwt: true or apiKeys');
    return {
      [ROUTER_ENV.auth]: methods.join(','),
      [ROUTER_ENV.publicUrl]: this.mcpUrl,
      [ROUTER_ENV.internals]: 'admin',
      ...(this.issuer ? { [ROUTER_ENV.authJwtIssuer]: this.issuer.issuer, [ROUTER_ENV.authJwtJwksUrl]: this.issuer.url } : {}),
      ...(this.authFiles.apiKeys ? { [ROUTER_ENV.authApiKeysFile]: this.authFiles.apiKeys } : {}),
      ...(this.authFiles.rules ? { [ROUTER_ENV.authRulesFile]: this.authFiles.rules } : {}),
    };
  }

  /**
   * A JWT from the local issuer for this platform (issuer, audience = the MCP
   * URL, expiry in `ttlS`), with these claims (e.g. sub, scope).
   */
  async token(claims: Record<string, unknown> = {}, ttlS = 3600, kid = LOCAL_ISSUER_KID): Promise<string> {
    if (!this.issuer) throw new Error('this platform has no local issuer (start it with auth: { jwt: true })');
    const now = Math.floor(Date.now() / 1000);
    return this.issuer.sign({ iss: this.issuer.issuer, aud: this.mcpUrl, sub: 'developer', exp: now + ttlS, ...claims }, kid);
  }

  // ---- consul ------------------------------------------------------------
  async startConsul(): Promise<void> {
    const dataDir = path.join(this.workDir, 'consul-data');
    fs.mkdirSync(dataDir, { recursive: true });
    const cfgPath = path.join(this.workDir, 'consul.json');
    fs.writeFileSync(cfgPath, consulConfigFor(this.block.infraAddress, dataDir, this.ports));
    this.consul = this.spawn('consul', locateTool('consul'), ['agent', '-config-file', cfgPath]);
    await waitUntil('Consul leader election', async () => {
      const res = await fetch(`${this.consulHttp}/v1/status/leader`);
      const leader = (await res.json()) as string;
      return res.ok && leader.length > 0;
    }, 30_000, 200, this.consul);
  }

  async stopConsul(signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
    await this.consul?.stop(signal);
  }

  /** Deletes Consul's data dir (with Consul stopped): a restart then has lost every registration. */
  async wipeConsulData(): Promise<void> {
    if (this.consul?.running) throw new Error('stop Consul before wiping its data');
    fs.rmSync(path.join(this.workDir, 'consul-data'), { recursive: true, force: true });
  }

  // ---- haproxy -----------------------------------------------------------
  async startHaproxy(): Promise<void> {
    const cfgPath = path.join(this.workDir, 'haproxy.cfg');
    fs.writeFileSync(
      cfgPath,
      haproxyConfigFor({
        address: this.block.infraAddress,
        ports: this.ports,
        // The options are the renderer's enum values as strings.
        mode: this.mode as HaproxyMode,
        balance: (this.options.balance ?? 'roundrobin') as BalanceAlgorithm,
        maxInstances: this.options.maxInstances ?? 10,
        maxCallMs: this.maxCallMs,
        timeouts: this.options.haproxyTimeouts,
      }),
    );
    this.haproxy = this.spawn('haproxy', locateTool('haproxy'), ['-db', '-f', cfgPath]);
    await waitUntil('HAProxy stats page', async () => (await fetch(this.statsUrl)).ok, 15_000, 100, this.haproxy);
  }

  /** HAProxy's view of a router backend (the gRPC one unless named), from its stats CSV. */
  async haproxyServers(backend: 'mcp_router_backend' | 'mcp_http_backend' = 'mcp_router_backend'): Promise<StatsServer[]> {
    return (await statsServers(this.statsUrl)).filter((s) => s.proxy === backend);
  }

  /** Routers HAProxy has UP in a backend (the gRPC one unless named), by address (without port). */
  async haproxyUpAddresses(backend: 'mcp_router_backend' | 'mcp_http_backend' = 'mcp_router_backend'): Promise<string[]> {
    return upAddresses(await this.haproxyServers(backend));
  }

  // ---- routers -----------------------------------------------------------
  /** Starts router `i`; `extraEnv` with MCP_ROUTER_AUTH=none starts it without the platform's authentication. */
  async startRouter(i: number, extraEnv: Record<string, string> = {}): Promise<ManagedProcess> {
    const existing = this.routers.get(i);
    if (existing?.running) throw new Error(`router-${i} is already running`);
    const address = this.block.routerAddress(i);
    const proc = this.spawn(`router-${i}`, process.execPath, [...routerNodeFlags(), ROUTER_ENTRY], {
      ...process.env,
      CONSUL_HOST: this.block.infraAddress,
      CONSUL_PORT: String(this.ports.consulHttp),
      MCP_ROUTER_PORT: String(this.ports.router),
      MCP_ROUTER_BIND_ADDRESS: address,
      MCP_ROUTER_ADVERTISE_ADDRESS: address,
      MCP_ROUTER_HOSTNAME: `mcp-router-${i}`,
      MCP_ROUTER_METRICS_PORT: String(this.ports.routerAdmin),
      MCP_ROUTER_MCP_PORT: String(this.ports.routerMcp),
      // Every router of the platform signs MCP session IDs with the same key.
      MCP_ROUTER_SESSION_KEYS: `local=${this.sessionKey}`,
      LOG_LEVEL: 'info',
      ...this.authEnv(extraEnv[ROUTER_ENV.auth] === 'none'),
      ...this.options.routerEnv,
      ...extraEnv,
    });
    this.routers.set(i, proc);
    await proc.waitForLine((l) => l.includes('router started'), 20_000, '"router started" log line');
    return proc;
  }

  async stopRouter(i: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const proc = this.routers.get(i);
    if (!proc) throw new Error(`router-${i} was never started`);
    return proc.stop(signal, 30_000);
  }

  /** Indexes of routers whose process is running. */
  runningRouters(): number[] {
    return [...this.routers.entries()].filter(([, p]) => p.running).map(([i]) => i).sort((a, b) => a - b);
  }

  // ---- backends ----------------------------------------------------------
  async startBackend(name: string): Promise<ManagedProcess> {
    const existing = this.backends.get(name);
    if (existing?.running) throw new Error(`backend ${name} is already running`);
    const index = existing ? [...this.backends.keys()].indexOf(name) + 1 : this.backends.size + 1;
    const proc = this.spawn(`backend-${name}`, process.execPath, [DEMO_BACKEND_ENTRY], {
      ...process.env,
      HOST: this.block.backendAddress(index),
      PORT: String(this.ports.backend),
      SERVER_NAME: name,
      CONSUL_HOST: this.block.infraAddress,
      CONSUL_PORT: String(this.ports.consulHttp),
    });
    this.backends.set(name, proc);
    const url = `http://${this.block.backendAddress(index)}:${this.ports.backend}/mcp`;
    await waitUntil(`backend ${name} at ${url}`, async () => {
      const res = await fetch(url, { method: 'GET' }).catch(() => undefined);
      return res !== undefined;
    }, 20_000, 100, proc);
    return proc;
  }

  async stopBackend(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.backends.get(name)?.stop(signal);
  }

  // ---- consul queries ----------------------------------------------------
  /** Consul health entries for the router service. */
  async routerHealth(): Promise<Array<{ id: string; address: string; tags: string[]; checks: Array<{ name: string; status: string; type: string }> }>> {
    const res = await fetch(`${this.consulHttp}/v1/health/service/mcp-router`);
    if (!res.ok) throw new Error(`consul health query: HTTP ${res.status}`);
    const body = (await res.json()) as any[];
    return body.map((e) => ({
      id: e.Service.ID,
      address: e.Service.Address,
      tags: e.Service.Tags,
      checks: e.Checks.filter((c: any) => c.ServiceID).map((c: any) => ({ name: c.Name, status: c.Status, type: c.Type })),
    }));
  }

  /** IDs of router instances whose every check is passing. */
  async passingRouterIds(): Promise<string[]> {
    return (await this.routerHealth())
      .filter((e) => e.checks.length > 0 && e.checks.every((c) => c.status === 'passing'))
      .map((e) => e.id)
      .sort();
  }

  // ---- teardown ----------------------------------------------------------
  /**
   * Stops everything, in order: the routers drain (SIGTERM: NOT_SERVING,
   * deregister from Consul, finish their calls) and exit; then the MCP
   * backends (they deregister too); then HAProxy and Consul, which the others
   * needed until then. Each wait is bounded (SIGKILL after it). Resolves to
   * the processes in the order they ended; a second call returns the same.
   *
   * Clean ends: routers and backends exit 0; HAProxy exits 0 after a soft
   * stop (SIGUSR1); Consul 1.8 exits 0, or 1 when it stops without leaving
   * the cluster, which a server does by default on a signal (its normal stop).
   */
  close(): Promise<StopRecord[]> {
    this.closing ??= (async () => {
      const t0 = Date.now();
      const stopped: StopRecord[] = [];
      const stop = async (p: ManagedProcess | undefined, signal: NodeJS.Signals, timeoutMs: number, cleanCodes: readonly number[] = [0]) => {
        if (!p?.running) return;
        const exit = await p.stop(signal, timeoutMs);
        stopped.push({ name: p.name, ...exit, atMs: Date.now() - t0, clean: exit.code !== null && cleanCodes.includes(exit.code) });
      };
      // A router drains for its drain delay plus its grace period (7 s + 10 s by default).
      await Promise.all([...this.routers.values()].map((p) => stop(p, 'SIGTERM', 30_000)));
      await Promise.all([...this.backends.values()].map((p) => stop(p, 'SIGTERM', 10_000)));
      await Promise.all([stop(this.haproxy, 'SIGUSR1', 10_000), stop(this.consul, 'SIGINT', 10_000, [0, 1])]);
      await this.issuer?.down();
      return stopped;
    })();
    return this.closing;
  }

  private spawn(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ManagedProcess {
    const logFile = fs.createWriteStream(path.join(this.workDir, `${name}.log`), { flags: 'a' });
    const echo = this.options.echo;
    return new ManagedProcess({
      name,
      command,
      args,
      env,
      onLine: (line) => {
        logFile.write(line + '\n');
        echo?.write(`[${name}] ${line}\n`);
      },
    });
  }
}
