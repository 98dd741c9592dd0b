/**
 * The graceful drain sequence: stop advertising (NOT_SERVING, /readyz 503,
 * Consul deregistration), keep answering for the drain delay so HAProxy and
 * Consul notice, then stop taking new calls and give in-flight calls a grace
 * period before cancelling them, and finally release everything else.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logger';

export interface DrainSteps {
  readonly server: grpc.Server;
  readonly logger: Logger;
  readonly drainDelayMs: number;
  readonly graceMs: number;
  /** NOT_SERVING on every health service name, readiness false. */
  readonly stopAdvertising: () => void;
  /** Consul deregistration (best effort; never throws). */
  readonly deregister: () => Promise<void>;
  /** The other front doors: stop taking new requests, let in-flight ones end within the grace period. */
  readonly stopOtherDoors?: (graceMs: number) => Promise<void>;
  /** Discovery, MCP sessions, admin server. */
  readonly release: () => Promise<void>;
}

/** Stops taking new calls and waits for in-flight ones up to `graceMs`, then cancels the rest. */
export function shutdownGrpc(server: grpc.Server, graceMs: number, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      logger.warn({ graceMs }, 'grace period over; cancelling remaining calls');
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function drain(steps: DrainSteps): Promise<void> {
  const { logger } = steps;
  logger.info({ drainDelayMs: steps.drainDelayMs, graceMs: steps.graceMs }, 'draining');
  steps.stopAdvertising();
  await steps.deregister();
  if (steps.drainDelayMs > 0) await new Promise((r) => setTimeout(r, steps.drainDelayMs));
  await Promise.all([shutdownGrpc(steps.server, steps.graceMs, logger), steps.stopOtherDoors?.(steps.graceMs)]);
  await steps.release();
  logger.info('drained');
}
