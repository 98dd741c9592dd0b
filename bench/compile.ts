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

/** Transpiles every bench/*.ts to dist/*.js, and removes the dist/*.js whose source is gone. */
export function compileBench(benchDir: string = BENCH_DIR, distDir: string = DIST_DIR): void {
  fs.mkdirSync(distDir, { recursive: true });
  const scripts = fs.readdirSync(benchDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  const outputs = new Set(scripts.map((f) => f.replace(/\.ts$/, '.js')));
  // A script deleted from bench/ must not live on in dist/ (benchScript would still run it).
  for (const file of fs.readdirSync(distDir)) {
    if (file.endsWith('.js') && !outputs.has(file)) fs.rmSync(path.join(distDir, file));
  }
  for (const file of scripts) {
    const source = fs.readFileSync(path.join(benchDir, file), 'utf8');
    const out = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
    });
    fs.writeFileSync(path.join(distDir, file.replace(/\.ts$/, '.js')), out.outputText);
  }
}

/** [node, args] running bench script `name` ("baseline-server") compiled, or under ts-node when not compiled. */
export function benchScript(name: string, args: string[] = [], nodeFlags: string[] = []): [string, string[]] {
  const js = path.join(DIST_DIR, `${name}.js`);
  if (fs.existsSync(js)) return [process.execPath, [...nodeFlags, js, ...args]];
  return [process.execPath, [...nodeFlags, '-r', 'ts-node/register/transpile-only', path.join(BENCH_DIR, `${name}.ts`), ...args]];
}
