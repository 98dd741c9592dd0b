/**
 * Transpiles bench/*.ts to bench/dist/*.js (TypeScript's transpileModule; the
 * type check already ran in `npm run build`), so the bare baseline server and
 * the load driver run as plain node processes — without ts-node's compiler in
 * their memory or on their CPU, like the router's own dist/main.js.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

export const BENCH_DIR = path.basename(__dirname) === 'dist' ? path.resolve(__dirname, '..') : __dirname;
export const DIST_DIR = path.join(BENCH_DIR, 'dist');

export function compileBench(): void {
  fs.mkdirSync(DIST_DIR, { recursive: true });
  for (const file of fs.readdirSync(BENCH_DIR)) {
    if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
    const source = fs.readFileSync(path.join(BENCH_DIR, file), 'utf8');
    const out = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
    });
    fs.writeFileSync(path.join(DIST_DIR, file.replace(/\.ts$/, '.js')), out.outputText);
  }
}

/** [node, args] running bench script `name` ("baseline-server") compiled, or under ts-node when not compiled. */
export function benchScript(name: string, args: string[] = [], nodeFlags: string[] = []): [string, string[]] {
  const js = path.join(DIST_DIR, `${name}.js`);
  if (fs.existsSync(js)) return [process.execPath, [...nodeFlags, js, ...args]];
  return [process.execPath, [...nodeFlags, '-r', 'ts-node/register/transpile-only', path.join(BENCH_DIR, `${name}.ts`), ...args]];
}
