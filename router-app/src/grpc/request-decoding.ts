/**
 * Requests that cannot be decoded are the client's error: INVALID_ARGUMENT.
 *
 * grpc-js answers INTERNAL ("Error deserializing request") whenever a
 * method's requestDeserialize throws, which protobufjs does for bytes that
 * are not the message and for messages nested deeper than its recursion limit
 * (100, protoc's default: a google.protobuf.Struct about 50 levels deep). So
 * the service definition's deserializers are wrapped: a failure becomes a
 * marker object, and the handler answers INVALID_ARGUMENT naming the message
 * type and protobufjs's reason.
 */
import type * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '../mcp/errors';

const UNDECODABLE = Symbol('undecodable request');

interface Undecodable {
  readonly [UNDECODABLE]: InvalidArgumentError;
}

/** `def` with every method's requestDeserialize answering a marker instead of throwing. */
export function withRequestDecodeGuard(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(def)) {
    const type = (method as { requestType?: { type?: { name?: string } } }).requestType?.type?.name ?? `${name} request`;
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch (err) {
          const marker: Undecodable = { [UNDECODABLE]: new InvalidArgumentError(`the request is not a valid ${type}: ${(err as Error).message}`) };
          return marker;
        }
      },
    };
  }
  return out as grpc.ServiceDefinition;
}

/** The INVALID_ARGUMENT error of a request that could not be decoded, else undefined. */
export function decodeError(request: unknown): InvalidArgumentError | undefined {
  return typeof request === 'object' && request !== null && UNDECODABLE in request ? (request as Undecodable)[UNDECODABLE] : undefined;
}
