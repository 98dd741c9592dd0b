/**
 * The router's resource-template matcher (router-app/src/mcp/uri-template-matcher.ts): the SDK's
 * RFC 6570 patterns run on RE2. It must say "match" exactly when the SDK's `UriTemplate.match`
 * does (fast-check, against the SDK itself), and take time linear in the URI where the SDK's
 * backtracking takes polynomial time.
 */
import fc from 'fast-check';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import { sdkPattern, UriTemplateMatcher } from '../../router-app/src/mcp/uri-template-matcher';

const OPERATORS = ['', '+', '#', '.', '/', '?', '&'] as const;
/** Characters that mean something to a template's patterns, to a regex engine, or to one engine only. */
const CHARS = ['a', 'b', 'z', '0', '/', ',', '.', '-', '?', '&', '=', '#', '%', '+', '*', '$', '^', '(', ')', '[', ']', '|', '\\', ' ', '\n', '\r', '\u2028', '\u2029', 'é', '😀', '\ud800'];
const text = (maxLength: number, chars = CHARS) => fc.array(fc.constantFrom(...chars), { maxLength }).map((cs) => cs.join(''));
/** Values the SDK expands (encodeURIComponent refuses a lone surrogate). */
const value = text(6, CHARS.filter((c) => c !== '\ud800'));
const literal = fc.array(fc.constantFrom(...CHARS.filter((c) => c !== '{' && c !== '}')), { minLength: 1, maxLength: 4 }).map((cs) => cs.join(''));
const expression = fc
  .record({ op: fc.constantFrom(...OPERATORS), names: fc.array(fc.constantFrom('a', 'b', 'id', 'path'), { minLength: 1, maxLength: 3 }), exploded: fc.boolean() })
  .map(({ op, names, exploded }) => `{${op}${names.join(',')}${exploded ? '*' : ''}}`);
const template = fc.array(fc.oneof(literal, expression), { minLength: 1, maxLength: 5 }).map((ps) => ps.join(''));

/** The SDK's verdict, null when its matcher throws (the router then leaves the template out or refuses). */
function sdkMatches(t: string, uri: string): boolean | null {
  try {
    return new UriTemplate(t).match(uri) !== null;
  } catch {
    return null;
  }
}

test('matches exactly when the SDK matches: random templates, URIs the SDK expands from them and random ones (fast-check)', () => {
  let positives = 0;
  fc.assert(
    fc.property(template, fc.array(value, { minLength: 4, maxLength: 4 }), text(24), (t, values, noise) => {
      let matcher: UriTemplateMatcher;
      try {
        matcher = new UriTemplateMatcher(t);
      } catch {
        // The SDK refuses the template too (it parses it the same way).
        expect(() => new UriTemplate(t)).toThrow();
        return;
      }
      const expanded = new UriTemplate(t).expand({ a: values[0], b: values[1], id: values[2], path: values[3] });
      for (const uri of [expanded, noise, expanded + noise, noise + expanded]) {
        const sdk = sdkMatches(t, uri);
        if (sdk === null) continue;
        expect({ t, uri, matches: matcher.matches(uri) }).toEqual({ t, uri, matches: sdk });
        if (sdk) positives++;
      }
    }),
    { numRuns: 3_000, seed: 20261130 },
  );
  // The runs reach both answers, so the property compares something.
  expect(positives).toBeGreaterThan(1_000);
});

test('the usual templates: what matches and what does not', () => {
  const cases: Array<[string, string, boolean]> = [
    ['file:///{+path}', 'file:///etc/hosts', true],
    ['sdk://srv/items/{id}', 'sdk://srv/items/42', true],
    ['sdk://srv/items/{id}', 'sdk://srv/items/4/2', false],
    ['repo://{owner}/{repo}/issues{?state,page}', 'repo://a/b/issues?state=open&page=2', true],
    ['repo://{owner}/{repo}', 'repo://a', false],
    ['x://{a}-{b}', 'x://one-two', true],
  ];
  for (const [t, uri, expected] of cases) {
    expect({ t, uri, matches: new UriTemplateMatcher(t).matches(uri) }).toEqual({ t, uri, matches: expected });
    expect(sdkMatches(t, uri)).toBe(expected);
  }
  expect(sdkPattern(new UriTemplate('x://{+a}'))).toBe('^x://([^\\n\\r\\x{2028}\\x{2029}]+)$');
});

test("templates that make the SDK's backtracking matcher polynomial are linear here (a 16,384-character URI, the longest ReadResource takes)", () => {
  const hostile: Array<[string, string]> = [
    // Quadratic in V8: 8 ms at 4,000 characters, minutes at a million.
    ['x://{a}-{b}', `x://${'-'.repeat(16_384)}/`],
    // Cubic in V8: 9 s at 4,000 characters.
    ['x://{+a}{+b}{+c}z', `x://${'a'.repeat(16_384)}`],
    ['x://{+a}{b}{+c}{d}{+e}.', `x://${'ab'.repeat(8_192)}`],
  ];
  for (const [t, uri] of hostile) {
    const started = process.hrtime.bigint();
    expect(new UriTemplateMatcher(t).matches(uri)).toBe(false);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // Milliseconds here (about 1); the SDK's matcher would not answer within this test's timeout.
    expect({ t, ms: ms < 500 }).toEqual({ t, ms: true });
  }
  // The SDK's own matcher on the second one, 2,000 characters: already far slower than ours at 16,384.
  const started = Date.now();
  expect(new UriTemplate('x://{+a}{+b}{+c}z').match(`x://${'a'.repeat(2_000)}`)).toBeNull();
  expect(Date.now() - started).toBeGreaterThan(100);
});
