/**
 * `npx cdktf synth` — the real CLI running main.ts through ts-node — works on a
 * machine with no Docker daemon and no Terraform providers, and its output holds
 * no absolute path: the local state path and the build contexts are relative to
 * the stack dir. (The output dir is a fresh one at the repo root, where cdktf.out
 * is: the build contexts' relative paths are computed from where the stack is
 * written, so a plan written elsewhere would climb out to the repo instead.)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '..', '..');

const outDirs: string[] = [];
afterAll(() => {
  for (const d of outDirs) fs.rmSync(d, { recursive: true, force: true });
});

test('cdktf synth with no Docker daemon writes a provider-free, machine-independent plan', () => {
  const out = fs.mkdtempSync(path.join(repo, 'cdktf.out.cli-synth-'));
  outDirs.push(out);
  const env = { ...process.env, CHECKPOINT_DISABLE: '1', DOCKER_HOST: 'unix:///nonexistent/docker.sock', CI: '1' };
  const r = spawnSync('npx', ['cdktf', 'synth', '--output', out], { cwd: repo, env, encoding: 'utf8', timeout: 180_000 });
  // ACLs are on by default: the Consul stack (network, servers) first, then the platform.
  expect(`${r.stdout}${r.stderr}`).toContain('Generated Terraform code for the stacks: mcp-router-consul, mcp-router-platform');
  expect(r.status).toBe(0);
  const text = fs.readFileSync(path.join(out, 'stacks', 'mcp-router-platform', 'cdk.tf.json'), 'utf8');
  const plan = JSON.parse(text);
  expect(plan.terraform.backend.local.path).toBe('../../../terraform.mcp-router-platform.tfstate');
  expect(plan.provider.docker[0].host).toBe('unix:///nonexistent/docker.sock');
  expect(plan.variable.instanceCount.type).toBe('number');
  const stackDir = path.join(out, 'stacks', 'mcp-router-platform');
  const image = Object.values(plan.resource.docker_image as Record<string, any>).find((i) => i.build);
  expect(image.build.context).toBe('${path.module}/../../../router-app');
  expect(fs.existsSync(path.join(image.build.context.replace('${path.module}', stackDir), 'Dockerfile'))).toBe(true);
  const consulText = fs.readFileSync(path.join(out, 'stacks', 'mcp-router-consul', 'cdk.tf.json'), 'utf8');
  const consulPlan = JSON.parse(consulText);
  expect(consulPlan.terraform.backend.local.path).toBe('../../../terraform.mcp-router-consul.tfstate');
  expect(consulPlan.provider.docker[0].host).toBe('unix:///nonexistent/docker.sock');
  // The platform reads the Consul stack's state through a relative path, like its own.
  expect(plan.data.terraform_remote_state['cross-stack-reference-input-mcp-router-consul'].config.path).toBe('../../../terraform.mcp-router-consul.tfstate');
  for (const t of [text, consulText]) {
    expect(t).not.toContain(repo);
    expect(t).not.toMatch(/"\/(home|root|work|tmp|Users)\//);
  }
}, 200_000);
