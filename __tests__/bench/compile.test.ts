/**
 * The bench's transpile step (bench/compile.ts), in a temp dir: every bench script gets its
 * dist/*.js, and a dist/*.js whose source was deleted is removed (benchScript runs whatever
 * dist holds, so a stale one would run code that no longer exists in the tree). And the
 * --trace-gc-nvp parser of `npm run bench:map-churn`, on a real node's output.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { compileBench } from '../../bench/compile';
import { parseNvp } from '../../bench/map-churn-gc';

describe('compileBench', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-compile-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('transpiles each script and removes the output of a deleted one', () => {
    const dist = path.join(dir, 'dist');
    fs.writeFileSync(path.join(dir, 'kept.ts'), 'export const answer: number = 42;\n');
    fs.writeFileSync(path.join(dir, 'gone.ts'), 'export const gone = true;\n');
    fs.writeFileSync(path.join(dir, 'types.d.ts'), 'export type T = number;\n');
    compileBench(dir, dist);
    expect(fs.readdirSync(dist).sort()).toEqual(['gone.js', 'kept.js']);

    fs.rmSync(path.join(dir, 'gone.ts'));
    fs.writeFileSync(path.join(dist, 'notes.txt'), 'not a script');
    compileBench(dir, dist);
    expect(fs.readdirSync(dist).sort()).toEqual(['kept.js', 'notes.txt']);
    expect(require(path.join(dist, 'kept.js')).answer).toBe(42);
  });
});

describe('parseNvp (bench:map-churn)', () => {
  it("counts a real node's --trace-gc-nvp scavenges, mark-compacts and promoted bytes", () => {
    // Keeps ~4,000 small objects alive while allocating 400,000: scavenges must promote some.
    const script = 'const keep = []; for (let i = 0; i < 400000; i++) { keep.push({ i }); if (keep.length > 4000) keep.length = 0; } globalThis.gc();';
    const out = execFileSync(process.execPath, ['--expose-gc', '--trace-gc-nvp', '--max-semi-space-size=1', '-e', script], { encoding: 'utf8' });
    const gc = parseNvp(out);
    expect(gc.scavenges).toBeGreaterThan(0);
    expect(gc.markCompacts).toBeGreaterThanOrEqual(1); // at least the forced globalThis.gc()
    expect(gc.promotedBytes).toBeGreaterThan(0);
    expect(parseNvp('no gc lines here')).toEqual({ scavenges: 0, markCompacts: 0, promotedBytes: 0 });
  });
});
