/** What every bench section gets: settings, tool paths, CPU plan, logging. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchConfig } from './config';
import type { Row } from './report';

export { REPO_ROOT as REPO } from './grpc-frame';
import { REPO_ROOT as REPO } from './grpc-frame';
export const ROUTER_ENTRY = path.join(REPO, 'router-app', 'dist', 'main.js');
export const DEMO_ENTRY = path.join(REPO, 'examples', 'demo-mcp-server', 'dist', 'main.js');

export interface BenchContext {
  readonly cfg: BenchConfig;
  readonly tools: { readonly h2load?: string; readonly haproxy?: string; readonly consul?: string };
  /** CPUs for the server under test and for the load generator; undefined = unpinned (1 CPU or no taskset). */
  readonly cpu: { readonly server?: number; readonly client?: number };
  log(message: string): void;
}

/** "router-app (router-app/dist/main.js)" when missing, else undefined. */
export function missing(...entries: Array<[string, string]>): string | undefined {
  const gone = entries.filter(([, file]) => !fs.existsSync(file)).map(([name, file]) => `${name} (${path.relative(REPO, file)})`);
  return gone.length ? gone.join(', ') : undefined;
}

export function skippedRow(id: string, title: string, target: string, reason: string): Row {
  return { id, title, driver: '—', measured: '', baseline: '', ratio: '', target, skipped: reason };
}
