/**
 * Per-backend credentials: static headers the router sends to one MCP
 * backend (its API key, a bearer token of its own), never a client's. A
 * backend names them (`credentials` in MCP_BACKENDS, meta `mcp_credentials`
 * in Consul) and the router reads `<MCP_BACKEND_CREDENTIALS_DIR>/<name>.json`:
 *
 *   { "headers": { "Authorization": "Bearer …" },
 *     "namespaces": ["search"],          // who may receive them; default: [<name>]
 *     "hosts": ["search.internal"] }     // optional: the URL hosts they may go to
 *
 * A registration can only name credentials, never a path, and gets them only
 * when its namespace (and host, when listed) is allowed: a registration in
 * Consul cannot pull another server's secret to an address of its choosing
 * (Consul ACLs keep strangers from registering at all). Files are re-read
 * when they change; the values are never logged.
 */
import * as path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../logger';
import { WatchedFile } from '../auth/watched-file';

export const BACKEND_CREDENTIAL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Headers the transport owns (or that would change how the request is framed): refused in a credentials file. */
const RESERVED = new Set(['host', 'content-length', 'content-type', 'accept', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'proxy-authorization']);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const HeaderValue = z.string().max(8192).regex(/^[\t\x20-\x7e\x80-\xff]*$/, { message: 'a header value has no control characters (no CR or LF)' });
const CredentialsFile = z
  .object({
    headers: z.record(z.string(), HeaderValue).superRefine((h, ctx) => {
      const names = Object.keys(h);
      if (names.length === 0 || names.length > 32) ctx.addIssue({ code: 'custom', message: 'give 1-32 headers' });
      // Checked here, not as the record's key schema: zod reports a bad key as "Invalid key in record" without the reason.
      for (const n of names) {
        if (!HEADER_NAME.test(n)) ctx.addIssue({ code: 'custom', path: [n], message: 'a header name is 1-128 token characters' });
        else if (RESERVED.has(n.toLowerCase())) ctx.addIssue({ code: 'custom', path: [n], message: `headers the MCP transport sets itself cannot be given (${[...RESERVED].join(', ')})` });
      }
    }),
    namespaces: z.array(z.string().min(1).max(128)).min(1).max(1000).optional(),
    hosts: z.array(z.string().regex(/^[A-Za-z0-9.:[\]-]{1,253}$/, { message: 'a host is a host name or IP address' })).min(1).max(1000).optional(),
  })
  .strict();

export interface BackendCredentials {
  readonly headers: Readonly<Record<string, string>>;
  readonly namespaces: readonly string[];
  readonly hosts?: readonly string[];
}

/** Why credentials could not be attached (no secret in the message). */
export class CredentialsUnavailableError extends Error {
  override readonly name = 'CredentialsUnavailableError';
}

export function parseBackendCredentials(name: string, text: string): BackendCredentials {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('not JSON: expected { "headers": { "Name": "value" }, "namespaces"?: [...], "hosts"?: [...] }');
  }
  const r = CredentialsFile.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    // The path names a header, never its value.
    throw new Error(`${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return { headers: r.data.headers, namespaces: r.data.namespaces ?? [name], ...(r.data.hosts ? { hosts: r.data.hosts.map((h) => h.toLowerCase()) } : {}) };
}

export class BackendCredentialStore {
  private readonly files = new Map<string, { watched: WatchedFile<BackendCredentials>; value?: BackendCredentials; error?: string }>();

  constructor(
    /** undefined: no credentials directory configured. */
    private readonly dir: string | undefined,
    private readonly reloadMs: number,
    private readonly logger: Logger,
  ) {}

  /**
   * The headers for backend `namespace` at `url` from credentials `name`;
   * throws CredentialsUnavailableError when they cannot be used there.
   */
  headersFor(name: string, namespace: string, url: string): Readonly<Record<string, string>> {
    if (!BACKEND_CREDENTIAL_NAME.test(name)) throw new CredentialsUnavailableError(`credentials name ${JSON.stringify(name)} is not valid`);
    if (this.dir === undefined) throw new CredentialsUnavailableError(`credentials ${JSON.stringify(name)} are named but MCP_BACKEND_CREDENTIALS_DIR is not set`);
    const entry = this.entry(name);
    if (!entry.value) throw new CredentialsUnavailableError(`credentials ${JSON.stringify(name)} are not available (${entry.error ?? 'not read'})`);
    const c = entry.value;
    if (!c.namespaces.includes(namespace)) throw new CredentialsUnavailableError(`credentials ${JSON.stringify(name)} are not for namespace ${JSON.stringify(namespace)}`);
    if (c.hosts) {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
      if (!c.hosts.includes(host)) throw new CredentialsUnavailableError(`credentials ${JSON.stringify(name)} are not for host ${JSON.stringify(host)}`);
    }
    return c.headers;
  }

  private entry(name: string) {
    let e = this.files.get(name);
    if (e) return e;
    const file = path.join(this.dir!, `${name}.json`);
    const created: { watched: WatchedFile<BackendCredentials>; value?: BackendCredentials; error?: string } = {
      watched: new WatchedFile<BackendCredentials>({
        path: file,
        intervalMs: this.reloadMs,
        parse: (text) => parseBackendCredentials(name, text),
        onChange: (v) => {
          created.value = v;
          created.error = undefined;
          this.logger.info({ credentials: name }, 'backend credentials reloaded');
        },
        onError: (err) => {
          created.error = err.message;
          this.logger.error({ credentials: name, err: err.message }, 'backend credentials not reloaded');
        },
      }),
    };
    try {
      created.value = created.watched.loadNow();
    } catch (err) {
      created.error = `${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      this.logger.error({ credentials: name, err: created.error }, 'backend credentials cannot be read');
    }
    created.watched.start();
    this.files.set(name, created);
    e = created;
    return e;
  }

  close(): void {
    for (const e of this.files.values()) e.watched.stop();
    this.files.clear();
  }
}
