/**
 * Readable lines from a BuildKit build's progress stream. The engine sends each
 * step's status as a `moby.buildkit.trace` message: a protobuf StatusResponse
 * (moby/buildkit api/services/control/control.proto), decoded here with
 * protobufjs from the fields the log needs (unknown fields are skipped).
 */
import * as protobuf from 'protobufjs';

const PROTO = `
syntax = "proto3";
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
message Vertex { string digest = 1; string name = 3; bool cached = 4; Timestamp started = 5; Timestamp completed = 6; string error = 7; }
message VertexLog { string vertex = 1; int64 stream = 3; bytes msg = 4; }
message StatusResponse { repeated Vertex vertexes = 1; repeated VertexLog logs = 3; }
`;

let statusType: protobuf.Type | undefined;
const status = () => (statusType ??= protobuf.parse(PROTO).root.lookupType('StatusResponse'));

/** Collects the build's steps, their output and errors as plain lines. */
export class BuildLog {
  private readonly lines: string[] = [];
  private readonly named = new Map<string, string>();

  /** Feeds one JSON message of the engine's build stream. */
  add(event: { id?: string; aux?: unknown; stream?: string; error?: string; errorDetail?: { message?: string } }): void {
    if (event.id === 'moby.buildkit.trace' && typeof event.aux === 'string') {
      const msg = status().toObject(status().decode(Buffer.from(event.aux, 'base64')), { defaults: true }) as {
        vertexes: { digest: string; name: string; cached: boolean; completed?: unknown; error: string }[];
        logs: { vertex: string; msg: Uint8Array }[];
      };
      for (const v of msg.vertexes) {
        if (!this.named.has(v.digest)) {
          this.named.set(v.digest, v.name);
          this.lines.push(`${v.name}`);
        }
        if (v.cached && v.completed) this.lines.push(`  CACHED ${v.name}`);
        if (v.error) this.lines.push(`  ERROR ${v.name}: ${v.error}`);
      }
      for (const l of msg.logs) {
        for (const line of Buffer.from(l.msg).toString('utf8').split('\n')) if (line.trim()) this.lines.push(`  ${line}`);
      }
    } else if (typeof event.stream === 'string') {
      for (const line of event.stream.split('\n')) if (line.trim()) this.lines.push(line);
    }
    if (event.error || event.errorDetail) this.lines.push(`ERROR: ${event.errorDetail?.message ?? event.error}`);
  }

  tail(n = 40): string {
    return this.lines.slice(-n).join('\n');
  }
}
