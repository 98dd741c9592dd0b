/**
 * The MCP router image, built by Docker from router-app/. The build is
 * re-triggered whenever a source file changes: the trigger is a Terraform
 * expression hashing the sources at plan time, so the plan (not a value baked
 * in at synth) notices every edit.
 */
import * as path from 'node:path';
import { Image } from '@cdktf/provider-docker/lib/image';
import { Construct } from 'constructs';
import { contextDirAtSynth, PACKAGE_DIR, shippedContext } from './build-context';
import { dockerfileTriggerGlobs, sourceHashExpression } from './build-trigger';
import { isUnresolved, propError } from './validation';

export interface RouterImageProps {
  /**
   * Build context: a directory with a Dockerfile, relative to the synthesized
   * stack directory (`cdktf.out/stacks/<stack>`, where Terraform runs) or absolute.
   * @default the router-app/ shipped in this package, by a path relative from the
   * stack directory computed at synth (under a jsii host such as Python: a copy in
   * the stack's assets)
   */
  readonly contextPath?: string;
  /** Image name and tag. @default 'mcp-router:local' */
  readonly imageName?: string;
  /**
   * Files (globs, relative to the context) whose contents trigger a rebuild.
   * @default the files the context's Dockerfile copies (read at synth), plus the Dockerfile and .dockerignore
   */
  readonly sourceGlobs?: string[];
  /**
   * Base image of the build (the Dockerfile's NODE_IMAGE build argument): any Node 20 image
   * with the `node` user (uid 1000), e.g. your registry's mirror of node:20-slim, best pinned
   * by digest (`name@sha256:...`) so that every build starts from the same bytes.
   * @default NODE_BASE_IMAGE: node:20-slim pinned by digest (the Dockerfile's own default)
   */
  readonly baseImage?: string;
}

/**
 * node:20-slim (Node 20.20.2, Debian bookworm) pinned by the digest of its multi-platform
 * index, the Dockerfiles' NODE_IMAGE default, so a build is reproducible: the same base
 * bytes, and `npm ci` against the lockfile. Update it with the Dockerfiles' ARG line
 * (`docker buildx imagetools inspect node:20-slim` prints the current digest).
 */
export const NODE_BASE_IMAGE = 'node:20-slim@sha256:1e85773c98c31d4fe5b545e4cb17379e617b348832fb3738b22a08f68dec30f3';

/** A base image reference: `name[:tag][@sha256:<64 hex>]`, no spaces or quotes (or a token). */
export function validateBaseImage(construct: string, value: string | undefined, prop = 'baseImage'): void {
  if (value === undefined || isUnresolved(value)) return;
  if (typeof value !== 'string' || !/^[a-z0-9][a-z0-9._\/:-]*(@sha256:[0-9a-f]{64})?$/.test(value)) {
    throw propError(construct, prop, value, 'an image reference such as node:20-slim or my-mirror/node:20-slim@sha256:<64 hex digits>');
  }
}

/** The router's build inputs when its Dockerfile can't be read at synth. */
export const DEFAULT_ROUTER_SOURCE_GLOBS: readonly string[] = ['src/**', 'proto/**', 'package.json', 'package-lock.json', 'tsconfig.json', 'Dockerfile', '.dockerignore'];

/** router-app/ of this package, the default build context. */
export const ROUTER_APP_DIR = path.join(PACKAGE_DIR, 'router-app');

export class RouterImage extends Construct {
  public readonly image: Image;
  /** Image reference for containers (the built image's ID). */
  public readonly imageRef: string;
  /** Terraform expression of the sources' hash. */
  public readonly sourceHash: string;

  constructor(scope: Construct, id: string, props: RouterImageProps = {}) {
    super(scope, id);
    const context = props.contextPath;
    if (context !== undefined && (typeof context !== 'string' || context.trim() === '' || context.includes('"') || context.includes('${'))) {
      throw propError('RouterImage', 'contextPath', context, 'a non-empty directory path without quotes or ${');
    }
    const globs = props.sourceGlobs ?? dockerfileTriggerGlobs(context === undefined ? ROUTER_APP_DIR : contextDirAtSynth(this, context)) ?? [...DEFAULT_ROUTER_SOURCE_GLOBS];
    if (!Array.isArray(globs) || globs.length === 0 || globs.some((g) => typeof g !== 'string' || g === '' || g.includes('"'))) {
      throw propError('RouterImage', 'sourceGlobs', globs, 'a non-empty list of glob patterns');
    }
    validateBaseImage('RouterImage', props.baseImage);
    const dir = context === undefined ? shippedContext(this, 'Context', ROUTER_APP_DIR) : path.isAbsolute(context) ? context : `\${path.module}/${context}`;
    this.sourceHash = sourceHashExpression(dir, globs);
    this.image = new Image(this, 'Image', {
      name: props.imageName ?? 'mcp-router:local',
      keepLocally: true,
      buildAttribute: { context: dir, dockerfile: 'Dockerfile', buildArgs: { NODE_IMAGE: props.baseImage ?? NODE_BASE_IMAGE } },
      triggers: { source_sha1: this.sourceHash },
    });
    this.imageRef = this.image.imageId;
  }
}
