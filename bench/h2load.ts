/**
 * Runs h2load with gRPC framing and turns its output into numbers:
 * throughput and the succeeded/failed/errored counts from stdout, and
 * p50/p95/p99 from the per-request --log-file (h2load itself prints only
 * mean/sd/max). Every run is bounded by count (-n) and by time (a kill timer).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { methodPath } from './grpc-frame';
import { LatencySummary, summarizeMicros } from './stats';
import { withCpu } from './procs';
import { RunTimedOut } from './rounds';

export interface H2loadOptions {
  readonly h2load: string;
  /** host:port */
  readonly target: string;
  readonly method: string;
  /** Framed gRPC request body. */
  readonly body: Buffer;
  readonly requests: number;
  readonly clients: number;
  readonly streams: number;
  /** Kill h2load after this long (the run then fails with RunTimedOut: its round fails, see rounds.ts). */
  readonly timeoutMs: number;
  /** Pin h2load to this CPU (taskset), when set. */
  readonly cpu?: number;
  /**
   * A plain HTTP request instead of gRPC (the MCP front door): its path, headers
   * and protocol. `body` is then sent as it is (no gRPC framing expected).
   */
  readonly http?: { readonly path: string; readonly headers: readonly string[]; readonly h1?: boolean };
  /** Headers added to every gRPC request (e.g. `authorization: Bearer …`). */
  readonly grpcHeaders?: readonly string[];
}

export interface H2loadCounts {
  readonly total: number;
  readonly started: number;
  readonly done: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly errored: number;
  readonly timeout: number;
}

export interface H2loadSummary {
  readonly elapsedSec: number;
  readonly reqPerSec: number;
  readonly counts: H2loadCounts;
  readonly status2xx: number;
}

export interface H2loadResult extends H2loadSummary {
  readonly latency: LatencySummary;
  /** The command line, for the report. */
  readonly command: string;
}

const DURATION_UNITS: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Parses h2load's stdout (nghttp2 1.5x format). Throws naming the line it could not find. */
export function parseH2loadOutput(stdout: string): H2loadSummary {
  const fin = /finished in ([\d.]+)(us|ms|s|m|h), ([\d.]+) req\/s/.exec(stdout);
  if (!fin) throw new Error(`h2load output has no "finished in ..., N req/s" line:\n${stdout.slice(-2000)}`);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  if (!req) throw new Error(`h2load output has no "requests: ..." line:\n${stdout.slice(-2000)}`);
  const codes = /status codes: (\d+) 2xx/.exec(stdout);
  const [total, started, done, succeeded, failed, errored, timeout] = req.slice(1).map(Number);
  return {
    elapsedSec: Number(fin[1]) * DURATION_UNITS[fin[2]],
    reqPerSec: Number(fin[3]),
    counts: { total, started, done, succeeded, failed, errored, timeout },
    status2xx: codes ? Number(codes[1]) : 0,
  };
}

/**
 * Parses h2load's --log-file: one request a line, tab-separated start time
 * (µs since the epoch), HTTP status (-1 when the request failed) and
 * duration (µs). Returns durations of status-200 requests and the other count.
 */
export function parseH2loadLog(text: string): { durationsUs: number[]; non200: number } {
  const durationsUs: number[] = [];
  let non200 = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split('\t');
    if (f.length < 3) throw new Error(`h2load log line must have 3 tab-separated columns; received ${JSON.stringify(line)}`);
    const status = Number(f[1]);
    const dur = Number(f[2]);
    if (status === 200 && Number.isFinite(dur)) durationsUs.push(dur);
    else non200++;
  }
  return { durationsUs, non200 };
}

export function h2loadArgs(o: Omit<H2loadOptions, 'h2load' | 'body' | 'timeoutMs'>, bodyFile: string, logFile: string): string[] {
  const headers = o.http ? o.http.headers : ['content-type: application/grpc', 'te: trailers', ...(o.grpcHeaders ?? [])];
  return [
    '-n', String(o.requests),
    '-c', String(o.clients),
    '-m', String(o.streams),
    '-t', '1',
    ...(o.http?.h1 ? ['--h1'] : []),
    ...headers.flatMap((h) => ['-H', h]),
    '-d', bodyFile,
    '--log-file', logFile,
    `http://${o.target}${o.http ? o.http.path : methodPath(o.method)}`,
  ];
}

export async function runH2load(o: H2loadOptions): Promise<H2loadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-h2load-'));
  try {
    const bodyFile = path.join(dir, 'body.bin');
    const logFile = path.join(dir, 'requests.log');
    fs.writeFileSync(bodyFile, o.body);
    const [cmd, args] = withCpu(o.cpu, o.h2load, h2loadArgs(o, bodyFile, logFile));
    const { code, stdout, stderr, timedOut } = await runBounded(cmd, args, o.timeoutMs);
    if (timedOut) throw new RunTimedOut(`h2load did not finish within ${o.timeoutMs} ms (${o.requests} requests to ${o.target})`);
    if (code !== 0) throw new Error(`h2load exited with ${code}: ${stderr.trim() || stdout.slice(-1000)}`);
    const summary = parseH2loadOutput(stdout);
    const log = parseH2loadLog(fs.readFileSync(logFile, 'utf8'));
    return {
      ...summary,
      latency: summarizeMicros(log.durationsUs),
      command: ['h2load', ...h2loadArgs(o, 'body.bin', 'requests.log')].join(' '),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a command to completion, or kills it after timeoutMs. */
export function runBounded(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}
