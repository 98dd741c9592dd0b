/**
 * `npm run auth -- <command>`: makes the secrets the platform's auth props
 * name, so that none of them is typed by hand or enters the plan.
 *
 *   npm run auth -- api-key <id> [--scopes a,b]
 *       A new API key: the key on stdout's first line (give it to the client,
 *       once), and the entry for the routers' keys file (apiKeysHostPath /
 *       MCP_ROUTER_AUTH_API_KEYS_FILE), which holds its SHA-256 only.
 *   npm run auth -- stats-user <name>
 *       An HAProxy userlist `mcp_stats_users` with one user and a new random
 *       password, hashed with crypt(3) SHA-512 by `openssl passwd -6` (the file
 *       of statsAuthHostPath); the password is printed to stderr, once.
 *
 * Exit codes: 0 OK, 2 bad usage.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { newApiKey } from './local-platform/local-issuer';

const USAGE = 'usage: npm run auth -- api-key <id> [--scopes a,b] | stats-user <name>';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function main(): void {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, strict: true, options: { scopes: { type: 'string', default: '' } } });
  } catch (err) {
    fail((err as Error).message);
  }
  const [command, name, ...rest] = parsed.positionals;
  if (rest.length) fail(`unexpected arguments: ${rest.join(' ')}`);
  if (command === 'api-key') {
    if (!name || !/^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$/.test(name)) fail(`api-key <id>: the id must be 1-128 letters, digits, "_", ".", "@", ":" or "-"; received ${JSON.stringify(name ?? '')}`);
    const scopes = parsed.values.scopes!.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = scopes.find((s) => !/^[\x21-\x7e]{1,128}$/.test(s));
    if (bad !== undefined) fail(`--scopes: a scope is 1-128 printable characters without spaces; received ${JSON.stringify(bad)}`);
    const { key, entry } = newApiKey(name, scopes);
    process.stdout.write(`${key}\n${JSON.stringify(entry)}\n`);
    process.stderr.write(`The first line is the key: give it to the client once; it is not stored anywhere.\nAdd the second line to the "keys" list of the routers' keys file.\n`);
    return;
  }
  if (command === 'stats-user') {
    if (!name || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) fail(`stats-user <name>: the name must be 1-64 letters, digits, "_", "." or "-"; received ${JSON.stringify(name ?? '')}`);
    const password = randomBytes(18).toString('base64url');
    const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${password}\n`, encoding: 'utf8' }).trim();
    if (!/^\$6\$[^\s:]+$/.test(hash)) throw new Error('openssl passwd -6 did not print a SHA-512 crypt hash');
    process.stdout.write(`userlist mcp_stats_users\n    user ${name} password ${hash}\n`);
    process.stderr.write(`Password of ${name} (shown once): ${password}\nWrite stdout to the file statsAuthHostPath names on the Docker host.\n`);
    return;
  }
  fail(command ? `unknown command ${JSON.stringify(command)}` : 'missing command');
}

main();
