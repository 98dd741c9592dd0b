/**
 * The MCP SDK's StreamableHTTPClientTransport passes one AbortSignal, its own for its whole life,
 * to every fetch it makes; Node's fetch (undici) adds an abort listener to that signal per request
 * and removes it only when the Request is garbage-collected, after raising the signal's limit to
 * 1,500. A test that makes thousands of calls in one session passes that mark between collections,
 * and Node prints a MaxListenersExceededWarning for every listener added beyond it: thousands of
 * lines that bury the rest of CI's output. This is the SDK client as its users run it, not the
 * router (the router's own backend client fans one listener per signal out, backend-fetch.ts).
 *
 * `watchAbortListeners(transport)` lifts the limit on that one signal (0: no limit, so undici
 * leaves it alone and Node does not warn) and samples how many listeners it holds, so the test
 * reports the figure once instead. It needs the transport connected, and fails loudly if the SDK no
 * longer keeps its controller where this looks.
 */
import { getEventListeners, setMaxListeners } from 'node:events';

export interface AbortListenerWatch {
  /** Samples the listener count now; returns the highest seen. */
  sample(): number;
}

export function watchAbortListeners(transport: unknown): AbortListenerWatch {
  const signal = (transport as { _abortController?: AbortController })._abortController?.signal;
  if (!(signal instanceof AbortSignal)) {
    throw new Error('the SDK transport keeps no _abortController after connect(): see __tests__/support/abort-listener-warnings.ts (the SDK changed; check whether it still passes one signal to every fetch)');
  }
  setMaxListeners(0, signal);
  let max = 0;
  return {
    sample() {
      max = Math.max(max, getEventListeners(signal, 'abort').length);
      return max;
    },
  };
}
