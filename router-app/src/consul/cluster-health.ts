/**
 * Watches the health of the Consul cluster behind the router's agent: every
 * interval it asks the agent for the Raft leader (`/v1/status/leader`, which
 * needs no ACL). Three states:
 *   - `leader`: the cluster has a leader; registrations and discovery work;
 *   - `no-leader`: the agent answers but the cluster has no leader — a majority
 *     of the Consul servers is down or cut off. Nothing in the catalogue can
 *     change; the router keeps serving from its last known catalogue;
 *   - `unreachable`: the router's agent does not answer.
 * A change of state is logged once (error when it degrades, info when it
 * recovers, with how long it lasted) and reported to `onState` (metrics).
 */
import type Consul from 'consul';
import type { Logger } from '../logger';

export type ConsulClusterState = 'leader' | 'no-leader' | 'unreachable';
export const CONSUL_CLUSTER_STATES: readonly ConsulClusterState[] = ['leader', 'no-leader', 'unreachable'];

export class ConsulClusterHealth {
  private timer?: NodeJS.Timeout;
  private current?: ConsulClusterState;
  private since = Date.now();
  private stopped = false;

  constructor(
    private readonly consul: Consul,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly onState: (state: ConsulClusterState) => void,
    /** How many backends the router serves from its catalogue (for the log lines). */
    private readonly backends: () => number,
  ) {}

  /** The last state seen (undefined before the first answer). */
  get state(): ConsulClusterState | undefined {
    return this.current;
  }

  start(): void {
    const tick = async () => {
      await this.check();
      if (this.stopped) return;
      this.timer = setTimeout(() => void tick(), this.intervalMs);
      this.timer.unref();
    };
    void tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One probe; resolves with the state it found. */
  async check(): Promise<ConsulClusterState> {
    let state: ConsulClusterState;
    let detail: string | undefined;
    try {
      const leader = (await this.consul.status.leader({ timeout: Math.max(1_000, Math.min(this.intervalMs, 5_000)) } as never)) as unknown;
      state = typeof leader === 'string' && leader !== '' ? 'leader' : 'no-leader';
      if (state === 'leader') detail = leader as string;
    } catch (err) {
      // An agent that answers with an error status cannot reach a server that knows a leader.
      const e = err as Error & { response?: { statusCode?: number } };
      state = e.response?.statusCode !== undefined ? 'no-leader' : 'unreachable';
      detail = e.message;
    }
    if (!this.stopped) this.transition(state, detail);
    return state;
  }

  private transition(state: ConsulClusterState, detail: string | undefined): void {
    if (state === this.current) return;
    const previous = this.current;
    const lastedMs = Date.now() - this.since;
    this.current = state;
    this.since = Date.now();
    this.onState(state);
    const backends = this.backends();
    if (state === 'leader') {
      if (previous !== undefined) this.logger.info({ consulState: state, leader: detail, previous, degradedMs: lastedMs, backends }, 'Consul cluster has a leader again: registrations and discovery work');
      return;
    }
    if (state === 'no-leader') {
      this.logger.error(
        { consulState: state, previous, backends, detail },
        'Consul cluster has no leader (a majority of its servers is down or cut off): serving from the last known catalogue; no registration can change until a leader is elected',
      );
      return;
    }
    this.logger.error({ consulState: state, previous, backends, err: detail }, "the router's Consul agent does not answer: serving from the last known catalogue");
  }
}
