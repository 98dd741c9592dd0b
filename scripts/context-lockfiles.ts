/**
 * Lockfiles for the Docker build contexts the package ships (router-app/ and
 * examples/demo-mcp-server/), derived from the workspace root's
 * package-lock.json, so an image built from the installed package gets exactly
 * the dependency versions the tests ran against (`npm ci` in the Dockerfile).
 *
 * The workspace root's lock holds every workspace's tree; a context's lock is
 * that tree seen from the context alone: the root's hoisted packages plus the
 * workspace's own nested ones, pruned by npm itself (`npm install
 * --package-lock-only --offline`: no registry is asked, so a version the root
 * lock does not hold fails instead of being resolved anew). Lockfiles carry no
 * registry URL (omit-lockfile-registry-resolved): `npm ci` fetches from
 * whichever registry the build is configured with.
 *
 *   npx ts-node scripts/context-lockfiles.ts          write both lockfiles
 *   npx ts-node scripts/context-lockfiles.ts --check  exit 1 when one is out of date
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..');
/** The shipped build contexts: npm workspaces of this repository. */
export const CONTEXTS = ['router-app', 'examples/demo-mcp-server'] as const;

export type LockPackages = Record<string, Record<string, unknown>>;
export interface Lockfile {
  name: string;
  version: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: LockPackages;
}

/**
 * A lockfile for a project whose dependencies all appear in the root lock,
 * before npm prunes it: the root's hoisted packages (and, for a workspace, the
 * workspace's own nested ones) under the project's root entry `manifest`.
 * Given to `npm install --offline`, npm resolves nothing anew: it keeps the
 * locked versions the project needs, drops the rest, and fetches tarballs from
 * the npm cache.
 */
export function seedLockfile(rootLock: Lockfile, manifest: Record<string, any>, workspace?: string): Lockfile {
  const packages: LockPackages = {
    '': {
      name: manifest.name,
      version: manifest.version,
      ...(manifest.license ? { license: manifest.license } : {}),
      ...(manifest.dependencies ? { dependencies: manifest.dependencies } : {}),
      ...(manifest.devDependencies ? { devDependencies: manifest.devDependencies } : {}),
    },
  };
  const own = workspace === undefined ? undefined : `${workspace}/node_modules/`;
  for (const [key, entry] of Object.entries(rootLock.packages)) {
    // Links to the workspaces themselves are not the project's dependencies.
    if (key.startsWith('node_modules/') && !entry.link) packages[key] ??= entry;
    else if (own !== undefined && key.startsWith(own)) packages[`node_modules/${key.slice(own.length)}`] = entry;
  }
  return { name: manifest.name, version: manifest.version, lockfileVersion: rootLock.lockfileVersion, requires: true, packages };
}

/** The workspace root's lockfile. */
export function rootLockfile(repo = REPO): Lockfile {
  return JSON.parse(fs.readFileSync(path.join(repo, 'package-lock.json'), 'utf8')) as Lockfile;
}

/** Derives the context's lockfile (text) from the root lock with npm, offline. */
export function deriveLockfile(workspace: string, repo = REPO): string {
  const rootLock = rootLockfile(repo);
  const manifest = JSON.parse(fs.readFileSync(path.join(repo, workspace, 'package.json'), 'utf8'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'context-lock-'));
  try {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
    fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(seedLockfile(rootLock, manifest, workspace), null, 2) + '\n');
    execFileSync(
      'npm',
      ['install', '--package-lock-only', '--offline', '--ignore-scripts', '--omit-lockfile-registry-resolved', '--no-audit', '--no-fund', '--workspaces=false', '--loglevel=error'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, npm_config_yes: 'false' } },
    );
    return fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const workspace of CONTEXTS) {
    const file = path.join(REPO, workspace, 'package-lock.json');
    const text = deriveLockfile(workspace);
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (current === text) continue;
    if (check) {
      stale++;
      process.stderr.write(`${path.relative(REPO, file)} is out of date with package-lock.json: run npx ts-node scripts/context-lockfiles.ts\n`);
    } else {
      fs.writeFileSync(file, text);
      process.stdout.write(`wrote ${path.relative(REPO, file)}\n`);
    }
  }
  if (stale > 0) process.exit(1);
}

if (require.main === module) main();
