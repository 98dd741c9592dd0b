/**
 * Which resource template a URI belongs to, in time linear in the URI.
 *
 * The SDK's `UriTemplate.match` turns a template into a JavaScript RegExp
 * (`{a}` → `([^/,]+)`, `{+a}` → `(.+)`, ...) and runs it with V8's
 * backtracking engine. Two expressions in a row backtrack quadratically on a
 * URI that does not match (`x://{a}-{b}` against 4,000 dashes: 8 ms; a
 * million: minutes), three cubically (`{+a}{+b}{+c}z` against 4,000
 * characters: 9 s), and the router ran that on its only thread for a URI a
 * client chose against templates a backend chose.
 *
 * Here the template is parsed by the SDK and each expression becomes the
 * SDK's own pattern (so a URI matches exactly when the SDK says it does), but
 * the whole runs on RE2 (re2js), whose automaton never backtracks. Only the
 * yes/no is needed: the router forwards the URI as it came.
 */
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { RE2JS } from 're2js';

/** Loaded with the first template (264 KB of source a router without templates never parses). */
let re2: typeof RE2JS | undefined;

/** The SDK's parse and per-expression patterns (private members of UriTemplate, checked at load). */
interface SdkTemplateInternals {
  readonly parts: ReadonlyArray<string | object>;
  partToRegExp(part: object): ReadonlyArray<{ pattern: string }>;
  escapeRegExp(text: string): string;
}

const proto = UriTemplate.prototype as unknown as Partial<SdkTemplateInternals>;
if (typeof proto.partToRegExp !== 'function' || typeof proto.escapeRegExp !== 'function') {
  // Fails at start-up, never at the first ReadResource: the SDK is pinned, and its tests catch a change.
  throw new Error('@modelcontextprotocol/sdk UriTemplate no longer has partToRegExp/escapeRegExp: update router-app/src/mcp/uri-template-matcher.ts for this SDK version');
}

/**
 * JavaScript's `.` leaves out four line terminators; RE2's only `\n`. The SDK's
 * one pattern with a dot, `(.+)`, is spelt out so both engines agree.
 */
const JS_DOT = '[^\\n\\r\\x{2028}\\x{2029}]';

/** The pattern the SDK's `match` builds for `template`, in RE2 syntax. */
export function sdkPattern(template: UriTemplate): string {
  const t = template as unknown as SdkTemplateInternals;
  if (!Array.isArray(t.parts)) throw new Error('@modelcontextprotocol/sdk UriTemplate has no parts: update uri-template-matcher.ts');
  let pattern = '^';
  for (const part of t.parts) {
    if (typeof part === 'string') pattern += t.escapeRegExp(part);
    else for (const p of t.partToRegExp(part)) pattern += p.pattern === '(.+)' ? `(${JS_DOT}+)` : p.pattern;
  }
  return `${pattern}$`;
}

export class UriTemplateMatcher {
  private readonly re: RE2JS;

  /** Throws when the template does not parse (the SDK's errors) or its pattern does not compile. */
  constructor(readonly uriTemplate: string) {
    re2 ??= (require('re2js') as typeof import('re2js')).RE2JS;
    this.re = re2.compile(sdkPattern(new UriTemplate(uriTemplate)));
  }

  /** Whether `uri` is an instance of the template (the SDK's `match(uri) !== null`), in linear time. */
  matches(uri: string): boolean {
    return this.re.test(uri);
  }
}
