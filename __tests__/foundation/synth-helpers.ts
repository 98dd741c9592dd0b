import * as path from 'node:path';
import { App, Testing } from 'cdktf';
import { McpRouterStack, McpRouterStackProps } from '../../main';

/**
 * The app's output directory as `cdktf synth` has it: cdktf.out at the repo
 * root. The build contexts' paths in the plan are relative from the stack dir
 * to the package, so they read `${path.module}/../../../router-app` here, as
 * in the plans cdktf writes. (Testing.synth writes no file.)
 */
export const REPO_OUTDIR = path.resolve(__dirname, '..', '..', 'cdktf.out');

/** Synthesizes a stack (with a fixed Docker host so snapshots do not depend on DOCKER_HOST). */
export function synthStack(props: McpRouterStackProps = {}): any {
  return JSON.parse(synthString(props));
}

export function synthString(props: McpRouterStackProps = {}): string {
  const app: App = Testing.app({ outdir: REPO_OUTDIR });
  const stack = new McpRouterStack(app, 'test', { dockerHost: 'unix:///var/run/docker.sock', ...props });
  return Testing.synth(stack);
}

export const containers = (json: any) => json.resource.docker_container as Record<string, any>;
export const byPath = (json: any, type: string, suffix: string) => {
  const all = json.resource[type] as Record<string, any>;
  const key = suffix.replace(/\//g, '_') + '_';
  const hits = Object.keys(all ?? {}).filter((k) => k.includes(key));
  if (hits.length !== 1) throw new Error(`expected one ${type} named *${key}*; have ${Object.keys(all ?? {}).join(', ')}`);
  return all[hits[0]];
};
