/**
 * A real Consul agent (Debian's consul 1.8.7) in dev mode on its own random
 * loopback address, for tests that need registration and discovery.
 */
import { randomFreeBlock } from '../../scripts/local-platform/loopback';
import { ManagedProcess, waitUntil } from '../../scripts/local-platform/managed-process';
import { requireTool } from './tools';

export interface ConsulAgent {
  readonly address: string;
  readonly httpPort: number;
  readonly url: string;
  api<T = any>(path: string, init?: RequestInit): Promise<T>;
  stop(): Promise<void>;
}

export async function startConsulAgent(): Promise<ConsulAgent> {
  const consul = requireTool('consul');
  const block = await randomFreeBlock([8500, 8600, 8300, 8301, 8302]);
  const address = block.infraAddress;
  const proc = new ManagedProcess({
    name: 'consul',
    command: consul,
    args: ['agent', '-dev', '-bind', address, '-client', address, '-log-level', 'warn', '-serf-wan-port', '-1'],
  });
  const url = `http://${address}:8500`;
  await waitUntil('consul leader', async () => ((await (await fetch(`${url}/v1/status/leader`)).json()) as string).length > 0, 30_000, 200, proc);
  return {
    address,
    httpPort: 8500,
    url,
    async api(path: string, init?: RequestInit) {
      const res = await fetch(`${url}${path}`, init);
      const text = await res.text();
      if (!res.ok) throw new Error(`consul ${path}: HTTP ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    },
    async stop() {
      await proc.stop('SIGINT', 10_000);
    },
  };
}
