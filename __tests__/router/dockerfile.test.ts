/**
 * The router image's Dockerfile agrees with how the constructs run it
 * (command, ports, env, healthcheck) and with what the router accepts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENV_VARIABLES, loadConfig } from '../../router-app/src/config';
import { byPath, synthStack } from '../foundation/synth-helpers';

const dockerfile = fs.readFileSync(path.resolve(__dirname, '..', '..', 'router-app', 'Dockerfile'), 'utf8');
const lines = dockerfile.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
const router = byPath(synthStack(), 'docker_container', 'Routers/Router');

test('multi-stage, production dependencies only, non-root user', () => {
  expect(lines.filter((l) => l.startsWith('FROM ')).length).toBe(2);
  expect(runtime).toContain('npm install --omit=dev');
  expect(runtime).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
  expect(runtime).toMatch(/^COPY proto \.\/proto$/m);
  const user = /^USER (\S+)$/m.exec(runtime)?.[1];
  expect(user).toBeDefined();
  expect(user).not.toMatch(/^(root|0)$/);
});

test('EXPOSE matches the ports the construct gives the router', () => {
  const exposed = /^EXPOSE (.+)$/m.exec(runtime)![1].split(/\s+/).map(Number);
  const env = Object.fromEntries((router.env as string[]).map((e) => e.split('=')));
  expect(exposed).toEqual(expect.arrayContaining([Number(env.MCP_ROUTER_PORT), Number(env.MCP_ROUTER_METRICS_PORT)]));
});

test('the construct sets only variables the router reads, with values it accepts', () => {
  const env = Object.fromEntries((router.env as string[]).map((e) => e.split('=')));
  for (const key of Object.keys(env)) expect(ENV_VARIABLES).toContain(key);
  const config = loadConfig(env);
  expect(config.consul.host).toBe('mcp-consul');
  expect(config.port).toBe(50051);
});

test('healthcheck and command are the same in the image and the construct', () => {
  const hc = /^HEALTHCHECK .* CMD (\[.*\])$/m.exec(runtime)![1];
  expect(JSON.parse(hc)).toEqual(router.healthcheck.test.slice(1));
  expect(router.healthcheck.test[0]).toBe('CMD');
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(runtime)![1]) as string[];
  expect(cmd[0]).toBe('node');
  expect(cmd[cmd.length - 1]).toBe('dist/main.js');
  expect(fs.existsSync(path.resolve(__dirname, '..', '..', 'router-app', 'src', 'main.ts'))).toBe(true);
  expect(fs.existsSync(path.resolve(__dirname, '..', '..', 'router-app', 'src', 'healthcheck.ts'))).toBe(true);
});
