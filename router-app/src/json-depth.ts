/**
 * How deeply a parsed JSON value nests, bounded for what the router passes on.
 *
 * JSON.parse takes nesting of any depth, but what the router does next does not: JSON.stringify
 * (sending arguments to a backend, comparing schemas) recurses and throws RangeError a few
 * thousand levels down; protobufjs refuses to encode a google.protobuf.Struct nested past 100
 * Struct/Value levels (about 50 JSON levels: measured, "maximum nesting depth exceeded"), so one
 * such tool schema failed the router's ListTools answer for every client; and protobuf's decoders
 * in other languages stop at 100 wire levels by default (C++, Java, Python), where each JSON
 * level of a Struct is up to three (Struct, its map entry, Value).
 */

/** The deepest JSON a client may send through the MCP door (a tools/call's arguments, ...). */
export const MAX_REQUEST_DEPTH = 64;

/**
 * The deepest tool schema (inputSchema, outputSchema, annotations) the catalogue offers: the
 * gRPC ListToolsResponse → Tool → Struct adds 3 protobuf levels, each JSON level at most 3 more,
 * so 32 levels stay under the decoders' 100 in every language (and well under protobufjs's own
 * encoding limit). A JSON Schema nests two levels per property level (`properties` and the
 * property's schema): 16 levels of nested objects.
 */
export const MAX_SCHEMA_DEPTH = 32;

/** The deepest item (tool, prompt, resource, template) a backend's listing may hold: past it, the listing is refused. */
export const MAX_LISTING_DEPTH = 64;

/** True when `value` nests objects or arrays more than `limit` levels deep (a scalar: 0, `{}`: 1). Iterative: any depth is safe. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<{ v: unknown; d: number }> = [{ v: value, d: 0 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d + 1 > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push({ v: child, d: d + 1 });
  }
  return false;
}
