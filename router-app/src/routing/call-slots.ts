/**
 * The bound on calls in flight per router (MCP_ROUTER_MAX_CONCURRENT_CALLS):
 * tool calls, resource reads and prompt gets from both doors take a slot for
 * as long as they run; when every slot is taken a new call is refused at once
 * with RESOURCE_EXHAUSTED (never queued: a queue would only move the memory
 * and the wait elsewhere). Listings are served from the catalogue and take
 * none.
 */
import { ResourceExhaustedError } from '../mcp/errors';

export class CallSlots {
  private used = 0;
  /** Calls refused because every slot was taken. */
  refused = 0;

  constructor(
    readonly max: number,
    /** Told of every refusal (metrics; the number in flight is read from `inFlight`). */
    private readonly hooks: { readonly refused?: () => void } = {},
    private readonly variable = 'MCP_ROUTER_MAX_CONCURRENT_CALLS',
  ) {}

  get inFlight(): number {
    return this.used;
  }

  /** Runs `fn` in a slot; throws ResourceExhaustedError when none is free. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.used >= this.max) {
      this.refused++;
      this.hooks.refused?.();
      throw new ResourceExhaustedError(`this router already runs ${this.max} calls, its limit (${this.variable}); retry later or on another router`);
    }
    this.used++;
    try {
      return await fn();
    } finally {
      this.used--;
    }
  }
}
