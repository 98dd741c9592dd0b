/**
 * The front-door calls this router is running, by session nonce and the
 * client's request ID, so a cancellation finds its call: one that arrives here
 * (the client's notifications/cancelled, or a closed response stream), or one
 * a peer router passes on because the call is not running there.
 */
export class InflightCalls {
  private readonly calls = new Map<string, AbortController>();

  private static key(nonce: string, requestId: unknown): string {
    return `${nonce}\u0000${JSON.stringify(requestId)}`;
  }

  /** Registers a call; `abort` is fired by cancel(). Call end() when the call is over. */
  begin(nonce: string, requestId: unknown, abort: AbortController): () => void {
    const key = InflightCalls.key(nonce, requestId);
    this.calls.set(key, abort);
    return () => {
      if (this.calls.get(key) === abort) this.calls.delete(key);
    };
  }

  /** Cancels the call if it runs here; true when it did. */
  cancel(nonce: string, requestId: unknown, reason: Error): boolean {
    const abort = this.calls.get(InflightCalls.key(nonce, requestId));
    if (!abort) return false;
    abort.abort(reason);
    return true;
  }

  get size(): number {
    return this.calls.size;
  }
}
