/**
 * A real Consul cluster on loopback for tests (Debian's consul 1.8.7, located
 * by requireTool): N servers and any number of client agents, each agent on
 * its own 127.a.b.c address with Consul's default ports, as the containers of
 * a deployment are on their network. Every agent's configuration comes from
 * the package's renderer (renderConsulAgentConfig: servers with
 * bootstrap_expect and retry_join, clients with retry_join, the ACL stanza);
 * extra config files (e.g. the ACL tokens file a container gets, evaluated
 * from the plan) go in the agent's config dir beside it. Agents can be
 * SIGKILLed and started again on the same address and data dir. Every
 * process is killed if the test process exits (ManagedProcess).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConsulAclOptions, ConsulLogLevel, renderConsulAgentConfig, resolveConsulAgentConfig } from '../../constructs/consul-agent-config';
import { canBind } from '../../scripts/local-platform/loopback';
import { ManagedProcess, waitUntil } from '../../scripts/local-platform/managed-process';
import { PORTS } from '../../router-app/src/contract';
import { requireTool } from './tools';

/** A random 127.a.b.0/24 block whose Consul ports are free on the addresses tests use. */
export async function randomLoopbackPrefix(hosts: readonly number[] = [1, 11, 12, 13, 14, 15, 21, 22, 23, 24, 25]): Promise<string> {
  for (let attempt = 0; attempt < 30; attempt++) {
    const prefix = `127.${100 + Math.floor(Math.random() * 155)}.${Math.floor(Math.random() * 255)}`;
    const checks = await Promise.all(hosts.map((h) => canBind(`${prefix}.${h}`, PORTS.consulHttp)));
    if (checks.every(Boolean)) return prefix;
  }
  throw new Error('no free loopback block for a Consul cluster after 30 attempts');
}

export interface ConsulProcessOptions {
  readonly name: string;
  readonly address: string;
  readonly server: boolean;
  /** Servers only. */
  readonly bootstrapExpect?: number;
  /** Addresses to join (serf port 8301). */
  readonly retryJoin: readonly string[];
  readonly acl?: ConsulAclOptions;
  /** Files beside agent.json in the config dir: name → content (e.g. acl-tokens.json). */
  readonly extraConfig?: Readonly<Record<string, string>>;
  /**
   * An agent.json taken from a synthesized plan (what a container gets): used as it is, with
   * only its placement moved to loopback (node name, data dir, addresses, retry_join).
   */
  readonly planConfig?: Readonly<Record<string, unknown>>;
  /** Consul's log level. @default 'WARN' */
  readonly logLevel?: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERR';
}

/** One Consul agent (server or client) on its own loopback address. */
export class ConsulProcess {
  readonly url: string;
  readonly dir: string;
  proc?: ManagedProcess;
  readonly lines: string[] = [];

  constructor(readonly options: ConsulProcessOptions) {
    this.url = `http://${options.address}:${PORTS.consulHttp}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `consul-${options.name}-`));
    const config = path.join(this.dir, 'config');
    fs.mkdirSync(config);
    const placed = options.planConfig
      ? JSON.stringify(
          {
            ...options.planConfig,
            node_name: options.name,
            data_dir: path.join(this.dir, 'data'),
            bind_addr: options.address,
            client_addr: options.address,
            advertise_addr: options.address,
            ...(options.retryJoin.length ? { retry_join: options.retryJoin } : {}),
            log_level: options.logLevel ?? 'WARN',
          },
          null,
          2,
        )
      : undefined;
    fs.writeFileSync(
      path.join(config, 'agent.json'),
      placed ??
      renderConsulAgentConfig(
        resolveConsulAgentConfig({
          server: options.server,
          nodeName: options.name,
          dataDir: path.join(this.dir, 'data'),
          bindAddress: options.address,
          clientAddress: options.address,
          advertiseAddress: options.address,
          ...(options.server ? { bootstrapExpect: options.bootstrapExpect ?? 1 } : { ports: { dns: -1 } }),
          retryJoin: [...options.retryJoin],
          ...(options.acl ? { acl: options.acl } : {}),
          logLevel: (options.logLevel ?? 'WARN') as ConsulLogLevel,
        }),
      ),
    );
    for (const [name, content] of Object.entries(options.extraConfig ?? {})) fs.writeFileSync(path.join(config, name), content);
  }

  get address(): string {
    return this.options.address;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** Starts the agent (again: same address, same data). */
  start(): void {
    if (this.proc?.running) throw new Error(`${this.options.name} is already running`);
    this.proc = new ManagedProcess({
      name: `consul ${this.options.name}`,
      command: requireTool('consul'),
      args: ['agent', `-config-dir=${path.join(this.dir, 'config')}`],
      onLine: (l) => {
        this.lines.push(l);
        if (this.lines.length > 400) this.lines.splice(0, 100);
      },
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
    await this.proc?.stop(signal, 10_000);
  }

  /** HTTP API call with an optional token; resolves with status and parsed body (never throws on a status). */
  async call(p: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<{ status: number; body: any; text: string }> {
    const res = await fetch(`${this.url}${p}`, {
      method: init.method ?? 'GET',
      headers: { ...(init.token ? { 'x-consul-token': init.token } : {}) },
      ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: res.status, body, text };
  }

  /** The leader this agent knows ('' when none), or undefined when it does not answer. */
  async leader(): Promise<string | undefined> {
    try {
      const r = await this.call('/v1/status/leader');
      return r.status === 200 ? String(r.body) : undefined;
    } catch {
      return undefined;
    }
  }

  tail(n = 40): string {
    return this.lines.slice(-n).join('\n');
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface LoopbackClusterOptions {
  readonly prefix: string;
  /** @default 3 */
  readonly servers?: number;
  readonly acl?: ConsulAclOptions;
  /** Extra config files of every server (e.g. the ACL tokens file the plan gives the server containers). */
  readonly serverConfig?: Readonly<Record<string, string>>;
  /** The servers' agent.json from a synthesized plan (placement moved to loopback). @default rendered here */
  readonly serverPlanConfig?: Readonly<Record<string, unknown>>;
}

/** N servers at <prefix>.11.. that bootstrap together (bootstrap_expect N, retry_join all). */
export class LoopbackCluster {
  readonly servers: ConsulProcess[];
  readonly agents: ConsulProcess[] = [];

  constructor(readonly options: LoopbackClusterOptions) {
    const n = options.servers ?? 3;
    const addresses = Array.from({ length: n }, (_, i) => `${options.prefix}.${11 + i}`);
    this.servers = addresses.map(
      (address, i) =>
        new ConsulProcess({ name: `server-${i + 1}`, address, server: true, bootstrapExpect: n, retryJoin: addresses, acl: options.acl, extraConfig: options.serverConfig, planConfig: options.serverPlanConfig }),
    );
  }

  get serverAddresses(): string[] {
    return this.servers.map((s) => s.address);
  }

  async start(timeoutMs = 60_000): Promise<void> {
    for (const s of this.servers) s.start();
    await this.waitForLeader(timeoutMs);
  }

  /** Waits until the running servers agree on a leader; returns its server. */
  async waitForLeader(timeoutMs = 30_000, not?: ConsulProcess): Promise<ConsulProcess> {
    let found: ConsulProcess | undefined;
    await waitUntil(
      'the Consul servers to agree on a leader',
      async () => {
        const live = this.servers.filter((s) => s.running);
        const leaders = await Promise.all(live.map((s) => s.leader()));
        const first = leaders[0];
        if (!first || leaders.some((l) => l !== first)) return false;
        found = this.servers.find((s) => first.startsWith(`${s.address}:`));
        return found !== undefined && found !== not && found.running;
      },
      timeoutMs,
      50,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${this.servers.map((s) => `--- ${s.options.name}\n${s.tail(15)}`).join('\n')}`);
    });
    return found!;
  }

  /** A client agent at `address` named `name`, joining the servers (its agent.json from a plan, when given). */
  startAgent(name: string, address: string, extraConfig?: Readonly<Record<string, string>>, planConfig?: Readonly<Record<string, unknown>>): ConsulProcess {
    const a = new ConsulProcess({ name, address, server: false, retryJoin: this.serverAddresses, acl: this.options.acl, extraConfig, planConfig });
    a.start();
    this.agents.push(a);
    return a;
  }

  async stop(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.stop('SIGINT')));
    await Promise.all(this.servers.map((s) => s.stop('SIGINT')));
    for (const p of [...this.agents, ...this.servers]) p.remove();
  }
}
