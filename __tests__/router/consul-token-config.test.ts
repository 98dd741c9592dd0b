/**
 * The Consul ACL token of the router and the demo MCP server: from
 * CONSUL_HTTP_TOKEN or the file CONSUL_HTTP_TOKEN_FILE names (Consul's own
 * variable names), validated at start like every other variable, and never
 * echoed — not in the error, not in the configuration a log line would show.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from '../../router-app/src/config';
import { DEMO_BACKEND_ENTRY } from '../../scripts/local-platform/platform';

const ENTRY = path.resolve(__dirname, '..', '..', 'router-app', 'dist', 'main.js');
const SECRET = '6f1c2b7e-3d5a-4c8e-9b0f-2a7d4e6c8b11';
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'consul-token-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content, { mode: 0o600 });
  return p;
};
const problems = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.join('\n');
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(Object.keys(env))}`);
};

describe('the router', () => {
  test('CONSUL_HTTP_TOKEN: the token is kept, but not enumerable (a logged config never shows it)', () => {
    const c = loadConfig({ CONSUL_HTTP_TOKEN: SECRET });
    expect(c.consul.token).toBe(SECRET);
    expect(JSON.stringify(c)).not.toContain(SECRET);
    expect(Object.keys(c.consul)).not.toContain('token');
  });

  test('CONSUL_HTTP_TOKEN_FILE: read at start, the trailing newline dropped', () => {
    expect(loadConfig({ CONSUL_HTTP_TOKEN_FILE: file('ok', `${SECRET}\n`) }).consul.token).toBe(SECRET);
  });

  test('no token: none (Consul applies its anonymous token)', () => {
    expect(loadConfig({}).consul.token).toBeUndefined();
  });

  test.each([
    ['both set', () => ({ CONSUL_HTTP_TOKEN: SECRET, CONSUL_HTTP_TOKEN_FILE: file('both', SECRET) }), 'CONSUL_HTTP_TOKEN and CONSUL_HTTP_TOKEN_FILE are both set'],
    ['a missing file', () => ({ CONSUL_HTTP_TOKEN_FILE: path.join(os.tmpdir(), 'no-such-dir-x', 'token') }), 'cannot be read (ENOENT)'],
    ['an empty file', () => ({ CONSUL_HTTP_TOKEN_FILE: file('empty', '\n') }), 'must be a Consul ACL token (1-256 printable characters without spaces, e.g. a token\'s SecretID); received 0 characters'],
    ['a token with a space', () => ({ CONSUL_HTTP_TOKEN: `${SECRET} x` }), 'CONSUL_HTTP_TOKEN=(secret): must be a Consul ACL token'],
    ['a 300-character token in a file', () => ({ CONSUL_HTTP_TOKEN_FILE: file('long', 'a'.repeat(300)) }), 'received 300 characters that do not match'],
  ] as Array<[string, () => Record<string, string>, string]>)('%s is refused at start, naming the variable, never echoing the token', (_name, env, message) => {
    const e: Record<string, string> = env();
    const text = problems(e);
    expect(text).toContain(message);
    expect(text).toMatch(/CONSUL_HTTP_TOKEN/);
    expect(text).not.toContain(SECRET);
    if (e.CONSUL_HTTP_TOKEN_FILE && !e.CONSUL_HTTP_TOKEN) expect(text).toContain(`CONSUL_HTTP_TOKEN_FILE=${JSON.stringify(e.CONSUL_HTTP_TOKEN_FILE)}`);
  });

  test('as a process: a bad token stops it at start (exit 2) with the problem, without the token', () => {
    const r = spawnSync(process.execPath, [ENTRY], { env: { PATH: process.env.PATH, CONSUL_HTTP_TOKEN: `${SECRET} x` }, encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(2);
    const line = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(line.level).toBe('fatal');
    expect(line.problems.join('\n')).toContain('CONSUL_HTTP_TOKEN=(secret): must be a Consul ACL token');
    expect(r.stderr + r.stdout).not.toContain(SECRET);
  });
});

describe('the demo MCP server', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [DEMO_BACKEND_ENTRY], { env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '3999', CONSUL_HOST: '127.0.0.1', CONSUL_PORT: '1', ...env }, encoding: 'utf8', timeout: 15_000 });
  test.each([
    ['both set', () => ({ CONSUL_HTTP_TOKEN: SECRET, CONSUL_HTTP_TOKEN_FILE: file('d-both', SECRET) }), 'CONSUL_HTTP_TOKEN and CONSUL_HTTP_TOKEN_FILE are both set'],
    ['a missing file', () => ({ CONSUL_HTTP_TOKEN_FILE: path.join(os.tmpdir(), 'no-such-dir-x', 'token') }), 'cannot be read (ENOENT)'],
    ['a token with a space', () => ({ CONSUL_HTTP_TOKEN: `${SECRET} x` }), 'CONSUL_HTTP_TOKEN must hold a Consul ACL token'],
    ['an empty file', () => ({ CONSUL_HTTP_TOKEN_FILE: file('d-empty', '') }), 'must hold a Consul ACL token'],
  ] as Array<[string, () => Record<string, string>, string]>)('%s: exit 2 naming the variable, never echoing the token', (_name, env, message) => {
    const r = run(env());
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr + r.stdout).not.toContain(SECRET);
  });
});
