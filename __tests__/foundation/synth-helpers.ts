import * as fs from 'node:fs';
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

/**
 * Synthesizes the one-stack layout (ACLs off unless `acl: true` is passed, when the platform
 * stack is returned), with a fixed Docker host so snapshots do not depend on DOCKER_HOST.
 */
export function synthStack(props: McpRouterStackProps = {}): any {
  return JSON.parse(synthString(props));
}

export function synthString(props: McpRouterStackProps = {}): string {
  const app: App = Testing.app({ outdir: REPO_OUTDIR });
  const stack = new McpRouterStack(app, 'test', { dockerHost: 'unix:///var/run/docker.sock', acl: false, ...props });
  return Testing.synth(stack);
}

/**
 * Both plans of the two-stack layout (ACLs on by default), as the app's synthesis writes them
 * (cross-stack outputs and remote state included): the Consul stack's and the platform's. The
 * app is written beside cdktf.out (same depth, so the build contexts read as in cdktf.out) and
 * removed.
 */
export function synthApp(props: McpRouterStackProps = {}): { consul: any; platform: any; consulText: string; platformText: string } {
  const outdir = fs.mkdtempSync(`${REPO_OUTDIR}.synth-app-`);
  try {
    const app = new App({ outdir, skipValidation: false });
    const stack = new McpRouterStack(app, 'test', { dockerHost: 'unix:///var/run/docker.sock', ...props });
    if (!stack.consulStack) throw new Error('synthApp: this layout has no Consul stack (acl: false and no external servers)');
    app.synth();
    const read = (id: string) => fs.readFileSync(path.join(outdir, 'stacks', id, 'cdk.tf.json'), 'utf8');
    const platformText = read('test');
    const consulText = read(stack.consulStack.node.id);
    return { consul: JSON.parse(consulText), platform: JSON.parse(platformText), consulText, platformText };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

export const containers = (json: any) => json.resource.docker_container as Record<string, any>;
export const byPath = (json: any, type: string, suffix: string) => {
  const all = json.resource[type] as Record<string, any>;
  const key = suffix.replace(/\//g, '_') + '_';
  const hits = Object.keys(all ?? {}).filter((k) => k.includes(key));
  if (hits.length !== 1) throw new Error(`expected one ${type} named *${key}*; have ${Object.keys(all ?? {}).join(', ')}`);
  return all[hits[0]];
};

/** A variable of a container's `env` (without its name), or an error naming what is there. */
export function envOf(container: any, name: string): string {
  const entry = ((container.env ?? []) as string[]).find((e) => e.startsWith(`${name}=`));
  if (entry === undefined) throw new Error(`no ${name} in the container's env (has ${((container.env ?? []) as string[]).map((e) => e.split('=')[0]).join(', ')})`);
  return entry.slice(name.length + 1);
}

/** The haproxy.cfg a HAProxy container runs: its MCP_HAPROXY_CONFIG, which the entrypoint writes to /run/haproxy/haproxy.cfg. */
export const haproxyCfgOf = (container: any): string => envOf(container, 'MCP_HAPROXY_CONFIG');

/** The agent config a Consul container runs: its CONSUL_LOCAL_CONFIG, which the image's entrypoint writes to /consul/config/local.json. */
export const consulCfgOf = (container: any): string => envOf(container, 'CONSUL_LOCAL_CONFIG');
