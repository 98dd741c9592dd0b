import type { BackendDescriptor } from '../mcp/backend';

/** Backends from MCP_BACKENDS: [{ name, url, tlsServerName? }] → instance "static:<name>", namespace <name>. */
export function staticBackends(list: ReadonlyArray<{ name: string; url: string; tlsServerName?: string }>): BackendDescriptor[] {
  return list.map((b) => ({ id: `static:${b.name}`, namespace: b.name, url: b.url, ...(b.tlsServerName ? { tlsServerName: b.tlsServerName } : {}) }));
}
