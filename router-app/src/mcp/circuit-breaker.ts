/**
 * Per-backend circuit breaker: after `failures` consecutive failures the
 * circuit opens and calls fail fast for `resetMs`; then one trial call is let
 * through (half-open); success closes it, failure opens it again.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

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

  /** True when a call may go to the backend now. */
  allow(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'half-open' && !this.trialInFlight) {
      this.trialInFlight = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.consecutive = 0;
    this.trialInFlight = false;
    this.state_ = 'closed';
  }

  failure(): void {
    this.trialInFlight = false;
    this.consecutive++;
    if (this.state_ !== 'closed' || this.consecutive >= this.failures) {
      this.state_ = 'open';
      this.openedAt = this.now();
    }
  }
}
