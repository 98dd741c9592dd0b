/**
 * Steady load for fault scenarios: a bounded loop of real gRPC calls (count
 * AND time capped; it stops by itself), recording every call's outcome, time
 * and the router instance that answered.
 */
import * as grpc from '@grpc/grpc-js';
import { createRouterClient, McpRouterClient } from './router-client';

export interface SteadyLoadOptions {
  readonly target: string;
  /** @default 'ListTools' */
  readonly method?: 'ListTools' | 'CallTool';
  /** Request for CallTool. @default echo on the "demo" backend */
  readonly request?: object;
  /** Parallel in-flight calls. @default 4 */
  readonly concurrency?: number;
  /** Client connections (each worker uses connection i % connections). @default 1 */
  readonly connections?: number;
  /** Hard cap on calls. @default 100000 */
  readonly maxCalls?: number;
  /** Hard cap on time. @default 60000 */
  readonly maxDurationMs?: number;
  /** Pause between a worker's calls. @default 5 */
  readonly pauseMs?: number;
  /** Per-call deadline. @default 3000 */
  readonly deadlineMs?: number;
}

export interface CallRecord {
  /** ms since load start when the call began */
  readonly start: number;
  readonly latencyMs: number;
  readonly code: grpc.status;
  readonly routerId?: string;
  readonly error?: string;
}

export interface SteadyLoadResult {
  readonly records: readonly CallRecord[];
  readonly ok: number;
  readonly failed: number;
  /** calls answered per router instance */
  readonly byRouter: Record<string, number>;
  readonly failures: readonly CallRecord[];
  /** First and last failure start time (ms since load start), when any. */
  readonly failureWindow?: { readonly first: number; readonly last: number };
}

export class SteadyLoad {
  private stopped = false;
  private readonly records: CallRecord[] = [];
  private readonly clients: McpRouterClient[];
  private readonly done: Promise<void>;
  readonly startedAt = Date.now();

  constructor(private readonly options: SteadyLoadOptions) {
    const connections = options.connections ?? 1;
    this.clients = Array.from({ length: connections }, () => createRouterClient(options.target, connections > 1));
    const concurrency = options.concurrency ?? 4;
    this.done = Promise.all(Array.from({ length: concurrency }, (_, i) => this.worker(i))).then(() => undefined);
  }

  /** ms since the load started. */
  now(): number {
    return Date.now() - this.startedAt;
  }

  /** Calls completed so far. */
  get count(): number {
    return this.records.length;
  }

  snapshot(): SteadyLoadResult {
    return summarize(this.records);
  }

  /** Stops issuing calls, waits for in-flight ones, closes the connections. */
  async stop(): Promise<SteadyLoadResult> {
    this.stopped = true;
    await this.done;
    for (const c of this.clients) c.close();
    return summarize(this.records);
  }

  private async worker(i: number): Promise<void> {
    const client = this.clients[i % this.clients.length];
    const maxCalls = this.options.maxCalls ?? 100_000;
    const maxDuration = this.options.maxDurationMs ?? 60_000;
    const method = this.options.method ?? 'ListTools';
    const req = this.options.request ?? (method === 'CallTool' ? { name: 'demo__echo', arguments: { fields: { text: { stringValue: 'hi' } } } } : {});
    const deadlineMs = this.options.deadlineMs ?? 3000;
    const pause = this.options.pauseMs ?? 5;
    while (!this.stopped && this.records.length < maxCalls && this.now() < maxDuration) {
      const start = this.now();
      const rec = await new Promise<CallRecord>((resolve) => {
        (client[method] as any).call(client, req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: any) => {
          const latencyMs = this.now() - start;
          if (err) resolve({ start, latencyMs, code: err.code, error: err.details || err.message });
          else resolve({ start, latencyMs, code: grpc.status.OK, routerId: res?.routerInstanceId });
        });
      });
      this.records.push(rec);
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
  }
}

export function summarize(records: readonly CallRecord[]): SteadyLoadResult {
  const byRouter: Record<string, number> = {};
  const failures: CallRecord[] = [];
  for (const r of records) {
    if (r.code === grpc.status.OK) byRouter[r.routerId ?? '?'] = (byRouter[r.routerId ?? '?'] ?? 0) + 1;
    else failures.push(r);
  }
  const failureWindow = failures.length
    ? { first: Math.min(...failures.map((f) => f.start)), last: Math.max(...failures.map((f) => f.start)) }
    : undefined;
  return { records, ok: records.length - failures.length, failed: failures.length, byRouter, failures, failureWindow };
}
