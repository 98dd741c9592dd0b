/**
 * Every TypeScript block of the README type-checks against this package, as a reader would paste
 * it. A block is a fragment of a stack (it uses `this`, `app` and the package's names without
 * importing them all), so each is compiled inside a function of a stack, with the package's
 * exports, `McpRouterStack` (main.ts) and the cdktf names it uses imported for it;
 * `mcp-router-platform` becomes constructs/index.ts, the package's entry point (any other
 * specifier, such as `mcp-router-platform/constructs`, stays as written and must resolve). (The
 * "Use it in your own project" program is also compiled whole from the packed tarball:
 * __tests__/packaging.) A block once imported `mcp-router-platform/constructs`, which the package
 * does not export, and passed enum props as strings.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import * as pkg from '../../constructs';

const REPO = path.resolve(__dirname, '..', '..');

interface Block {
  readonly line: number;
  readonly code: string;
}

function tsBlocks(file: string): Block[] {
  const lines = fs.readFileSync(path.join(REPO, file), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue;
    const start = i + 1;
    const body: string[] = [];
    for (i = start; i < lines.length && !lines[i].startsWith('```'); i++) body.push(lines[i]);
    out.push({ line: start + 1, code: body.join('\n') });
  }
  return out;
}

/** The names a fragment may use without importing them, and where they come from. */
const PROVIDED: Record<string, string> = {
  ...Object.fromEntries(Object.keys(pkg).map((n) => [n, './constructs'])),
  McpRouterStack: './main',
  App: 'cdktf',
  TerraformStack: 'cdktf',
  TerraformOutput: 'cdktf',
  TerraformVariable: 'cdktf',
  DockerProvider: '@cdktf/provider-docker/lib/provider',
};

/** The block as a module: its imports, the names it uses but does not import, and its code inside a stack function. */
function asModule(block: Block): string {
  const lines = block.code.split('\n');
  // The package's entry point, from a module at the repository's root.
  const importLines = lines.filter((l) => /^import\s/.test(l)).map((l) => l.replace(/from 'mcp-router-platform'/, "from './constructs'"));
  const body = lines.filter((l) => !/^import\s/.test(l)).join('\n');
  const imported = new Set(importLines.flatMap((l) => /\{([^}]*)\}/.exec(l)?.[1].split(',').map((n) => n.trim().split(/\s+as\s+/).pop()!) ?? []));
  const bySource = new Map<string, string[]>();
  for (const [name, source] of Object.entries(PROVIDED)) {
    if (imported.has(name) || !new RegExp(`\\b${name}\\b`).test(body)) continue;
    bySource.set(source, [...(bySource.get(source) ?? []), name]);
  }
  const added = [...bySource].map(([source, names]) => `import { ${names.join(', ')} } from '${source}';`);
  const declaresApp = /\b(const|let|var)\s+app\b/.test(body);
  const appParam = declaresApp ? '' : ', app: App';
  if (!declaresApp && !imported.has('App') && !bySource.get('cdktf')?.includes('App')) added.push("import { App } from 'cdktf';");
  if (!imported.has('TerraformStack') && !bySource.get('cdktf')?.includes('TerraformStack')) added.push("import { TerraformStack } from 'cdktf';");
  return [...importLines, ...added, `export async function snippet(this: TerraformStack${appParam}): Promise<void> {`, body, '}', ''].join('\n');
}

test('every TypeScript block of README.md type-checks against the package', () => {
  const blocks = tsBlocks('README.md');
  expect(blocks.length).toBeGreaterThanOrEqual(5);
  const config = ts.parseJsonConfigFileContent(ts.readConfigFile(path.join(REPO, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, REPO);
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: true,
    noUnusedLocals: false,
    noUnusedParameters: false,
    skipLibCheck: true,
  };
  const files = new Map(blocks.map((b) => [path.join(REPO, `__readme_block_${b.line}.ts`), asModule(b)]));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (files.has(name) ? ts.createSourceFile(name, files.get(name)!, lang) : getSourceFile(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => files.has(name) || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => files.get(name) ?? readFile(name);
  const program = ts.createProgram([...files.keys()], options, host);
  const problems = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && files.has(d.file.fileName))
    .map((d) => {
      const block = Number(/__readme_block_(\d+)\.ts$/.exec(d.file!.fileName)![1]);
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `README.md block at line ${block} (module line ${line + 1}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  expect(problems).toEqual([]);
}, 120_000);
