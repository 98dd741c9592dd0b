/**
 * An image's rebuild trigger, from the files its Dockerfile copies: one
 * helper for every image the package builds (router, demo MCP server), so an
 * edit to any file a build reads rebuilds it, and nothing else does.
 *
 * The Dockerfile is read at synth with a maintained parser (dockerfile-ast);
 * the trigger is a Terraform expression that hashes those files at plan
 * time, so the plan, not a value baked in at synth, notices every edit.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';

/**
 * Paths (relative to the build context) a Dockerfile's COPY and ADD read from
 * the context; copies from another stage (`--from`) are not the context's.
 * `.` stands for the whole context.
 */
export function copiedSources(dockerfile: string): string[] {
  const out = new Set<string>();
  for (const i of DockerfileParser.parse(dockerfile).getInstructions()) {
    const keyword = i.getKeyword();
    if (keyword !== 'COPY' && keyword !== 'ADD') continue;
    const inst = i as unknown as { getFlags(): Array<{ getName(): string }>; getJSONStrings?(): unknown[]; getArgumentsContent(): string | null; getArguments(): Array<{ getValue(): string }> };
    if (inst.getFlags().some((f) => f.getName() === 'from')) continue;
    // The JSON (exec) form is JSON: parse its text (the parser's own JSON values drop spaces inside strings).
    const json = (inst.getJSONStrings?.() ?? []).length > 0;
    const args: string[] = json ? (JSON.parse(inst.getArgumentsContent() ?? '[]') as string[]) : inst.getArguments().map((a) => a.getValue());
    for (const src of args.slice(0, -1)) {
      const clean = src.replace(/^\.\//, '').replace(/\/+$/, '');
      out.add(clean === '' || clean === '.' ? '.' : clean);
    }
  }
  return [...out].sort();
}

/**
 * The exec-form CMD of a Dockerfile (its last CMD, as the engine takes it), or undefined when it
 * has none in exec form. A container given an entrypoint loses its image's CMD, so the constructs
 * that wrap one (env-files.ts) run this command instead of a copy of it.
 */
export function dockerfileCommand(dockerfile: string): string[] | undefined {
  const cmds = DockerfileParser.parse(dockerfile).getInstructions().filter((i) => i.getKeyword() === 'CMD');
  const last = cmds[cmds.length - 1] as unknown as { getJSONStrings?(): unknown[]; getArgumentsContent(): string | null } | undefined;
  if (last === undefined || (last.getJSONStrings?.() ?? []).length === 0) return undefined;
  // As in copiedSources: parse the JSON text (the parser's own JSON values drop spaces inside strings).
  return JSON.parse(last.getArgumentsContent() ?? '[]') as string[];
}

/** dockerfileCommand of the Dockerfile in `contextDir` (a path on this machine); throws naming the file when it has no exec-form CMD. */
export function contextCommand(contextDir: string): string[] {
  const file = path.join(contextDir, 'Dockerfile');
  const cmd = dockerfileCommand(fs.readFileSync(file, 'utf8'));
  if (cmd === undefined) throw new Error(`${file}: no CMD in exec form (CMD ["node", ...]); the token entrypoint runs the image's CMD`);
  return cmd;
}

/** fileset() patterns for the sources (a file, or every file below a directory) plus the Dockerfile and .dockerignore. */
export function triggerGlobs(sources: readonly string[]): string[] {
  const globs = new Set<string>(['Dockerfile', '.dockerignore']);
  for (const s of sources) {
    if (s === '.') globs.add('**');
    else {
      globs.add(s);
      globs.add(`${s}/**`);
    }
  }
  return [...globs].sort();
}

/**
 * Terraform expression: sha1 over `<file>=<sha1>` of every file the globs match
 * under `dir` (a Terraform path expression such as `${path.module}/../x`, or
 * an absolute path), sorted, so it is stable and changes with any of them.
 */
export function sourceHashExpression(dir: string, globs: readonly string[]): string {
  const files = `sort(setunion(${globs.map((g) => `fileset("${dir}", "${g}")`).join(', ')}))`;
  return `\${sha1(join(",", [for f in ${files} : "\${f}=\${filesha1("${dir}/\${f}")}"]))}`;
}

/** The trigger globs of the Dockerfile in `contextDir` (a path on this machine), or undefined when it can't be read. */
export function dockerfileTriggerGlobs(contextDir: string): string[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(contextDir, 'Dockerfile'), 'utf8');
  } catch {
    return undefined;
  }
  return triggerGlobs(copiedSources(text));
}
