/**
 * The build contexts the package ships carry lockfiles (their Dockerfiles run
 * `npm ci`), derived from the workspace root's lock by scripts/context-lockfiles.ts.
 * They must be what the script derives now, so the images built from the
 * installed package get the versions the tests ran against; and they hold no
 * registry URL.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONTEXTS, deriveLockfile, rootLockfile } from '../../scripts/context-lockfiles';

const REPO = path.resolve(__dirname, '..', '..');

describe.each(CONTEXTS)('%s/package-lock.json', (context) => {
  const file = path.join(REPO, context, 'package-lock.json');
  const lock = JSON.parse(fs.readFileSync(file, 'utf8'));

  test('is what scripts/context-lockfiles.ts derives from the root lock now (else: npx ts-node scripts/context-lockfiles.ts)', () => {
    expect(fs.readFileSync(file, 'utf8')).toBe(deriveLockfile(context));
  }, 60_000);

  test('locks every dependency of the context at the version the workspace root installs for it', () => {
    const root = rootLockfile().packages;
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO, context, 'package.json'), 'utf8'));
    for (const name of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) {
      const rootEntry = root[`${context}/node_modules/${name}`] ?? root[`node_modules/${name}`];
      expect({ name, version: lock.packages[`node_modules/${name}`]?.version }).toEqual({ name, version: rootEntry.version });
    }
    expect(JSON.stringify(lock)).not.toMatch(/"resolved":\s*"https?:/);
    expect(Object.values(lock.packages as Record<string, { integrity?: string }>).slice(1).every((p) => typeof p.integrity === 'string')).toBe(true);
  });
});
