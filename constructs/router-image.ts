/**
 * The MCP router image, built by Docker from router-app/. The build is
 * re-triggered whenever a source file changes: the trigger is a Terraform
 * expression hashing the sources at plan time, so the plan (not a value baked
 * in at synth) notices every edit.
 */
import * as path from 'node:path';
import { Image } from '@cdktf/provider-docker/lib/image';
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { dockerfileTriggerGlobs, sourceHashExpression } from './build-trigger';
import { propError } from './validation';

export interface RouterImageProps {
  /**
   * Build context (router-app/), relative to the synthesized stack directory
   * (where Terraform runs) or absolute.
   * @default '../../../router-app' (the repo's router-app from cdktf.out/stacks/<stack>)
   */
  readonly contextPath?: string;
  /** Image name and tag. @default 'mcp-router:local' */
  readonly imageName?: string;
  /**
   * Files (globs, relative to the context) whose contents trigger a rebuild.
   * @default the files the context's Dockerfile copies (read at synth), plus the Dockerfile and .dockerignore
   */
  readonly sourceGlobs?: readonly string[];
}

/** The router's build inputs when its Dockerfile can't be read at synth. */
export const DEFAULT_ROUTER_SOURCE_GLOBS = ['src/**', 'proto/**', 'package.json', 'tsconfig.json', 'Dockerfile', '.dockerignore'] as const;

/** router-app/ of this package, where the default build context points. */
export const ROUTER_APP_DIR = path.resolve(__dirname, '..', 'router-app');

/**
 * Where a build context given relative to the synthesized stack directory is
 * on this machine at synth (cdktf writes stack `<id>` to `<outdir>/stacks/<id>`).
 */
export function contextDirAtSynth(scope: Construct, contextPath: string, packageDir: string, defaultPath: string): string {
  if (path.isAbsolute(contextPath)) return contextPath;
  if (contextPath === defaultPath) return packageDir;
  const app = App.of(scope) as App & { outdir?: string };
  return path.resolve(app.outdir ?? 'cdktf.out', 'stacks', TerraformStack.of(scope).node.id, contextPath);
}

export class RouterImage extends Construct {
  public readonly image: Image;
  /** Image reference for containers (the built image's ID). */
  public readonly imageRef: string;
  /** Terraform expression of the sources' hash. */
  public readonly sourceHash: string;

  constructor(scope: Construct, id: string, props: RouterImageProps = {}) {
    super(scope, id);
    const context = props.contextPath ?? '../../../router-app';
    if (typeof context !== 'string' || context.trim() === '' || context.includes('"') || context.includes('${')) {
      throw propError('RouterImage', 'contextPath', context, 'a non-empty directory path without quotes or ${');
    }
    const globs = props.sourceGlobs ?? dockerfileTriggerGlobs(contextDirAtSynth(this, context, ROUTER_APP_DIR, '../../../router-app')) ?? DEFAULT_ROUTER_SOURCE_GLOBS;
    if (!Array.isArray(globs) || globs.length === 0 || globs.some((g) => typeof g !== 'string' || g === '' || g.includes('"'))) {
      throw propError('RouterImage', 'sourceGlobs', globs, 'a non-empty list of glob patterns');
    }
    const dir = context.startsWith('/') ? context : `\${path.module}/${context}`;
    this.sourceHash = sourceHashExpression(dir, globs);
    this.image = new Image(this, 'Image', {
      name: props.imageName ?? 'mcp-router:local',
      keepLocally: true,
      buildAttribute: { context: dir, dockerfile: 'Dockerfile' },
      triggers: { source_sha1: this.sourceHash },
    });
    this.imageRef = this.image.imageId;
  }
}
