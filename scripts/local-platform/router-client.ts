/**
 * A real @grpc/grpc-js client for mcp.router.v1.McpRouter, loaded from the
 * router's own proto. Used by the local platform, its tests and the load loop.
 */
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_PATH = path.resolve(__dirname, '..', '..', 'router-app', 'proto', 'mcp_router.proto');

type Unary = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void) => grpc.ClientUnaryCall;
export interface McpRouterClient extends grpc.Client {
  ListServers: Unary;
  ListTools: Unary;
  CallTool: Unary;
  ListResources: Unary;
  ListResourceTemplates: Unary;
  ReadResource: Unary;
  ListPrompts: Unary;
  GetPrompt: Unary;
  CallToolStream(req: object, md: grpc.Metadata, opts: grpc.CallOptions): grpc.ClientReadableStream<any>;
}

let ctor: (new (target: string, creds: grpc.ChannelCredentials, opts?: grpc.ChannelOptions) => McpRouterClient) | undefined;

function clientConstructor() {
  if (!ctor) {
    const def = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as any;
    ctor = pkg.mcp.router.v1.McpRouter;
  }
  return ctor!;
}

/**
 * A client on its own connection. `separateConnection` gives it a private
 * subchannel pool, so N clients make N TCP connections (grpc-js otherwise
 * shares one connection per target).
 */
export function createRouterClient(target: string, separateConnection = false): McpRouterClient {
  const Ctor = clientConstructor();
  return new Ctor(target, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': separateConnection ? 1 : 0,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}

/** Promisified unary call with a deadline. */
export function unary<T = any>(client: McpRouterClient, method: keyof McpRouterClient, req: object, deadlineMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = client[method] as unknown as Unary;
    fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}
