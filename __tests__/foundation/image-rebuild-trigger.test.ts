/**
 * Image rebuild triggers come from one helper (constructs/build-trigger.ts)
 * that reads each Dockerfile's COPY/ADD sources. Real Terraform (1.11, no
 * provider needed) evaluates the exact expressions from the synthesized plan
 * over copies of the real build contexts: editing any file the Dockerfile
 * copies changes the trigger (tsconfig.json of the demo image among them,
 * which an older hand-written trigger missed); files outside the build
 * inputs do not.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { copiedSources, triggerGlobs } from '../../constructs/build-trigger';
import { byPath, synthStack } from './synth-helpers';

function terraformBinary(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v terraform'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('terraform is not on PATH: this test evaluates the image trigger with a real Terraform (>= 1.5). Install Terraform and re-run.');
  }
}

const terraform = terraformBinary();
const env = { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' };
const repo = path.resolve(__dirname, '..', '..');

test('copiedSources: COPY and ADD sources from the context, not --from stages; JSON form; . is the whole context', () => {
  const dockerfile = ['FROM node:20 AS build', 'COPY package.json tsconfig.json ./', 'COPY src ./src', 'ADD ["assets/a b.txt", "/x/"]', 'COPY --from=build /app/dist ./dist', 'COPY --chown=node:node proto/ ./proto/'].join('\n');
  expect(copiedSources(dockerfile)).toEqual(['assets/a b.txt', 'package.json', 'proto', 'src', 'tsconfig.json'].sort());
  expect(copiedSources('FROM x\nCOPY . /app\n')).toEqual(['.']);
  expect(triggerGlobs(['src', '.'])).toEqual(['**', '.dockerignore', 'Dockerfile', 'src', 'src/**']);
});

/** A copy of a real build context under <root>/<rel>, the stack dir at <root>/cdktf.out/stacks/s, as in the repo. */
function contextCopy(rel: string, expression: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-trigger-'));
  const stackDir = path.join(root, 'cdktf.out', 'stacks', 'mcp-router-platform');
  const ctx = path.join(root, rel);
  const src = path.join(repo, rel);
  fs.cpSync(src, ctx, { recursive: true, filter: (p) => !/node_modules|\/dist(\/|$)/.test(p) });
  fs.mkdirSync(stackDir, { recursive: true });
  fs.writeFileSync(path.join(stackDir, 'main.tf.json'), JSON.stringify({ output: { source_sha1: { value: expression } } }));
  execFileSync(terraform, ['init', '-backend=false', '-input=false', '-no-color'], { cwd: stackDir, env, stdio: 'pipe' });
  const evaluate = () => {
    const r = spawnSync(terraform, ['apply', '-auto-approve', '-input=false', '-no-color'], { cwd: stackDir, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`terraform apply failed:\n${r.stdout}${r.stderr}`);
    return execFileSync(terraform, ['output', '-raw', 'source_sha1'], { cwd: stackDir, env, encoding: 'utf8' }).trim();
  };
  const edit = (file: string) => {
    const p = path.join(ctx, file);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.appendFileSync(p, '\n// edited\n');
  };
  return { ctx, evaluate, edit, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** Every file below `dir` of the context that the Dockerfile copies (a sample of each source). */
function copiedFiles(ctx: string): string[] {
  const out: string[] = ['Dockerfile'];
  for (const s of copiedSources(fs.readFileSync(path.join(ctx, 'Dockerfile'), 'utf8'))) {
    const p = path.join(ctx, s);
    if (fs.statSync(p).isDirectory()) {
      const files = fs.readdirSync(p, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(p, f)).isFile());
      out.push(path.join(s, files.sort()[0]));
    } else out.push(s);
  }
  return out;
}

describe.each([
  ['router image', 'router-app', (json: any) => byPath(json, 'docker_image', 'RouterImage').triggers.source_sha1],
  ['demo MCP server image', 'examples/demo-mcp-server', (json: any) => byPath(json, 'docker_image', 'DemoBackends').triggers.source_sha1],
])('%s', (_name, rel, pick) => {
  let t: ReturnType<typeof contextCopy>;
  beforeAll(() => {
    t = contextCopy(rel, pick(synthStack({ demoBackends: ['demo'] })));
  }, 60_000);
  afterAll(() => t?.cleanup());

  test('editing any file the Dockerfile copies changes the trigger; other files do not', () => {
    const base = t.evaluate();
    expect(base).toMatch(/^[0-9a-f]{40}$/);
    expect(t.evaluate()).toBe(base);
    fs.writeFileSync(path.join(t.ctx, 'NOTES.md'), 'not a build input\n');
    fs.mkdirSync(path.join(t.ctx, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(t.ctx, 'dist', 'main.js'), 'build output\n');
    expect(t.evaluate()).toBe(base);
    const files = copiedFiles(t.ctx);
    expect(files).toEqual(expect.arrayContaining(['Dockerfile', 'package.json', 'tsconfig.json']));
    const seen = new Set([base]);
    for (const f of files) {
      t.edit(f);
      const h = t.evaluate();
      expect({ file: f, changed: !seen.has(h) }).toEqual({ file: f, changed: true });
      seen.add(h);
    }
  }, 180_000);
});
