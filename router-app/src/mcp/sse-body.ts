/**
 * A complete `text/event-stream` body (the response to one JSON-RPC POST)
 * turned into the JSON-RPC messages it carries, with the maintained SSE
 * parser the SDK itself uses (eventsource-parser), so every part of the
 * format is handled as the standard says: `id:`, `retry:`, comments and
 * keep-alives, LF / CRLF / CR line ends, multi-line `data:`, several events in
 * one body, and events whose data is empty (an SDK server's priming event
 * `id: <id>` + `data:`), which are not dispatched.
 *
 * An event that is not a `message` event is ignored; a `message` event whose
 * data is not JSON is an error (the backend broke the protocol).
 */
import { createParser } from 'eventsource-parser';

export interface SseBody {
  /** The JSON-RPC messages of the body's `message` events, in order. */
  readonly messages: unknown[];
  /** The last event ID the body carried (a priming event makes the stream resumable). */
  readonly lastEventId?: string;
  /** The reconnection time the server asked for (`retry:`), in ms. */
  readonly retryMs?: number;
}

/** A `message` event whose data is not JSON. */
export class SseMessageError extends Error {
  readonly code = 'SSE_BAD_MESSAGE';
}

export function parseSseBody(body: string): SseBody {
  const messages: unknown[] = [];
  let lastEventId: string | undefined;
  let retryMs: number | undefined;
  let failure: SseMessageError | undefined;
  const parser = createParser({
    onEvent(event) {
      if (event.id !== undefined) lastEventId = event.id;
      // The standard: an event with an empty data buffer is not dispatched.
      if (event.data === '' || failure) return;
      if (event.event !== undefined && event.event !== 'message') return;
      try {
        messages.push(JSON.parse(event.data));
      } catch (err) {
        failure = new SseMessageError(`backend sent an SSE message that is not JSON: ${(err as Error).message}`);
      }
    },
    onRetry(ms) {
      retryMs = ms;
    },
  });
  parser.feed(body);
  // The parser holds back a final CR in case an LF follows in the next chunk;
  // this body is complete, so that CR ends its line (CR + LF is one line end).
  if (body.endsWith('\r')) parser.feed('\n');
  // The standard: an event the body ends in the middle of (no blank line after it) is discarded.
  if (failure) throw failure;
  return { messages, lastEventId, retryMs };
}

/** True when `messages` holds the response (result or error) to the JSON-RPC request `id`. */
export function hasResponseTo(messages: readonly unknown[], id: unknown): boolean {
  return messages.some((m) => typeof m === 'object' && m !== null && (m as { id?: unknown }).id === id && ('result' in m || 'error' in m));
}
