import type { BackendDescriptor } from '../mcp/backend';

/** Backends from MCP_BACKENDS: [{ name, url, tlsServerName?, credentials? }] → instance "static:<name>", namespace <name>. */
export function staticBackends(list: ReadonlyArray<{ name: string; url: string; tlsServerName?: string; credentials?: string }>): BackendDescriptor[] {
  return list.map((b) => ({
    id: `static:${b.name}`,
    namespace: b.name,
    url: b.url,
    ...(b.tlsServerName ? { tlsServerName: b.tlsServerName } : {}),
    ...(b.credentials ? { credentials: b.credentials } : {}),
  }));
}
