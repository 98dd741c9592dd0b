/**
 * The MCP front door's listing cache: tools/list, prompts/list, resources/list
 * and resources/templates/list answer from the catalogue alone, so the JSON of
 * each page is built once per catalogue version and written as one
 * application/json response (the spec lets a server answer a POST with JSON or
 * SSE), without a per-request SDK Server and transport. Those cost ~0.4 ms of
 * CPU per request, most of an MCP tools/list (bench item 9a, FINDINGS §6),
 * where the gRPC door already answers listings from cached bytes.
 *
 * Only requests the SDK's own schemas accept are answered here, and only with
 * the headers the SDK's transport requires (Accept with both types, a JSON
 * content type); anything else goes the SDK's way, which answers the proper
 * error. The answers are the same objects the SDK handlers return
 * (listingResult), so both paths list alike, filtered by the caller's rights
 * (pages are kept per set of rights, `grant.key`).
 */
import type * as http from 'node:http';
import {
  isJSONRPCRequest,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { Catalog } from '../mcp/catalog';
import type { Access } from '../auth/access';
import type { AuthorizedCalls } from '../routing/authorized';
import { ListingMethod, listingResult } from './mcp-handlers';

const SCHEMAS = {
  'tools/list': ListToolsRequestSchema,
  'prompts/list': ListPromptsRequestSchema,
  'resources/list': ListResourcesRequestSchema,
  'resources/templates/list': ListResourceTemplatesRequestSchema,
} as const;

/** Pages kept per catalogue version (a bound: cursors come from clients). */
const MAX_ENTRIES = 256;

export class McpListingCache {
  private version = -1;
  private readonly pages = new Map<string, string>();

  constructor(
    private readonly catalog: Catalog,
    private readonly authorized: AuthorizedCalls,
    private readonly pageSize: number,
  ) {}

  /** Answers `body` for the caller `access` when it is a valid listing request; false when the SDK path must answer it. */
  tryAnswer(req: http.IncomingMessage, res: http.ServerResponse, body: unknown, access: Access): boolean {
    const method = (body as { method?: unknown }).method;
    if (typeof method !== 'string' || !(method in SCHEMAS)) return false;
    const accept = String(req.headers.accept ?? '');
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return false;
    if (!String(req.headers['content-type'] ?? '').includes('application/json')) return false;
    if (!isJSONRPCRequest(body) || !SCHEMAS[method as ListingMethod].safeParse(body).success) return false;
    const cursor = (body.params as { cursor?: string } | undefined)?.cursor;
    let result: string;
    try {
      result = this.page(access, method as ListingMethod, cursor);
    } catch {
      return false; // e.g. an invalid cursor: the SDK path answers the JSON-RPC error
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(`{"jsonrpc":"2.0","id":${JSON.stringify(body.id)},"result":${result}}`);
    return true;
  }

  private page(access: Access, method: ListingMethod, cursor: string | undefined): string {
    const version = this.catalog.snapshot.version;
    if (version !== this.version || this.pages.size >= MAX_ENTRIES) {
      this.pages.clear();
      this.version = version;
    }
    // Callers with the same rights share a page; a caller never sees another's.
    const key = `${access.grant.key}\u0000${method}\u0000${cursor ?? ''}`;
    let json = this.pages.get(key);
    if (json === undefined) {
      json = JSON.stringify(listingResult(this.authorized, access, method, cursor, this.pageSize));
      this.pages.set(key, json);
    }
    return json;
  }
}
