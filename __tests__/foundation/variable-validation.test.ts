/**
 * The instanceCount variable's validation block, evaluated by real Terraform
 * (1.11 on the machine). The configuration holds only the variable, taken
 * from the synthesized plan, so no provider is needed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { synthStack } from './synth-helpers';

function terraformBinary(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v terraform'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('terraform is not on PATH: this test evaluates the instanceCount validation with a real Terraform (>= 1.5). Install Terraform and re-run.');
  }
}

const terraform = terraformBinary();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-var-'));
const env = { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' };

beforeAll(() => {
  const plan = synthStack();
  fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({ variable: plan.variable, output: { instance_count: { value: '${var.instanceCount}' } } }));
  execFileSync(terraform, ['init', '-backend=false', '-input=false', '-no-color'], { cwd: dir, env, stdio: 'pipe' });
});

function plan(value: string) {
  const r = spawnSync(terraform, ['plan', '-input=false', '-no-color', '-var', `instanceCount=${value}`], { cwd: dir, env, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test.each(['0', '-1', '2.5', '11', '100'])('instanceCount=%s is rejected at plan with the allowed range', (value) => {
  const r = plan(value);
  expect(r.status).not.toBe(0);
  expect(r.out).toContain('Invalid value for variable');
  expect(r.out.replace(/\s+/g, ' ')).toContain('instanceCount must be a whole number from 1 to 10');
});

test('a non-number is rejected by the type', () => {
  const r = plan('five');
  expect(r.status).not.toBe(0);
  expect(r.out).toMatch(/number is required|a number is required|Invalid value for input variable/i);
});

test.each(['1', '5', '10'])('instanceCount=%s passes', (value) => {
  const r = plan(value);
  expect(r.out).toContain(`instance_count = ${value}`);
  expect(r.status).toBe(0);
});
