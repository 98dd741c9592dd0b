/**
 * `npm run call -- <Rpc> [json]`: calls the router's gRPC API from a shell,
 * with JSON in and JSON out, where grpcurl is not installable (it is in
 * neither npm nor Debian bookworm). Built on the router's own proto with
 * @grpc/grpc-js + @grpc/proto-loader (scripts/local-platform/router-client.ts).
 *
 *   npm run call -- ListTools
 *   npm run call -- CallTool '{"name":"demo__echo","arguments":{"text":"hi"}}'
 *   npm run call -- CallToolStream '{"name":"demo__slow","arguments":{"steps":3,"stepMs":100}}'
 *   npm run call -- Health            # grpc.health.v1.Health/Check
 *   npm run call -- list              # services, from the server's reflection
 *   MCP_ROUTER_TOKEN=<jwt or API key> npm run call -- ListTools   # a platform with authentication
 *
 * Exit codes: 0 OK, 1 the call failed (gRPC status on stderr), 2 bad usage.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { createRouterClient, McpRouterClient, PROTO_PATH } from '../local-platform/router-client';
import { fromMessage, RequestJsonError, toMessage } from './proto-json';

export const DEFAULT_TARGET = '127.0.0.1:50051';
export const SERVICE = 'mcp.router.v1.McpRouter';
const HEALTH_PROTO = path.join(path.dirname(require.resolve('grpc-health-check/package.json')), 'proto', 'health', 'v1', 'health.proto');
const REFLECTION_PROTO = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  /** Request JSON when the json argument is "-". */
  readStdin?(): string;
}

class UsageError extends Error {}

export function usage(): string {
  return `usage: npm run call -- <Rpc> [json] [--target host:port] [--deadline ms]

  <Rpc>      one of the ${SERVICE} methods (also as "${SERVICE}/<Rpc>"):
             ${Object.keys(routerRoot().lookupService(SERVICE).methods).join(', ')};
             or "Health" (grpc.health.v1.Health/Check), or "list" (services, via reflection)
  [json]     the request as JSON (google.protobuf.Struct fields as plain JSON),
             "-" to read it from stdin; default {}
  --target   router address; default $MCP_ROUTER_TARGET or ${DEFAULT_TARGET}
  --deadline per-call deadline in ms (1..3600000); default 30000
  $MCP_ROUTER_TOKEN  a JWT or API key, sent as "authorization: Bearer <token>"
             (an environment variable, so it stays out of the shell history)

  Unary answers print as JSON; CallToolStream prints one JSON line per message.
  Exit status: 0 OK, 1 the call failed (gRPC status on stderr), 2 bad usage.
  Use "npm run --silent call -- ..." to get only the JSON on stdout.`;
}

const HINT = '(usage: npm run call -- --help)';

let root: protobuf.Root | undefined;
function routerRoot(): protobuf.Root {
  if (!root) {
    root = protobuf.loadSync(PROTO_PATH);
    root.resolveAll();
  }
  return root;
}

function parseJson(text: string, rpc: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the request for ${rpc} is not valid JSON (${(err as Error).message}); received ${JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text)}`);
  }
}

/** The call's metadata: `authorization: Bearer <token>` when a token is given. */
function metadataFor(token: string | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return md;
}

function unaryCall(client: grpc.Client, method: string, req: object, deadlineMs: number, md = new grpc.Metadata()): Promise<any> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, Function>)[method];
    fn.call(client, req, md, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)));
  });
}

function healthClient(target: string): grpc.Client {
  const def = protoLoader.loadSync(HEALTH_PROTO, { keepCase: false, defaults: true, enums: String });
  const Ctor = (grpc.loadPackageDefinition(def) as any).grpc.health.v1.Health;
  return new Ctor(target, grpc.credentials.createInsecure());
}

/** Service names from the server's reflection service (what `grpcurl list` prints). */
function listServices(target: string, deadlineMs: number, md: grpc.Metadata): Promise<string[]> {
  const def = protoLoader.loadSync(REFLECTION_PROTO, { keepCase: true, defaults: true });
  const Ctor = (grpc.loadPackageDefinition(def) as any).grpc.reflection.v1.ServerReflection;
  const client: grpc.Client = new Ctor(target, grpc.credentials.createInsecure());
  return new Promise<string[]>((resolve, reject) => {
    const call = (client as any).ServerReflectionInfo(md, { deadline: Date.now() + deadlineMs });
    call.on('data', (res: any) => {
      if (res.error_response) reject(new Error(`reflection error ${res.error_response.error_code}: ${res.error_response.error_message}`));
      else resolve((res.list_services_response?.service ?? []).map((s: { name: string }) => s.name).sort());
      call.end();
    });
    call.on('error', reject);
    call.write({ list_services: '' });
  }).finally(() => client.close());
}

function grpcFailure(err: unknown, io: CliIo): number {
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e.code === 'number') {
    io.stderr.write(`ERROR: ${grpc.status[e.code] ?? e.code} (${e.code}): ${e.details ?? e.message}\n`);
  } else {
    io.stderr.write(`ERROR: ${(err as Error).message}\n`);
  }
  return 1;
}

/** Runs the CLI; resolves with the exit code. */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  let values: { target?: string; deadline?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { target: { type: 'string' }, deadline: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${HINT}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(`${usage()}\n`);
    return 0;
  }
  let client: McpRouterClient | undefined;
  try {
    if (positionals.length === 0) throw new UsageError('missing <Rpc>');
    if (positionals.length > 2) throw new UsageError(`expected <Rpc> [json], received ${positionals.length} arguments (quote the JSON)`);
    const target = values.target ?? env.MCP_ROUTER_TARGET ?? DEFAULT_TARGET;
    if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(target)) throw new UsageError(`--target must be host:port; received ${JSON.stringify(target)}`);
    const deadlineText = values.deadline ?? '30000';
    const deadlineMs = Number(deadlineText);
    if (!/^\d+$/.test(deadlineText) || deadlineMs < 1 || deadlineMs > 3_600_000) throw new UsageError(`--deadline must be an integer number of ms from 1 to 3600000; received ${JSON.stringify(deadlineText)}`);

    const token = env.MCP_ROUTER_TOKEN?.trim();
    if (token !== undefined && token !== '' && !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) throw new UsageError('MCP_ROUTER_TOKEN must be a bearer token (letters, digits and -._~+/ only); the value is not shown');
    const md = () => metadataFor(token || undefined);
    const rpcArg = positionals[0];
    const jsonText = positionals[1] === '-' ? (io.readStdin ?? (() => fs.readFileSync(0, 'utf8')))() : (positionals[1] ?? '{}');

    if (rpcArg === 'list') {
      for (const s of await listServices(target, deadlineMs, md())) io.stdout.write(`${s}\n`);
      return 0;
    }
    if (rpcArg === 'Health' || rpcArg === 'grpc.health.v1.Health/Check') {
      const req = parseJson(jsonText, 'Health') as { service?: unknown };
      if (typeof req !== 'object' || req === null || Array.isArray(req) || (req.service !== undefined && typeof req.service !== 'string')) {
        throw new UsageError(`the request for Health must be {"service": "<name>"} or {}; received ${jsonText}`);
      }
      const hc = healthClient(target);
      try {
        const res = await unaryCall(hc, 'Check', { service: req.service ?? '' }, deadlineMs);
        io.stdout.write(`${JSON.stringify({ status: res.status }, null, 2)}\n`);
        return 0;
      } finally {
        hc.close();
      }
    }

    const service = routerRoot().lookupService(SERVICE);
    const rpc = rpcArg.startsWith(`${SERVICE}/`) ? rpcArg.slice(SERVICE.length + 1) : rpcArg;
    const method = service.methods[rpc];
    if (!method) throw new UsageError(`unknown RPC ${JSON.stringify(rpcArg)}; ${SERVICE} has: ${Object.keys(service.methods).join(', ')} (also: Health, list)`);
    method.resolve();
    const reqType = method.resolvedRequestType!;
    const resType = method.resolvedResponseType!;
    const req = toMessage(reqType, parseJson(jsonText, rpc), `the ${rpc} request`);

    client = createRouterClient(target);
    if (method.responseStream) {
      const stream = client.CallToolStream(req, md(), { deadline: Date.now() + deadlineMs });
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (msg: Record<string, unknown>) => io.stdout.write(`${JSON.stringify(fromMessage(resType, msg))}\n`));
        stream.on('error', reject);
        stream.on('end', resolve);
      });
      return 0;
    }
    const res = await unaryCall(client, rpc, req, deadlineMs, md());
    io.stdout.write(`${JSON.stringify(fromMessage(resType, res), null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || err instanceof RequestJsonError) {
      io.stderr.write(`${err.message}\n${HINT}\n`);
      return 2;
    }
    return grpcFailure(err, io);
  } finally {
    client?.close();
  }
}
