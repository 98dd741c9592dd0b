/**
 * The MCP router image, built by Docker from router-app/. The build is
 * re-triggered whenever a source file changes: the trigger is a Terraform
 * expression hashing the sources at plan time, so the plan (not a value baked
 * in at synth) notices every edit.
 */
import { Image } from '@cdktf/provider-docker/lib/image';
import { Construct } from 'constructs';
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
  /** Files (globs, relative to the context) whose contents trigger a rebuild. @default src, proto, package.json, tsconfig.json, Dockerfile */
  readonly sourceGlobs?: readonly string[];
}

export const DEFAULT_ROUTER_SOURCE_GLOBS = ['src/**', 'proto/**', 'package.json', 'tsconfig.json', 'Dockerfile', '.dockerignore'] as const;

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
    const globs = props.sourceGlobs ?? DEFAULT_ROUTER_SOURCE_GLOBS;
    if (!Array.isArray(globs) || globs.length === 0 || globs.some((g) => typeof g !== 'string' || g === '' || g.includes('"'))) {
      throw propError('RouterImage', 'sourceGlobs', globs, 'a non-empty list of glob patterns');
    }
    const dir = context.startsWith('/') ? context : `\${path.module}/${context}`;
    const files = `sort(setunion(${globs.map((g) => `fileset("${dir}", "${g}")`).join(', ')}))`;
    this.sourceHash = `\${sha1(join(",", [for f in ${files} : "\${f}=\${filesha1("${dir}/\${f}")}"]))}`;
    this.image = new Image(this, 'Image', {
      name: props.imageName ?? 'mcp-router:local',
      keepLocally: true,
      buildAttribute: { context: dir, dockerfile: 'Dockerfile' },
      triggers: { source_sha1: this.sourceHash },
    });
    this.imageRef = this.image.imageId;
  }
}
