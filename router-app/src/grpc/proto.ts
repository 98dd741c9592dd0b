/**
 * Loads mcp_router.proto (shipped next to dist/ in the image).
 */
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_FILE = path.resolve(__dirname, '..', '..', 'proto', 'mcp_router.proto');

export const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true };

let cached: protoLoader.PackageDefinition | undefined;
export function packageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(PROTO_FILE, LOADER_OPTIONS);
  return cached;
}

export const SERVICE_NAME = 'mcp.router.v1.McpRouter';
