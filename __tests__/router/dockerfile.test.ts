/**
 * The router image's Dockerfile agrees with how the constructs run it
 * (command, ports, env, healthcheck) and with what the router accepts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENV_VARIABLES, loadConfig } from '../../router-app/src/config';
import { byPath, synthStack } from '../foundation/synth-helpers';
import { NODE_BASE_IMAGE } from '../../constructs/router-image';

const dockerfile = fs.readFileSync(path.resolve(__dirname, '..', '..', 'router-app', 'Dockerfile'), 'utf8');
const lines = dockerfile.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
const router = byPath(synthStack(), 'docker_container', 'Routers/Router');

test('multi-stage, production dependencies only, non-root user', () => {
  const froms = lines.filter((l) => l.startsWith('FROM '));
  expect(froms.length).toBe(2);
  const stage = /^FROM \S+ AS (\S+)$/i.exec(froms[0])?.[1];
  expect(stage).toBeDefined();
  expect(runtime).toContain(`--from=${stage}`);
  expect(runtime).not.toMatch(/^COPY src /m); // sources stay in the build stage
  // Both stages install from the shipped lockfile: the versions the tests ran against.
  expect(runtime).toMatch(/^COPY package\.json package-lock\.json \.\/$/m);
  expect(runtime).toContain('npm ci --omit=dev');
  expect(dockerfile.slice(0, dockerfile.lastIndexOf('\nFROM '))).toMatch(/^COPY package\.json package-lock\.json tsconfig\.json \.\/\nRUN npm ci /m);
  expect(runtime).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
  expect(runtime).toMatch(/^COPY proto \.\/proto$/m);
  const user = /^USER (\S+)$/m.exec(runtime)?.[1];
  expect(user).toBeDefined();
  expect(user).not.toMatch(/^(root|0)$/);
});

test('both stages build FROM the NODE_IMAGE build argument, whose default is node:20-slim pinned by digest, the same as the constructs pass', () => {
  for (const file of ['router-app/Dockerfile', 'examples/demo-mcp-server/Dockerfile']) {
    const text = fs.readFileSync(path.resolve(__dirname, '..', '..', file), 'utf8');
    const code = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
    // An ARG before the first FROM is what makes it usable in FROM lines.
    expect(code[0]).toBe(`ARG NODE_IMAGE=${NODE_BASE_IMAGE}`);
    expect(NODE_BASE_IMAGE).toMatch(/^node:20-slim@sha256:[0-9a-f]{64}$/);
    const froms = code.filter((l) => l.startsWith('FROM '));
    expect(froms.length).toBe(2);
    for (const from of froms) expect(from).toMatch(/^FROM \$\{NODE_IMAGE\}( AS \S+)?$/);
  }
});

test('EXPOSE is 50051 (gRPC) and 9464 (admin) and matches the ports the construct gives the router', () => {
  const exposed = /^EXPOSE (.+)$/m.exec(runtime)![1].trim().split(/\s+/).map(Number);
  expect(exposed.sort()).toEqual([50051, 9464].sort());
  const env = Object.fromEntries((router.env as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  expect(Number(env.MCP_ROUTER_PORT)).toBe(50051);
  expect(Number(env.MCP_ROUTER_METRICS_PORT)).toBe(9464);
  expect(exposed).toEqual(expect.arrayContaining([Number(env.MCP_ROUTER_PORT), Number(env.MCP_ROUTER_METRICS_PORT)]));
});

test('the construct sets only variables the router reads, with values it accepts', () => {
  const env = Object.fromEntries((router.env as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  for (const key of Object.keys(env)) expect(ENV_VARIABLES).toContain(key);
  const config = loadConfig(env); // throws ConfigError naming any bad value
  expect(config.consul.host).toBe('mcp-consul');
  expect(config.port).toBe(50051);
});

test('healthcheck and command are the same in the image and the construct', () => {
  const hc = /^HEALTHCHECK .* CMD (\[.*\])$/m.exec(runtime)![1];
  expect(JSON.parse(hc)).toEqual(['node', 'dist/healthcheck.js']);
  expect(JSON.parse(hc)).toEqual(router.healthcheck.test.slice(1));
  expect(router.healthcheck.test[0]).toBe('CMD');
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(runtime)![1]) as string[];
  expect(cmd[0]).toBe('node');
  expect(cmd[cmd.length - 1]).toBe('dist/main.js');
  // The container runs the image's CMD (or an equivalent one), never something else.
  expect(router.entrypoint).toBeUndefined();
  if (router.command !== undefined) expect(router.command[router.command.length - 1]).toBe('dist/main.js');
  expect(fs.existsSync(path.resolve(__dirname, '..', '..', 'router-app', 'src', 'main.ts'))).toBe(true);
  expect(fs.existsSync(path.resolve(__dirname, '..', '..', 'router-app', 'src', 'healthcheck.ts'))).toBe(true);
});
