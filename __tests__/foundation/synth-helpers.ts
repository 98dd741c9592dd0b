import { App, Testing } from 'cdktf';
import { McpRouterStack, McpRouterStackProps } from '../../main';

/** Synthesizes a stack (with a fixed Docker host so snapshots do not depend on DOCKER_HOST). */
export function synthStack(props: McpRouterStackProps = {}): any {
  const app: App = Testing.app();
  const stack = new McpRouterStack(app, 'test', { dockerHost: 'unix:///var/run/docker.sock', ...props });
  return JSON.parse(Testing.synth(stack));
}

export function synthString(props: McpRouterStackProps = {}): string {
  const app: App = Testing.app();
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
