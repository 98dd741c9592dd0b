/**
 * Per-backend circuit breaker: after `failures` consecutive failures the
 * circuit opens and calls fail fast for `resetMs`; then one trial call is let
 * through (half-open). Every call that was let through is settled exactly
 * once with its outcome:
 * - `success`: the backend answered (even with an MCP error) → closed;
 * - `failure`: it could not be reached or broke the protocol → counts, and a
 *   trial that fails opens the circuit again;
 * - `timeout`: no answer in time → a failure for a trial, nothing otherwise
 *   (a slow tool under a short client deadline is not a broken backend);
 * - `release`: no verdict (the client cancelled) → a trial is handed back, so
 *   the next call becomes the trial.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';
export type Outcome = 'success' | 'failure' | 'timeout' | 'release';

/** A call let through; settle it once. */
export interface Permit {
  readonly trial: boolean;
}

export class CircuitBreaker {
  private consecutive = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private state_: CircuitState = 'closed';

  constructor(
    private readonly failures: number,
    private readonly resetMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    if (this.state_ === 'open' && this.now() - this.openedAt >= this.resetMs) return 'half-open';
    return this.state_;
  }

  /** A permit when a call may go to the backend now, else undefined. */
  enter(): Permit | undefined {
    const s = this.state;
    if (s === 'closed') return { trial: false };
    if (s === 'half-open' && !this.trialInFlight) {
      this.trialInFlight = true;
      return { trial: true };
    }
    return undefined;
  }

  settle(permit: Permit, outcome: Outcome): void {
    if (permit.trial) this.trialInFlight = false;
    switch (outcome) {
      case 'success':
        this.consecutive = 0;
        this.state_ = 'closed';
        return;
      case 'timeout':
        if (permit.trial) this.open();
        return;
      case 'release':
        return;
      case 'failure':
        this.consecutive++;
        if (permit.trial || this.state_ !== 'closed' || this.consecutive >= this.failures) this.open();
    }
  }

  private open(): void {
    this.state_ = 'open';
    this.openedAt = this.now();
  }
}
