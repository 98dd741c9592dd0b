/**
 * The package as its users get it, proven from the outside.
 *
 * One jsii build (the package's `prepack`: JavaScript, declarations and the
 * .jsii assembly into lib/) and one `npm pack`; the tarball is installed once,
 * offline from the npm cache that `npm ci` filled (a lockfile seeded from this
 * repository's lock, so npm asks no registry), into a directory outside the
 * repository, and hard-linked into two fresh cdktf projects: the README's
 * TypeScript program (compiled by the project's own tsc) and its JavaScript
 * program. Each synthesizes; its plan's image build context exists in the
 * installed package and holds what the Dockerfile copies; real Terraform
 * evaluates the rebuild trigger there; both generated haproxy.cfg files pass
 * `haproxy -c`.
 *
 * Python: jsii-pacmak generates the binding from the same assembly. PyPI is not
 * reachable here, so it is not installed; Debian's python3 compiles every
 * generated file and reads the module's public names (they must be the
 * TypeScript exports) and the README's Python program is checked against the
 * names and keyword arguments the module defines.
 */
import { execFileSync, spawnSync, SpawnSyncOptions } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { copiedSources } from '../../constructs/build-trigger';
import { rootLockfile, seedLockfile } from '../../scripts/context-lockfiles';
import { requireTool } from '../support/tools';

const REPO = path.resolve(__dirname, '..', '..');
const PKG = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
const haproxy = requireTool('haproxy');
const node22 = requireTool('node22');
const python3 = requireTool('python3');
const terraform = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v terraform'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('terraform is not on PATH: this test evaluates the image trigger of the installed package with a real Terraform (>= 1.5). Install Terraform and re-run.');
  }
})();

/** jsii supports Node 22 (under Node 20 it prints an end-of-life notice first); npm and jsii-pacmak run there too. */
const ENV22 = { ...process.env, PATH: `${path.dirname(node22)}${path.delimiter}${process.env.PATH}` };
/** A user's shell: no cdktf output dir or jsii host inherited from whoever runs the tests. */
const USER_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['CDKTF_OUTDIR', 'JSII_AGENT', 'CDKTF_CONTEXT_JSON'].includes(k))) as NodeJS.ProcessEnv;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-router-pkg-'));

function run(command: string, args: string[], options: SpawnSyncOptions & { cwd: string }): string {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024, ...options });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${options.cwd}) failed (${r.error?.message ?? `status ${r.status}`}):\n${out.slice(-6000)}`);
  return out;
}

/** The README's "Use it in your own project" section, and its first code block in `lang`. */
const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
const section = (() => {
  const start = readme.indexOf('\n## Use it in your own project\n');
  if (start < 0) throw new Error('README.md has no "## Use it in your own project" section');
  const end = readme.indexOf('\n## ', start + 5);
  return readme.slice(start, end < 0 ? undefined : end);
})();
function readmeBlock(lang: string): string {
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
  if (!m) throw new Error(`the README section has no \`\`\`${lang} block`);
  return m[1];
}

/** The peers and the TypeScript a user's project installs, in this repository's versions (all in the npm cache). */
const dev = PKG.devDependencies as Record<string, string>;
const peers = Object.fromEntries(Object.keys(PKG.peerDependencies).map((n) => [n, dev[n]]));

let jsiiOutput = '';
let packed: { filename: string; size: number; unpackedSize: number; entryCount: number };
let tarball = '';
let entries: string[] = [];

beforeAll(() => {
  // The prepack build, run on its own so its output (jsii's diagnostics) can be read.
  jsiiOutput = run('npm', ['run', 'build:lib'], { cwd: REPO, env: ENV22 });
  packed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--loglevel=error', '--pack-destination', work], { cwd: REPO, env: ENV22, stdio: ['ignore', 'pipe', 'ignore'] }))[0];
  tarball = path.join(work, packed.filename);
  entries = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((e) => e.replace(/^package\//, ''));

  // One install, offline: the seeded lockfile holds every version the project needs, the tarball's too.
  const install = path.join(work, 'install');
  fs.mkdirSync(install);
  const manifest = {
    name: 'outside-install',
    version: '0.0.0',
    private: true,
    dependencies: { [PKG.name]: `file:../${packed.filename}`, ...peers },
    devDependencies: { typescript: dev.typescript, '@types/node': dev['@types/node'] },
  };
  const lock = seedLockfile(rootLockfile(), manifest);
  lock.packages[`node_modules/${PKG.name}`] = {
    version: PKG.version,
    resolved: `file:../${packed.filename}`,
    integrity: `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`,
    license: PKG.license,
    dependencies: PKG.dependencies,
    bundleDependencies: PKG.bundledDependencies,
    peerDependencies: PKG.peerDependencies,
    engines: PKG.engines,
  };
  fs.writeFileSync(path.join(install, 'package.json'), JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(install, 'package-lock.json'), JSON.stringify(lock, null, 2));
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: install, env: USER_ENV });
}, 600_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A fresh cdktf project outside the repository with `files`, its node_modules hard-linked from the one install. */
function project(name: string, language: string, app: string, files: Record<string, string>): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(work, 'install', 'package.json'), path.join(dir, 'package.json'));
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ language, app, projectId: name, sendCrashReports: 'false', terraformProviders: [], terraformModules: [], context: {} }, null, 2));
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  execFileSync('cp', ['-al', path.join(work, 'install', 'node_modules'), path.join(dir, 'node_modules')]);
  return dir;
}

const STACK = 'mcp-router';
const planOf = (dir: string, outdir = 'cdktf.out') => {
  const text = fs.readFileSync(path.join(dir, outdir, 'stacks', STACK, 'cdk.tf.json'), 'utf8');
  return { text, json: JSON.parse(text), stackDir: path.join(dir, outdir, 'stacks', STACK) };
};
const resolveModulePath = (expr: string, stackDir: string) => path.resolve(expr.replace('${path.module}', stackDir));

/** Every file of `dir` a Terraform fileset() pattern matches (doublestar: `**` any depth, `*` within a segment). */
function filesetUnion(dir: string, globs: string[]): string[] {
  const all = (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).map((f) => f.split(path.sep).join('/')).filter((f) => fs.statSync(path.join(dir, f)).isFile());
  const re = (g: string) => new RegExp(`^${g.split('**').map((p) => p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')).join('.*')}$`);
  return [...new Set(globs.flatMap((g) => all.filter((f) => re(g).test(f))))].sort();
}

/** Terraform's value of an expression from a module dir beside the stack (the same depth, so path.module means the same). */
function terraformValue(stackDir: string, expression: string): string {
  const dir = path.join(path.dirname(stackDir), `eval-${crypto.randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({ output: { value: { value: expression } } }));
  const env = { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' };
  run(terraform, ['init', '-backend=false', '-input=false', '-no-color'], { cwd: dir, env });
  run(terraform, ['apply', '-auto-approve', '-input=false', '-no-color'], { cwd: dir, env });
  return execFileSync(terraform, ['output', '-raw', 'value'], { cwd: dir, env, encoding: 'utf8' }).trim();
}

/** `haproxy -c` on a generated config; nameserver host names (Docker DNS names) become 127.0.0.1 so the check can resolve them. */
function haproxyCheck(name: string, cfg: string): string {
  const file = path.join(work, `${name}.cfg`);
  fs.writeFileSync(file, cfg.replace(/^(\s*nameserver \S+ )([^:\s]+):/gm, (all, head: string, host: string) => (/^\d+\.\d+\.\d+\.\d+$/.test(host) ? all : `${head}127.0.0.1:`)));
  const r = spawnSync(haproxy, ['-c', '-f', file], { encoding: 'utf8' });
  expect({ name, status: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ name, status: 0, out: expect.stringContaining('Configuration file is valid') });
  return cfg;
}

/** What the README's program must have put into the plan (the same for TypeScript and JavaScript). */
function checkPlan(dir: string): { routerContext: string; trigger: string; stackDir: string } {
  const { json, stackDir } = planOf(dir);
  // No absolute path from the package: its part of the plan is the same on any machine with this
  // project layout. (cdktf's default local backend, added when a stack configures none, records the
  // state file's absolute path; that one is cdktf's.)
  expect(json.terraform.backend.local.path).toBe(path.join(dir, `terraform.${STACK}.tfstate`));
  const { backend: _cdktfDefault, ...terraformBlock } = json.terraform;
  const text = JSON.stringify({ ...json, terraform: terraformBlock });
  expect(text).not.toContain(work);
  expect(text).not.toMatch(/"\/(home|root|work|tmp|Users)\//);

  const containers = json.resource.docker_container as Record<string, any>;
  const routers = Object.values(containers).filter((c) => c.count !== undefined);
  expect(routers.map((c) => c.count)).toEqual([3]);

  // The router image is built from the installed package's router-app/, named relative to the stack dir.
  const images = Object.values(json.resource.docker_image as Record<string, any>).filter((i) => i.build);
  expect(images).toHaveLength(1);
  const routerContext: string = images[0].build.context;
  expect(routerContext).toBe(`\${path.module}/../../../node_modules/${PKG.name}/router-app`);
  const context = resolveModulePath(routerContext, stackDir);
  expect(context).toBe(path.join(dir, 'node_modules', PKG.name, 'router-app'));
  const dockerfile = fs.readFileSync(path.join(context, 'Dockerfile'), 'utf8');
  const needed = ['Dockerfile', '.dockerignore', ...copiedSources(dockerfile)];
  expect(needed).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'proto']));
  for (const f of needed) expect({ file: f, exists: fs.existsSync(path.join(context, f)) }).toEqual({ file: f, exists: true });
  expect(fs.existsSync(path.join(context, 'src', 'main.ts'))).toBe(true);

  // Both HAProxy configs: the platform's (Consul by its container name) and the part's on the existing network.
  // (A locked-down container takes its config in the environment: MCP_HAPROXY_CONFIG.)
  const CFG = 'MCP_HAPROXY_CONFIG=';
  const lbs = Object.entries(containers).filter(([, c]) => c.env?.some((e: string) => e.startsWith(CFG)));
  expect(lbs.map(([, c]) => c.name).sort()).toEqual(['edge-haproxy', 'mcp-haproxy']);
  const cfg = (name: string) => (lbs.find(([, c]) => c.name === name)![1].env as string[]).find((e) => e.startsWith(CFG))!.slice(CFG.length);
  const platformCfg = haproxyCheck(`${path.basename(dir)}-platform`, cfg('mcp-haproxy'));
  expect(platformCfg).toContain('nameserver consul1 mcp-consul:8600');
  expect(platformCfg).toContain('balance leastconn');
  const edgeCfg = haproxyCheck(`${path.basename(dir)}-edge`, cfg('edge-haproxy'));
  expect(edgeCfg).toContain('nameserver consul1 10.0.0.5:8600');
  expect(edgeCfg).toMatch(/^\s+mode tcp$/m);
  expect(edgeCfg).toContain('server-template mcp-router 5 _mcp-router._tcp.service.consul');
  const edge = lbs.find(([, c]) => c.name === 'edge-haproxy')![1];
  expect(edge.networks_advanced).toEqual([{ name: expect.stringMatching(/^\$\{data\.docker_network\.[^.]+\.name\}$/) }]);
  expect(Object.values(json.data.docker_network as Record<string, any>)).toEqual([expect.objectContaining({ name: 'corp-net' })]);
  expect(edge.ports.map((p: any) => p.external).sort((a: number, b: number) => a - b)).toEqual([8081, 8405, 50052]);
  expect(json.output.edge_endpoint.value).toBe('127.0.0.1:50052');

  return { routerContext, trigger: images[0].triggers.source_sha1, stackDir };
}

describe('the tarball', () => {
  test('ships lib/ (JavaScript + declarations, the contract they import), the assembly and the build contexts; no tests, no bench, no sources of lib/', () => {
    for (const f of [
      'package.json',
      'README.md',
      '.jsii',
      'lib/constructs/index.js',
      'lib/constructs/index.d.ts',
      'lib/haproxy-templates/options.js',
      'lib/router-app/src/contract.js',
      'lib/router-app/src/contract.d.ts',
      'router-app/Dockerfile',
      'router-app/.dockerignore',
      'router-app/package.json',
      'router-app/package-lock.json',
      'router-app/tsconfig.json',
      'router-app/proto/mcp_router.proto',
      'router-app/src/main.ts',
      'examples/demo-mcp-server/Dockerfile',
      'examples/demo-mcp-server/.dockerignore',
      'examples/demo-mcp-server/package.json',
      'examples/demo-mcp-server/package-lock.json',
      'examples/demo-mcp-server/src/main.ts',
      'node_modules/dockerfile-ast/package.json',
    ]) {
      expect({ file: f, shipped: entries.includes(f) }).toEqual({ file: f, shipped: true });
    }
    const unwanted = entries.filter((e) => /(^|\/)__tests__\/|^bench\/|^scripts\/|\.test\.|^main\.ts$|^(constructs|haproxy-templates)\/|\/dist\/|^cdktf\.json$|^tsconfig|^jest/.test(e));
    expect(unwanted).toEqual([]);
    // Only the bundled (non-jsii) dependency and its own dependencies are inside.
    expect([...new Set(entries.filter((e) => e.startsWith('node_modules/')).map((e) => e.split('/')[1]))].sort()).toEqual(['dockerfile-ast', 'vscode-languageserver-textdocument', 'vscode-languageserver-types']);
    expect(packed.size).toBeLessThan(1_000_000);
  });

  test('its package.json: publishable, one entry point (exports), the providers and cdktf as peers, and the peers resolvable in one project', () => {
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
    expect(manifest.private).toBeUndefined();
    expect(manifest.exports['.']).toEqual({ types: './lib/constructs/index.d.ts', default: './lib/constructs/index.js' });
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['@cdktf/provider-consul', '@cdktf/provider-docker', '@cdktf/provider-random', 'cdktf', 'constructs']);
    expect(manifest.peerDependencies.cdktf).toBe('^0.21.0');
    expect(Object.keys(manifest.dependencies)).toEqual(['dockerfile-ast']);
    expect(fs.readdirSync(path.join(work, 'install', 'node_modules', PKG.name))).toEqual(expect.arrayContaining(['lib', 'router-app', 'examples', '.jsii', 'package.json']));
  });
});

describe('installed from the tarball into fresh cdktf projects outside the repository', () => {
  test('TypeScript: the README program compiles with the project\'s tsc (cdktf template settings, and node16 resolution through exports), synthesizes, and its plan builds from the installed package', () => {
    const tsconfig = {
      compilerOptions: {
        alwaysStrict: true,
        declaration: true,
        experimentalDecorators: true,
        inlineSourceMap: true,
        inlineSources: true,
        lib: ['es2018'],
        module: 'CommonJS',
        noEmitOnError: true,
        noFallthroughCasesInSwitch: true,
        noImplicitAny: true,
        noImplicitReturns: true,
        noImplicitThis: true,
        noUnusedLocals: true,
        noUnusedParameters: true,
        resolveJsonModule: true,
        strict: true,
        strictNullChecks: true,
        strictPropertyInitialization: true,
        stripInternal: true,
        target: 'ES2018',
        skipLibCheck: true,
      },
      include: ['**/*.ts'],
      exclude: ['node_modules', 'cdktf.out'],
    };
    const node16 = { extends: './tsconfig.json', compilerOptions: { module: 'Node16', moduleResolution: 'Node16', noEmit: true } };
    const dir = project('ts-project', 'typescript', 'npx ts-node main.ts', {
      'main.ts': readmeBlock('ts'),
      'tsconfig.json': JSON.stringify(tsconfig, null, 2),
      'tsconfig.node16.json': JSON.stringify(node16, null, 2),
    });
    const tsc = path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
    run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, env: USER_ENV });
    run(process.execPath, [tsc, '-p', 'tsconfig.node16.json'], { cwd: dir, env: USER_ENV });
    run(process.execPath, ['main.js'], { cwd: dir, env: USER_ENV });
    const { trigger, stackDir } = checkPlan(dir);

    // The rebuild trigger, evaluated by Terraform from the stack dir, hashes exactly the installed context's build inputs.
    const context = path.join(dir, 'node_modules', PKG.name, 'router-app');
    const globs = [...trigger.matchAll(/fileset\("[^"]+", "([^"]+)"\)/g)].map((m) => m[1]);
    const files = filesetUnion(context, globs);
    expect(files).toEqual(expect.arrayContaining(['Dockerfile', 'package-lock.json', 'proto/mcp_router.proto', 'src/main.ts']));
    const sha1 = (b: string | Buffer) => crypto.createHash('sha1').update(b).digest('hex');
    const expected = sha1(files.map((f) => `${f}=${sha1(fs.readFileSync(path.join(context, f)))}`).join(','));
    expect(terraformValue(stackDir, trigger)).toBe(expected);
  }, 300_000);

  test('JavaScript: the README program synthesizes with require() and its plan builds from the installed package; nothing but the entry point is exported', () => {
    const dir = project('js-project', 'javascript', 'node main.js', { 'main.js': readmeBlock('js') });
    run(process.execPath, ['main.js'], { cwd: dir, env: USER_ENV });
    checkPlan(dir);
    const deep = spawnSync(process.execPath, ['-e', `require('${PKG.name}/lib/haproxy-templates/options')`], { cwd: dir, encoding: 'utf8', env: USER_ENV });
    expect(deep.status).not.toBe(0);
    expect(deep.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  }, 300_000);

  test('the demo server\'s context too; and under a jsii host (JSII_AGENT, as Python sets it) both contexts are copied into the stack\'s assets, complete', () => {
    const program = `
const { App, TerraformStack } = require('cdktf');
const { DockerProvider } = require('@cdktf/provider-docker/lib/provider');
const { McpRouterPlatform } = require('${PKG.name}');
const app = new App({ outdir: process.argv[2] });
const stack = new TerraformStack(app, '${STACK}');
new DockerProvider(stack, 'docker', {});
new McpRouterPlatform(stack, 'Mcp', { instanceCount: 2, demoBackends: ['demo'] });
app.synth();
`;
    const dir = project('js-demo-project', 'javascript', 'node demo.js', { 'demo.js': program });
    const contexts = (outdir: string) => {
      const { json, stackDir } = planOf(dir, outdir);
      const images = Object.entries(json.resource.docker_image as Record<string, any>).filter(([, i]) => i.build);
      expect(images).toHaveLength(2);
      return images.map(([id, i]) => ({ id, context: i.build.context as string, trigger: i.triggers.source_sha1 as string, dir: resolveModulePath(i.build.context, stackDir) }));
    };
    const complete = (dir: string) => {
      const dockerfile = fs.readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
      for (const f of ['.dockerignore', 'package-lock.json', ...copiedSources(dockerfile)]) expect({ dir, file: f, exists: fs.existsSync(path.join(dir, f)) }).toEqual({ dir, file: f, exists: true });
    };

    run(process.execPath, ['demo.js', 'cdktf.out'], { cwd: dir, env: USER_ENV });
    const plain = contexts('cdktf.out');
    expect(plain.map((c) => c.context).sort()).toEqual([`\${path.module}/../../../node_modules/${PKG.name}/examples/demo-mcp-server`, `\${path.module}/../../../node_modules/${PKG.name}/router-app`]);
    plain.forEach((c) => complete(c.dir));

    run(process.execPath, ['demo.js', 'cdktf.out.jsii'], { cwd: dir, env: { ...USER_ENV, JSII_AGENT: 'Python/3.12.3' } });
    const copied = contexts('cdktf.out.jsii');
    for (const c of copied) {
      expect(c.context).toMatch(/^\$\{path\.module\}\/assets\/[^"]+$/);
      expect(c.dir.startsWith(path.join(dir, 'cdktf.out.jsii', 'stacks', STACK, 'assets') + path.sep)).toBe(true);
      expect(c.trigger).toContain(`fileset("${c.context}", "Dockerfile")`);
      complete(c.dir);
    }
    // The copies are the installed package's files.
    const router = copied.find((c) => c.id.includes('RouterImage'))!;
    expect(fs.readFileSync(path.join(router.dir, 'src', 'main.ts'), 'utf8')).toBe(fs.readFileSync(path.join(dir, 'node_modules', PKG.name, 'router-app', 'src', 'main.ts'), 'utf8'));
  }, 300_000);
});

/** The names the package root exports to TypeScript, and which of them carry `@jsii ignore` (TypeScript/JavaScript only). */
function typescriptExports(): { names: string[]; ignored: string[]; enums: Record<string, string[]> } {
  const entry = path.join(REPO, 'constructs', 'index.ts');
  const program = ts.createProgram([entry], { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, target: ts.ScriptTarget.ES2022, skipLibCheck: true, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const names: string[] = [];
  const ignored: string[] = [];
  const enums: Record<string, string[]> = {};
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declarations = symbol.declarations ?? [];
    const jsiiIgnore = declarations.length > 0 && declarations.every((d) => ts.getJSDocTags(d).some((t) => t.tagName.text === 'jsii' && (ts.getTextOfJSDocComment(t.comment) ?? '').trim().split(/\s+/)[0] === 'ignore'));
    names.push(exported.name);
    if (jsiiIgnore) ignored.push(exported.name);
    const en = declarations.find(ts.isEnumDeclaration);
    if (en) enums[exported.name] = en.members.map((m) => (m.name as ts.Identifier).text);
  }
  return { names: names.sort(), ignored: ignored.sort(), enums };
}

/** Python's view of a generated module (and of a program using it), by Debian's python3 `ast`. */
const PY_READER = String.raw`
import ast, json, sys
module = ast.parse(open(sys.argv[1], encoding="utf8").read())
out = {"all": [], "enums": {}, "kwargs": {}}
for node in module.body:
    if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
        out["all"] = ast.literal_eval(node.value)
    if isinstance(node, ast.ClassDef):
        if any(isinstance(b, ast.Attribute) and b.attr == "Enum" for b in node.bases):
            out["enums"][node.name] = [t.id for s in node.body if isinstance(s, ast.Assign) for t in s.targets if isinstance(t, ast.Name)]
        for s in node.body:
            if isinstance(s, ast.FunctionDef) and s.name == "__init__":
                out["kwargs"][node.name] = [a.arg for a in s.args.kwonlyargs]
uses = {"imports": [], "calls": [], "attributes": []}
if len(sys.argv) > 2:
    program = ast.parse(open(sys.argv[2], encoding="utf8").read())
    for node in ast.walk(program):
        if isinstance(node, ast.ImportFrom) and node.module == "mcp_router_platform":
            uses["imports"] += [a.name for a in node.names]
    mine = set(uses["imports"])
    for node in ast.walk(program):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in mine:
            uses["calls"].append({"name": node.func.id, "keywords": [k.arg for k in node.keywords]})
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in mine:
            uses["attributes"].append([node.value.id, node.attr])
out["uses"] = uses
print(json.dumps(out))
`;

describe('Python through jsii', () => {
  const pyOut = path.join(work, 'dist');

  test('jsii compiles the public API with no error and no warning (suppressed by name: only the `@jsii suppress` directives in the sources)', () => {
    const summary = /Errors: (\d+) \| Warnings: (\d+)(?: \(\+(\d+) silenced\))?/.exec(jsiiOutput);
    expect(summary).not.toBeNull();
    const [, errors, warnings, silenced] = summary!;
    expect({ errors: Number(errors), warnings: Number(warnings) }).toEqual({ errors: 0, warnings: 0 });
    const directives = ['constructs', 'haproxy-templates']
      .flatMap((d) => fs.readdirSync(path.join(REPO, d)).filter((f) => f.endsWith('.ts')).map((f) => fs.readFileSync(path.join(REPO, d, f), 'utf8')))
      .reduce((n, text) => n + (text.match(/@jsii suppress JSII\d+/g) ?? []).length, 0);
    expect(Number(silenced ?? 0)).toBe(directives);
    expect(jsiiOutput).not.toMatch(/\bwarning JSII\d+/);
  });

  test('jsii-pacmak emits the Python package; its module\'s public names are the TypeScript exports (but PropError), enum members match, every file compiles, and the README\'s Python program uses only what it defines', () => {
    // npm_config_ignore_scripts: pacmak packs the module with `npm pack`, whose prepack would run jsii again.
    run('npx', ['jsii-pacmak', '--targets', 'python', '--code-only', '--no-npmignore', '--outdir', pyOut], { cwd: REPO, env: { ...ENV22, npm_config_ignore_scripts: 'true' } });
    const pkgDir = path.join(pyOut, 'python');
    const moduleDir = path.join(pkgDir, 'src', 'mcp_router_platform');
    for (const f of ['setup.py', 'pyproject.toml', 'README.md', 'src/mcp_router_platform/__init__.py', 'src/mcp_router_platform/py.typed', `src/mcp_router_platform/_jsii/${PKG.name}@${PKG.version}.jsii.tgz`]) {
      expect({ file: f, exists: fs.existsSync(path.join(pkgDir, f)) }).toEqual({ file: f, exists: true });
    }
    // The JavaScript the Python package runs is the npm package, build contexts included.
    const embedded = execFileSync('tar', ['-tzf', path.join(moduleDir, '_jsii', `${PKG.name}@${PKG.version}.jsii.tgz`)], { encoding: 'utf8' });
    expect(embedded).toContain('package/router-app/Dockerfile');
    expect(embedded).toContain('package/lib/constructs/index.js');
    expect(fs.readFileSync(path.join(pkgDir, 'setup.py'), 'utf8')).toMatch(/"cdktf>=0\.21\.0, <0\.22\.0"/);

    run(python3, ['-m', 'compileall', '-q', moduleDir], { cwd: work });
    const programFile = path.join(work, 'main.py');
    fs.writeFileSync(programFile, readmeBlock('python'));
    run(python3, ['-m', 'py_compile', programFile], { cwd: work });
    const readerFile = path.join(work, 'read_module.py');
    fs.writeFileSync(readerFile, PY_READER);
    const py = JSON.parse(run(python3, [readerFile, path.join(moduleDir, '__init__.py'), programFile], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] }));

    const tsExports = typescriptExports();
    expect(tsExports.ignored).toEqual(['PropError']);
    expect([...py.all].sort()).toEqual(tsExports.names.filter((n) => !tsExports.ignored.includes(n)));
    expect(Object.keys(py.enums).sort()).toEqual(Object.keys(tsExports.enums).sort());
    for (const [name, members] of Object.entries(tsExports.enums)) expect({ name, members: py.enums[name] }).toEqual({ name, members });

    // The README program: imports, constructor keywords and enum members the module has.
    const { imports, calls, attributes } = py.uses as { imports: string[]; calls: Array<{ name: string; keywords: string[] }>; attributes: Array<[string, string]> };
    expect(imports.length).toBeGreaterThan(0);
    for (const name of imports) expect({ name, exported: py.all.includes(name) }).toEqual({ name, exported: true });
    expect(calls.map((c) => c.name).sort()).toEqual(['HaproxyLoadBalancer', 'HaproxyRoutingOptions', 'McpRouterPlatform']);
    for (const c of calls) for (const k of c.keywords) expect({ call: c.name, keyword: k, known: (py.kwargs[c.name] ?? []).includes(k) }).toEqual({ call: c.name, keyword: k, known: true });
    for (const [cls, member] of attributes) expect({ cls, member, known: (py.enums[cls] ?? []).includes(member) }).toEqual({ cls, member, known: true });
  }, 300_000);
});
