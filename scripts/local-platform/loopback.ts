/**
 * Address plan of one local platform on the loopback range.
 *
 * Every part gets its own loopback address, so each can use the same ports it
 * would use in a container (Consul 8500/8600, routers 50051, HAProxy 50051),
 * exactly as on the Docker network. A block is one 127.a.b.0/24:
 *   .1        Consul agent and HAProxy (frontend + stats)
 *   .2..      router i (1-based) at .(1 + i)          — as 127.0.0.(i+1) in the issue
 *   .200..    MCP backends
 * The local CLI uses 127.0.0.0/24 (HAProxy at 127.0.0.1:50051); tests pick a
 * random free block so parallel runs never collide.
 */
import * as net from 'node:net';

export interface LoopbackBlock {
  /** e.g. "127.0.0" */
  readonly prefix: string;
  readonly infraAddress: string;
  routerAddress(index: number): string;
  backendAddress(index: number): string;
}

export const MAX_ROUTERS_PER_BLOCK = 190;

export function loopbackBlock(prefix: string): LoopbackBlock {
  if (!/^127\.\d{1,3}\.\d{1,3}$/.test(prefix)) {
    throw new Error(`loopback prefix must look like "127.a.b"; received ${JSON.stringify(prefix)}`);
  }
  return {
    prefix,
    infraAddress: `${prefix}.1`,
    routerAddress(index: number) {
      if (!Number.isInteger(index) || index < 1 || index > MAX_ROUTERS_PER_BLOCK) {
        throw new Error(`router index must be an integer in 1..${MAX_ROUTERS_PER_BLOCK}; received ${index}`);
      }
      return `${prefix}.${1 + index}`;
    },
    backendAddress(index: number) {
      if (!Number.isInteger(index) || index < 1 || index > 50) {
        throw new Error(`backend index must be an integer in 1..50; received ${index}`);
      }
      return `${prefix}.${199 + index}`;
    },
  };
}

/** True when `address:port` can be bound right now (TCP). */
export function canBind(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: address, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A random 127.a.b block (a in 100..254) whose infra ports are free. */
export async function randomFreeBlock(ports: readonly number[]): Promise<LoopbackBlock> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const a = 100 + Math.floor(Math.random() * 155);
    const b = Math.floor(Math.random() * 255);
    const block = loopbackBlock(`127.${a}.${b}`);
    const free = await Promise.all(ports.map((p) => canBind(block.infraAddress, p)));
    if (free.every(Boolean)) return block;
  }
  throw new Error(`no free loopback block found for ports ${ports.join(', ')} after 20 attempts`);
}
