/**
 * The synthesized plan on a real Docker engine, for the docker tests: synthesizes
 * McpRouterStack with the given props into a plan file laid out as `cdktf synth`
 * lays it out (cdk.tf.json three levels below the repo, so the plan's
 * `${path.module}/../../../router-app` build context resolves), applies it with the
 * test-only plan applier, and offers what the checks need: container health,
 * `docker exec` inside a container, HAProxy's stats, cleanup of everything.
 *
 * Every platform gets a unique name prefix (containers, network, router image)
 * and free loopback ports, so tests running in parallel on one engine never meet.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { App } from 'cdktf';
import { McpRouterStack, McpRouterStackProps } from '../../main';
import { ApplyResult, DockerPlanApplier } from '../support/docker-plan/docker-plan-applier';
import { waitUntil } from '../../scripts/local-platform/managed-process';
import { statsServers } from '../../scripts/local-platform/haproxy-stats';

const REPO = path.resolve(__dirname, '..', '..');
/** Where the docker tests' plans go: <repo>/cdktf.out.docker-tests/stacks/<id>/cdk.tf.json (git-ignored). */
const PLANS_DIR = path.join(REPO, 'cdktf.out.docker-tests');

let provisioned = false;
/**
 * Makes sure the engine and the stand-in images are there (scripts/provision-docker-engine.sh,
 * which `npm test`'s pretest also runs; cheap when everything is current). Fails loudly with
 * the script's reason.
 */
export function provisionEngine(): void {
  if (provisioned) return;
  for (const script of ['provision-test-tools.sh', 'provision-docker-engine.sh']) {
    try {
      execFileSync('bash', [path.join(REPO, 'scripts', script)], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 900_000 });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      throw new Error(`scripts/${script} failed, so the docker tests cannot run: ${e.stderr?.toString().trim() || e.message}`);
    }
  }
  provisioned = true;
}

/** A free TCP port on 127.0.0.1 that is also free for UDP (Consul DNS publishes both). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const sock = require('node:dgram').createSocket('udp4');
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

/** `docker exec` of a command in a container; resolves with its exit code and output. */
export async function dockerExec(docker: Docker, name: string, cmd: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const exec = await docker.getContainer(name).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d) => (stdout += d));
  err.on('data', (d) => (stderr += d));
  docker.modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`docker exec ${name} ${cmd.join(' ')} did not finish in ${timeoutMs} ms`)), timeoutMs);
    stream.on('end', () => (clearTimeout(timer), resolve()));
    stream.on('error', (e) => (clearTimeout(timer), reject(e)));
  });
  const info = await exec.inspect();
  return { code: info.ExitCode ?? -1, stdout, stderr };
}

export interface EnginePlatformOptions {
  /** Stack props (namePrefix, ports and dockerHost are set here; publicBindAddress is 127.0.0.1 unless given). */
  readonly props?: Omit<McpRouterStackProps, 'namePrefix' | 'publicPort' | 'statsPort' | 'mcpPort' | 'consulHttpPort' | 'consulDnsPort' | 'dockerHost'>;
  /** Variable values, e.g. { instanceCount: 3 }. */
  readonly variables?: Record<string, number | string | boolean>;
  /** Prefix stem; a random suffix makes it unique. @default 'dt' */
  readonly stem?: string;
}

export class EnginePlatform {
  readonly docker = new Docker();
  readonly prefix: string;
  readonly planFile: string;
  readonly applier: DockerPlanApplier;
  readonly ports: { public: number; stats: number; mcp: number; consulHttp: number; consulDns: number };
  readonly log: string[] = [];
  private props: McpRouterStackProps;

  private constructor(options: EnginePlatformOptions, ports: EnginePlatform['ports']) {
    this.prefix = `${options.stem ?? 'dt'}${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 5)}`;
    this.ports = ports;
    this.props = {
      publicBindAddress: '127.0.0.1',
      // One stack: the Docker plan applier runs docker_* resources only; the ACL layout (two stacks,
      // the Consul provider's resources) runs against real Consul in __tests__/platform/consul-acl.test.ts.
      acl: false,
      ...options.props,
      // This sandbox's engine gives a container at most 20000 file descriptors (the sandbox
      // withholds CAP_SYS_RESOURCE), and the plan asks for what maxconn needs
      // (2 x maxconn + ...): the default 10000 would need 21044, so the tests use 4000.
      haproxy: { maxconn: 4000, ...options.props?.haproxy },
      // The stand-in node:20-slim is built here, so it has no registry digest: the builds name
      // it by tag instead of the digest-pinned default (nodeBaseImage).
      nodeBaseImage: 'node:20-slim',
      namePrefix: this.prefix,
      dockerHost: 'unix:///var/run/docker.sock',
      publicPort: ports.public,
      statsPort: ports.stats,
      // A free port too: another test's platform may hold the default 8080 on this engine.
      ...(options.props?.enableMcp === false ? {} : { mcpPort: ports.mcp }),
      consulHttpPort: ports.consulHttp,
      consulDnsPort: ports.consulDns,
      localStatePath: false,
    };
    this.planFile = path.join(PLANS_DIR, 'stacks', this.prefix, 'cdk.tf.json');
    this.synth();
    this.applier = new DockerPlanApplier({ planFile: this.planFile, stateId: this.prefix, docker: this.docker, log: (l) => this.log.push(l) });
  }

  static async create(options: EnginePlatformOptions = {}): Promise<EnginePlatform> {
    provisionEngine();
    const ports: number[] = [];
    // Distinct: a port just probed and closed may be handed out again.
    while (ports.length < 5) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    const [pub, stats, mcp, consulHttp, consulDns] = ports;
    return new EnginePlatform(options, { public: pub, stats, mcp, consulHttp, consulDns });
  }

  /**
   * Writes the plan file with the real App synthesis (the same JSON `cdktf synth` writes), into
   * PLANS_DIR itself: the build contexts' relative paths are computed from where the stack is written.
   */
  synth(): void {
    // Made first: App and its manifest create them without `recursive`, which races with parallel workers.
    fs.mkdirSync(path.join(PLANS_DIR, 'stacks'), { recursive: true });
    const app = new App({ outdir: PLANS_DIR });
    new McpRouterStack(app, this.prefix, this.props);
    app.synth();
  }

  /** Re-synthesizes the plan with these props changed; the next apply() applies it. */
  resynth(patch: Partial<McpRouterStackProps>): void {
    this.props = { ...this.props, ...patch };
    this.synth();
  }

  get plan(): any {
    return JSON.parse(fs.readFileSync(this.planFile, 'utf8'));
  }

  get endpoint(): string {
    return `127.0.0.1:${this.ports.public}`;
  }

  async apply(variables: Record<string, number | string | boolean> = {}): Promise<ApplyResult> {
    return this.applier.apply({ variables });
  }

  /** Container names of this platform (all states), by the applier's labels. */
  async containers(): Promise<Docker.ContainerInfo[]> {
    return this.docker.listContainers({ all: true, filters: { label: [`org.mcp-router-platform.plan-applier.state=${this.prefix}`] } });
  }

  routerName(i: number): string {
    return `${this.prefix}-router-${i}`;
  }

  /** The id a router answers with (router-app: `mcp-router-<hostname>`). */
  routerId(i: number): string {
    return `mcp-router-${this.routerName(i)}`;
  }

  async health(name: string): Promise<string> {
    const info = await this.docker.getContainer(name).inspect();
    return info.State.Health?.Status ?? (info.State.Running ? 'running (no healthcheck)' : info.State.Status);
  }

  /** Waits until every running container of the platform is healthy by its own healthcheck. */
  async waitAllHealthy(timeoutMs: number): Promise<Record<string, string>> {
    let last: Record<string, string> = {};
    await waitUntil(
      'every container healthy',
      async () => {
        const list = await this.containers();
        last = Object.fromEntries(await Promise.all(list.map(async (c) => [c.Names[0].slice(1), await this.health(c.Id)] as const)));
        return list.length > 0 && Object.values(last).every((s) => s === 'healthy');
      },
      timeoutMs,
      1000,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}; health: ${JSON.stringify(last)}\n${await this.diagnostics()}`);
    });
    return last;
  }

  /** `docker exec` of a command in a container; resolves with its exit code and output. */
  async exec(name: string, cmd: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return dockerExec(this.docker, name, cmd, timeoutMs);
  }

  /** HAProxy's view of the router slots, from its stats CSV on the published stats port. */
  async haproxyServers(): Promise<{ name: string; addr: string; status: string }[]> {
    return (await statsServers(`http://127.0.0.1:${this.ports.stats}/`)).filter((s) => s.proxy === 'mcp_router_backend').map((s) => ({ name: s.name, addr: s.address, status: s.status }));
  }

  async upRouters(): Promise<number> {
    return (await this.haproxyServers()).filter((s) => s.status === 'UP').length;
  }

  /**
   * What explains failed calls: Consul's check state changes and the routers' warnings
   * and errors (pino level >= 40), since `since` (ms epoch).
   */
  async events(since: number): Promise<string[]> {
    const lines: string[] = [];
    for (const c of await this.containers()) {
      const name = c.Names[0].slice(1);
      const raw = await this.docker.getContainer(c.Id).logs({ stdout: true, stderr: true, since: Math.floor(since / 1000) }).catch(() => Buffer.from(''));
      for (const line of raw.toString('utf8').split('\n').map((l) => l.replace(/^[\s\S]{8}(?=[{ 0-9])/, '').trim())) {
        if (/Check is now (critical|warning)|Synced check|"level":(4|5|6)0/.test(line)) lines.push(`${name}: ${line.slice(0, 300)}`);
      }
    }
    return lines;
  }

  /** The last log lines of every container, for failure messages. */
  async diagnostics(): Promise<string> {
    const parts: string[] = [];
    for (const c of await this.containers()) {
      const logs = await this.docker.getContainer(c.Id).logs({ stdout: true, stderr: true, tail: 15 }).catch(() => Buffer.from(''));
      parts.push(`--- ${c.Names[0]} (${c.State}, ${c.Status})\n${logs.toString('utf8').replace(/[\x00-\x08]/g, '')}`);
    }
    return parts.join('\n');
  }

  /** Destroys everything this platform's state created, the router image tag and the plan file. */
  async destroy(): Promise<void> {
    try {
      await this.applier.destroy();
    } finally {
      // Images this state built (the router's, a demo server's): test artifacts, whatever keep_locally says.
      // Their layers stay in the build cache, so the next test's build is quick.
      const images = await this.docker.listImages({ filters: { label: [`org.mcp-router-platform.plan-applier.state=${this.prefix}`] } });
      for (const image of images) await this.docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
      fs.rmSync(path.dirname(this.planFile), { recursive: true, force: true });
    }
  }
}
