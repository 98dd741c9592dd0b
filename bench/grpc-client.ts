/**
 * A real @grpc/grpc-js client of mcp.router.v1.McpRouter (the router's own
 * proto), for correctness checks around load runs and for the Node load driver.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_PATH } from './grpc-frame';

type UnaryFn = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void) => grpc.ClientUnaryCall;
export type RouterClient = grpc.Client & Record<'ListTools' | 'ListServers' | 'CallTool', UnaryFn>;

let ctor: (new (target: string, creds: grpc.ChannelCredentials, opts?: grpc.ChannelOptions) => RouterClient) | undefined;

export function routerClient(target: string, options: grpc.ChannelOptions = {}): RouterClient {
  if (!ctor) {
    const def = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
    ctor = (grpc.loadPackageDefinition(def) as any).mcp.router.v1.McpRouter;
  }
  return new ctor!(target, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024, ...options });
}

/** The call's metadata: `authorization: Bearer <token>` when a token is given (a router with authentication). */
export function bearer(token?: string): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return md;
}

export function unary<T = any>(client: RouterClient, method: 'ListTools' | 'ListServers' | 'CallTool', req: object, deadlineMs = 5_000, token?: string): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](req, bearer(token), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** CallTool arguments as a google.protobuf.Struct (proto-loader object form). */
export function structOf(obj: Record<string, string | number>): object {
  const fields: Record<string, object> = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = typeof v === 'number' ? { numberValue: v } : { stringValue: v };
  return { fields };
}

/** The text of the first content block of a CallToolResponse (proto-loader object form). */
export function firstText(res: any): string | undefined {
  return res?.content?.values?.[0]?.structValue?.fields?.text?.stringValue;
}
