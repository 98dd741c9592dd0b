/**
 * Where the images' build contexts are, for the plan and at synth.
 *
 * The package ships its build contexts (router-app/, examples/demo-mcp-server/).
 * The plan refers to one by a path relative to the synthesized stack directory
 * (`${path.module}/<relative path>`), computed at synth from where cdktf writes
 * the stack and where this package is installed, so the plan holds no absolute
 * path: `../../../node_modules/mcp-router-platform/router-app` in a project with
 * the default cdktf.out, `../../../router-app` in this repository.
 *
 * Under a jsii host (Python and the other jsii languages: JSII_AGENT is set),
 * the package's JavaScript runs from a copy the jsii runtime unpacks into a
 * temporary directory or a cache, not from the user's project; a path into it
 * would not outlive the synth. There the context is copied into the stack's
 * own assets (cdktf's TerraformAsset), so cdktf.out carries it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, AssetType, TerraformAsset, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';

/** The nearest directory above `from` with a package.json: this package's root, from lib/constructs/ (installed) or constructs/ (this repository). */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`mcp-router-platform: no package.json above ${from}`);
  }
}

/** This package's root directory. */
export const PACKAGE_DIR = packageRoot();

/** Where cdktf writes the scope's stack at synth (`<app outdir>/stacks/<stack id>`), absolute. */
export function stackDirAtSynth(scope: Construct): string {
  const app = App.of(scope) as App & { outdir?: string };
  return path.resolve(app.outdir ?? 'cdktf.out', 'stacks', TerraformStack.of(scope).node.id);
}

/** Where a build context given relative to the stack directory (or absolute) is on this machine at synth. */
export function contextDirAtSynth(scope: Construct, contextPath: string): string {
  return path.isAbsolute(contextPath) ? contextPath : path.resolve(stackDirAtSynth(scope), contextPath);
}

/** True when a jsii host (Python, Java, .NET, Go) runs this package. */
export function underJsiiHost(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.JSII_AGENT);
}

/**
 * A build context this package ships (`dir`, absolute), as the plan's path
 * expression: relative from the stack directory, or a copy in the stack's
 * assets under a jsii host. `id` names the asset construct under `scope`.
 */
export function shippedContext(scope: Construct, id: string, dir: string): string {
  if (underJsiiHost()) {
    const asset = new TerraformAsset(scope, id, { path: dir, type: AssetType.DIRECTORY });
    return `\${path.module}/${asset.path.replace(/\/+$/, '')}`;
  }
  const relative = path.relative(stackDirAtSynth(scope), dir);
  // Another drive (Windows) has no relative path: the absolute one is all there is.
  if (path.isAbsolute(relative)) return relative.split(path.sep).join('/');
  return `\${path.module}/${relative.split(path.sep).join('/')}`;
}
