/**
 * gRPC request framing for h2load: the request message is encoded with
 * protobufjs from router-app/proto/mcp_router.proto and prefixed with the
 * 5-byte gRPC message header (compressed flag 0x00 + 4-byte big-endian length).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';

/** The repository root, from bench/ or from bench/dist/. */
export const REPO_ROOT = fs.existsSync(path.resolve(__dirname, '..', 'router-app')) ? path.resolve(__dirname, '..') : path.resolve(__dirname, '..', '..');
export const PROTO_PATH = path.join(REPO_ROOT, 'router-app', 'proto', 'mcp_router.proto');
export const SERVICE = 'mcp.router.v1.McpRouter';

let root: protobuf.Root | undefined;

/** The proto root (google/protobuf well-known types resolved by protobufjs). */
export function protoRoot(): protobuf.Root {
  root ??= protobuf.loadSync(PROTO_PATH);
  return root;
}

/** Prefixes a serialized message with the gRPC length-prefixed-message header. */
export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt8(0, 0);
  out.writeUInt32BE(message.length, 1);
  Buffer.from(message.buffer, message.byteOffset, message.length).copy(out, 5);
  return out;
}

/** Splits one gRPC frame into its header fields and payload. */
export function parseGrpcFrame(frame: Buffer): { compressed: boolean; length: number; payload: Buffer } {
  if (frame.length < 5) throw new Error(`gRPC frame must be at least 5 bytes; received ${frame.length}`);
  const compressed = frame.readUInt8(0) === 1;
  const length = frame.readUInt32BE(1);
  if (frame.length !== 5 + length) throw new Error(`gRPC frame header says ${length} payload bytes but ${frame.length - 5} follow`);
  return { compressed, length, payload: frame.subarray(5) };
}

/**
 * Encodes `request` as the request type of `method` (e.g. "ListTools") and frames it.
 * Field names are protobufjs' camelCase names; Struct fields take the
 * object shape ({ fields: { k: { stringValue } } }).
 */
export function requestFrame(method: string, request: Record<string, unknown>): Buffer {
  const r = protoRoot();
  const service = r.lookupService(SERVICE);
  const m = service.methods[method];
  if (!m) throw new Error(`method ${JSON.stringify(method)} is not in ${SERVICE}; allowed: ${Object.keys(service.methods).join(', ')}`);
  const type = service.lookupType(m.requestType);
  const problem = type.verify(request);
  if (problem) throw new Error(`invalid ${m.requestType} for ${method}: ${problem}`);
  return grpcFrame(type.encode(type.fromObject(request)).finish());
}

/** Decodes a framed message of `method`'s request or response type. */
export function decodeFrame(method: string, which: 'request' | 'response', frame: Buffer): Record<string, unknown> {
  const service = protoRoot().lookupService(SERVICE);
  const m = service.methods[method];
  if (!m) throw new Error(`method ${JSON.stringify(method)} is not in ${SERVICE}`);
  const type = service.lookupType(which === 'request' ? m.requestType : m.responseType);
  return type.toObject(type.decode(parseGrpcFrame(frame).payload), { defaults: false }) as Record<string, unknown>;
}

/** URL path of a method, as h2load requests it. */
export function methodPath(method: string): string {
  return `/${SERVICE}/${method}`;
}
