/**
 * The router image's rebuild trigger is a Terraform expression; real Terraform
 * (1.11, no provider needed) evaluates the exact expression from the
 * synthesized plan over a router-app tree: editing a source changes it,
 * editing a file outside the build inputs does not.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-trigger-'));
// Same layout as the repo: the stack dir is cdktf.out/stacks/<stack>, router-app three levels up.
const stackDir = path.join(root, 'cdktf.out', 'stacks', 'mcp-router-platform');
const app = path.join(root, 'router-app');

const write = (rel: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(app, rel)), { recursive: true });
  fs.writeFileSync(path.join(app, rel), text);
};

function evaluate(): string {
  const r = spawnSync(terraform, ['apply', '-auto-approve', '-input=false', '-no-color'], { cwd: stackDir, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`terraform apply failed:\n${r.stdout}${r.stderr}`);
  return execFileSync(terraform, ['output', '-raw', 'source_sha1'], { cwd: stackDir, env, encoding: 'utf8' }).trim();
}

let expression: string;

beforeAll(() => {
  const img = byPath(synthStack(), 'docker_image', 'RouterImage');
  expression = img.triggers.source_sha1;
  fs.mkdirSync(stackDir, { recursive: true });
  // Only the trigger expression, as an output: no provider, no resource.
  fs.writeFileSync(path.join(stackDir, 'main.tf.json'), JSON.stringify({ output: { source_sha1: { value: expression } } }));
  write('src/main.ts', 'console.log("v1");\n');
  write('src/grpc/server.ts', 'export const x = 1;\n');
  write('proto/mcp_router.proto', 'syntax = "proto3";\n');
  write('package.json', '{"name":"router"}\n');
  write('tsconfig.json', '{}\n');
  write('Dockerfile', 'FROM node:20-slim\n');
  write('README.md', 'docs\n');
  write('dist/main.js', 'compiled\n');
  execFileSync(terraform, ['init', '-backend=false', '-input=false', '-no-color'], { cwd: stackDir, env, stdio: 'pipe' });
}, 60_000);

test('the trigger is a plan-time hash of the build inputs, relative to the stack dir', () => {
  expect(expression).toMatch(/^\$\{sha1\(join\(/);
  expect(expression).toContain('${path.module}/../../../router-app');
  expect(evaluate()).toMatch(/^[0-9a-f]{40}$/);
});

test('editing a router source, the proto, package.json or the Dockerfile changes it; docs and build output do not', () => {
  const base = evaluate();
  expect(evaluate()).toBe(base); // stable when nothing changes

  write('README.md', 'more docs\n');
  write('dist/main.js', 'recompiled\n');
  expect(evaluate()).toBe(base);

  const seen = new Set([base]);
  for (const [file, text] of [
    ['src/grpc/server.ts', 'export const x = 2;\n'],
    ['proto/mcp_router.proto', 'syntax = "proto3"; // v2\n'],
    ['package.json', '{"name":"router","version":"2"}\n'],
    ['Dockerfile', 'FROM node:22-slim\n'],
    ['src/new-module.ts', 'export {};\n'],
  ]) {
    write(file, text);
    const h = evaluate();
    expect(seen.has(h)).toBe(false);
    seen.add(h);
  }

  fs.rmSync(path.join(app, 'src', 'new-module.ts'));
  expect(seen.has(evaluate())).toBe(true); // removing the file brings back the previous hash
}, 120_000);
