/**
 * Evaluates the Terraform expressions of a synthesized plan (cdk.tf.json) with the
 * real `terraform` binary, so the plan applier never re-implements HCL: each
 * templated string becomes an `output` of a scratch configuration that also holds
 * the plan's `variable` blocks (their validations run, so a bad variable fails
 * here as at `terraform plan`), and `terraform apply` on that configuration —
 * no provider, no resource, nothing leaves the machine — computes the values.
 *
 * References the scratch configuration cannot see are replaced by HCL literals
 * before evaluation: resource attributes (from the applier's state), count.index
 * and path.module. Anything else unknown makes Terraform itself fail, and the
 * error names the plan attribute.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class PlanEvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanEvaluationError';
  }
}

/** True when a plan string is a Terraform template (has an interpolation or directive). */
export const isTemplate = (s: string): boolean => s.includes('${') || s.includes('%{');

/** A resource attribute reference in an expression: docker_image.X.image_id, docker_container.X[*].name, docker_container.X[2].id. */
export const REFERENCE_RE = /\b(docker_[a-z_]+|random_password|random_uuid)\.([A-Za-z0-9_-]+)(?:\[(\*|\d+)\])?\.([a-z_]+)\b/g;

/** HCL literal for a JSON-like value (HCL string escapes are a superset of what JSON.stringify emits for these values). */
export function hclLiteral(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(hclLiteral).join(', ')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)} = ${hclLiteral(v)}`).join(', ')}}`;
  }
  throw new PlanEvaluationError(`cannot express ${String(value)} as an HCL literal`);
}

export interface EvaluationRequest {
  /** Where the value comes from, for error messages, e.g. docker_container.X[1].name */
  readonly where: string;
  /** The plan string (a template) after reference substitution. */
  readonly template: string;
}

export interface TerraformEvaluatorOptions {
  /** The plan's `variable` blocks, copied verbatim (types, defaults, validations). */
  readonly variables: Record<string, unknown>;
  /** Values given for them (as `-var name=value`). */
  readonly values: Record<string, string | number | boolean>;
  /** terraform binary. @default `terraform` on PATH */
  readonly terraformBin?: string;
}

export class TerraformEvaluator {
  private readonly bin: string;

  constructor(private readonly options: TerraformEvaluatorOptions) {
    this.bin = options.terraformBin ?? 'terraform';
    for (const name of Object.keys(options.values)) {
      if (!(name in options.variables)) {
        throw new PlanEvaluationError(`variable "${name}" was given a value but the plan declares no such variable (declared: ${Object.keys(options.variables).join(', ') || 'none'})`);
      }
    }
  }

  /** Evaluates every request in one `terraform apply`; returns the values in order. */
  async evaluate(requests: readonly EvaluationRequest[]): Promise<unknown[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-eval-'));
    try {
      const output: Record<string, { value: string }> = {};
      requests.forEach((r, i) => (output[`e${i}`] = { value: r.template }));
      // An empty output set still evaluates the variables (and their validations).
      // Empty sections are left out: Terraform's JSON syntax reads `"output": {}` as a block without its label.
      const config: Record<string, unknown> = {};
      if (Object.keys(this.options.variables).length) config.variable = this.options.variables;
      if (requests.length) config.output = output;
      fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(config));
      // State (only these outputs) goes to the scratch dir's terraform.tfstate.
      const args = ['apply', '-auto-approve', '-input=false', '-no-color', '-lock=false'];
      for (const [k, v] of Object.entries(this.options.values)) args.push('-var', `${k}=${v}`);
      const env = { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' };
      try {
        await run(this.bin, args, { cwd: dir, env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
      } catch (err) {
        const e = err as { code?: string; stderr?: string; stdout?: string; message: string };
        if (e.code === 'ENOENT') {
          throw new PlanEvaluationError(`the plan applier evaluates the plan's expressions with Terraform, but '${this.bin}' is not installed (Terraform >= 1.5 on PATH)`);
        }
        const text = `${e.stderr ?? ''}${e.stdout ?? ''}`;
        const m = /on main\.tf\.json line \d+, in output[ .]"?e(\d+)"?/.exec(text);
        const where = m ? requests[Number(m[1])]?.where : undefined;
        // Terraform's own words from the first error on, without the echoed source lines.
        const from = text.indexOf('Error:');
        const summary = (from >= 0 ? text.slice(from) : text)
          .split('\n')
          .map((l) => l.replace(/^[│╷╵]\s?/, '').trim())
          .filter((l) => l && !/^\d+: /.test(l) && !/^on main\.tf\.json line/.test(l))
          .join(' / ')
          .slice(0, 1200);
        throw new PlanEvaluationError(`${where ? `${where}: ` : ''}Terraform could not evaluate the plan: ${summary || text.trim() || e.message}`);
      }
      const { stdout } = await run(this.bin, ['output', '-json'], { cwd: dir, env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
      const values = JSON.parse(stdout) as Record<string, { value: unknown }>;
      return requests.map((_, i) => values[`e${i}`]?.value);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
