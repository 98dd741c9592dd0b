/**
 * A real Consul agent (Debian's consul 1.8.7, located by requireTool) for
 * tests: `-dev` mode or a single-node server (`-server -bootstrap-expect=1`),
 * on its own random loopback address with free ports, plus any extra agent
 * configuration. Output is kept for error messages; stop() leaves gracefully
 * (SIGINT, then SIGKILL after a bounded wait) and removes its temp dir;
 * restart() brings it back on the same address and ports (a -dev agent comes
 * back empty, which is how "Consul lost the registration" is produced for
 * real). Every agent started here is killed if the test process exits
 * (ManagedProcess, shared with the local platform).
 */
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManagedProcess, waitUntil } from '../../scripts/local-platform/managed-process';
import { requireTool } from './tools';

export interface ConsulAgentOptions {
  /** '-dev' agent (in-memory, everything on) or a single-node server with a data dir. @default 'dev' */
  readonly mode?: 'dev' | 'server';
  /** Loopback address to bind (HTTP, DNS, serf, server RPC). @default a random free 127.a.b.c (a in 100..254) */
  readonly address?: string;
  /** HTTP API port (e.g. one a client was told about before the agent started). @default a free port */
  readonly httpPort?: number;
  /** Extra agent configuration (JSON), merged over the generated one (shallow; `ports` merged one level). */
  readonly extraConfig?: Record<string, unknown>;
  /** Consul log level. @default 'warn' */
  readonly logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'err';
  /** How long to wait for a leader. @default 30000 */
  readonly startTimeoutMs?: number;
}

export interface ConsulAgentPorts {
  readonly http: number;
  readonly dns: number;
  readonly serfLan: number;
  readonly server: number;
}

export interface ConsulAgent {
  readonly address: string;
  readonly httpPort: number;
  readonly ports: ConsulAgentPorts;
  /** http://address:httpPort */
  readonly url: string;
  readonly mode: 'dev' | 'server';
  /** The JSON config file the agent runs with. */
  readonly configFile: string;
  /** HTTP API call (JSON in/out); throws with status and body on a non-2xx answer. */
  api<T = any>(path: string, init?: RequestInit): Promise<T>;
  /** Last lines of the agent's output. */
  output(): string;
  /** Stops and starts the agent again on the same address and ports; waits for a leader. */
  restart(): Promise<void>;
  /**
   * SIGSTOP: the kernel still accepts connections on its ports, but nothing
   * answers (a hung Consul, for real); resume() sends SIGCONT.
   */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** A TCP port that can be bound on `address` right now (and its UDP twin, for serf/DNS). */
async function freePort(address: string, taken: Set<number>): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port: number = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen({ host: address, port: 0, exclusive: true }, () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (!taken.has(port) && (await udpFree(address, port))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(`no free port on ${address}`);
}

function udpFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, address, () => s.close(() => resolve(true)));
  });
}

async function randomLoopback(): Promise<string> {
  for (let i = 0; i < 20; i++) {
    const a = `127.${100 + Math.floor(Math.random() * 155)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;
    try {
      await freePort(a, new Set());
      return a;
    } catch {
      /* try another */
    }
  }
  return '127.0.0.1';
}

export async function startConsulAgent(options: ConsulAgentOptions = {}): Promise<ConsulAgent> {
  const bin = requireTool('consul');
  const mode = options.mode ?? 'dev';
  const address = options.address ?? (await randomLoopback());
  const taken = new Set<number>(options.httpPort !== undefined ? [options.httpPort] : []);
  const ports: ConsulAgentPorts = {
    http: options.httpPort ?? (await freePort(address, taken)),
    dns: await freePort(address, taken),
    serfLan: await freePort(address, taken),
    server: await freePort(address, taken),
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'consul-test-'));
  const extra = options.extraConfig ?? {};
  const config: Record<string, unknown> = {
    node_name: `test-${address.replace(/\./g, '-')}`,
    datacenter: 'dc1',
    bind_addr: address,
    advertise_addr: address,
    client_addr: address,
    log_level: options.logLevel ?? 'warn',
    disable_update_check: true,
    enable_script_checks: false,
    ...(mode === 'server' ? { server: true, bootstrap_expect: 1, data_dir: path.join(dir, 'data'), ui: false } : {}),
    ...extra,
    ports: { http: ports.http, dns: ports.dns, serf_lan: ports.serfLan, serf_wan: -1, server: ports.server, grpc: -1, ...((extra.ports as object) ?? {}) },
  };
  const configFile = path.join(dir, 'agent.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const args = ['agent', ...(mode === 'dev' ? ['-dev'] : []), `-config-file=${configFile}`];
  const url = `http://${address}:${ports.http}`;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  let proc: ManagedProcess | undefined;

  const launch = async () => {
    const p = new ManagedProcess({ name: `consul ${url}`, command: bin, args });
    proc = p;
    try {
      await waitUntil(
        `consul at ${url} to elect a leader`,
        async () => {
          const res = await fetch(`${url}/v1/status/leader`);
          return res.ok && ((await res.json()) as string).length > 0;
        },
        startTimeoutMs,
        100,
        p,
      );
    } catch (err) {
      await p.stop('SIGKILL');
      throw new Error(`${(err as Error).message}\nconsul output:\n${p.tail(200)}`);
    }
  };

  let paused = false;
  const halt = async () => {
    if (paused && proc?.pid) {
      process.kill(proc.pid, 'SIGCONT');
      paused = false;
    }
    await proc?.stop('SIGINT', 10_000);
  };

  await launch();
  return {
    address,
    httpPort: ports.http,
    ports,
    url,
    mode,
    configFile,
    async api(p: string, init?: RequestInit) {
      const res = await fetch(`${url}${p}`, init);
      const text = await res.text();
      if (!res.ok) throw new Error(`consul ${init?.method ?? 'GET'} ${p}: HTTP ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    },
    output: () => proc?.tail(200) ?? '',
    pause() {
      if (proc?.pid && proc.running) {
        process.kill(proc.pid, 'SIGSTOP');
        paused = true;
      }
    },
    resume() {
      if (proc?.pid && proc.running) process.kill(proc.pid, 'SIGCONT');
      paused = false;
    },
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
