/**
 * A router's V8 heap follows its memory limit: the image's CMD carries flags sized for the
 * default 256 MiB, and a router given another limit (routerMemoryMb, routerSecurity.memoryMb,
 * swarm.routerResources.limitMemoryMb) runs that CMD with both flags scaled
 * (constructs/router-heap.ts). What the scaled flags do to a running router's memory is
 * `npm run bench:memory` (the "image flags scaled to a … MiB limit" rows).
 */
import fc from 'fast-check';
import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { DeploymentTarget, RouterService } from '../../constructs';
import { scaleHeapFlags } from '../../constructs/router-heap';
import { RouterFleet, ROUTER_COMMAND, routerCommandFor } from '../../constructs/router-fleet';
import { byPath, synthApp, synthStack } from './synth-helpers';

const flagsOf = (command: readonly string[]) => ({
  old: Number(/--max-old-space-size=(\d+)/.exec(command.join(' '))![1]),
  semi: Number(/--max-semi-space-size=(\d+)/.exec(command.join(' '))![1]),
});
const router = (json: any) => byPath(json, 'docker_container', 'Routers/Router');
const swarmRouter = (json: any) => byPath(json, 'docker_service', 'Platform/Routers/Service');

test('the default limit runs the image\'s CMD as it is; other limits scale both flags, the semi-space never above the image\'s', () => {
  expect(flagsOf(ROUTER_COMMAND)).toEqual({ old: 96, semi: 16 });
  expect(routerCommandFor(256)).toBeUndefined();
  expect(routerCommandFor(0)).toBeUndefined();
  expect(routerCommandFor(undefined)).toBeUndefined();
  // A limit given as a token is unknown until apply: the image's flags.
  expect(routerCommandFor(new TerraformVariable(new TerraformStack(Testing.app(), 's'), 'mem', { type: 'number' }).numberValue)).toBeUndefined();
  expect(routerCommandFor(128)).toEqual(['node', '--max-semi-space-size=8', '--max-old-space-size=48', 'dist/main.js']);
  expect(routerCommandFor(512)).toEqual(['node', '--max-semi-space-size=16', '--max-old-space-size=192', 'dist/main.js']);
  expect(flagsOf(routerCommandFor(6)!)).toEqual({ old: 2, semi: 1 });
  expect(() => scaleHeapFlags(['node', 'dist/main.js'], 128, 256)).toThrow('must carry --max-old-space-size and --max-semi-space-size');
});

test('property: the old-space cap grows with the limit and stays at 3/8 of it; the semi-space stays within 1 and the image\'s 16', () => {
  fc.assert(
    fc.property(fc.integer({ min: 6, max: 1_048_576 }), fc.integer({ min: 6, max: 1_048_576 }), (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      const f = (mb: number) => flagsOf(routerCommandFor(mb) ?? ROUTER_COMMAND);
      expect(f(lo).old).toBeLessThanOrEqual(f(hi).old);
      expect(Math.abs(f(hi).old - (hi * 3) / 8)).toBeLessThanOrEqual(0.5);
      for (const mb of [lo, hi]) {
        expect(f(mb).semi).toBeGreaterThanOrEqual(1);
        expect(f(mb).semi).toBeLessThanOrEqual(16);
      }
    }),
  );
});

test('a router limit below 128 MiB is refused at synth, named as it was given', () => {
  const SWARM = { target: DeploymentTarget.SWARM, publicBindAddress: '0.0.0.0' };
  const refusal = (prop: string, value: number) => `McpRouterPlatform: ${prop} must be 0 (no limit) or at least 128 MiB for a router: below that its V8 heap collects without pause (bench/FINDINGS.md §12); received ${value}`;
  expect(() => synthStack({ routerMemoryMb: 127 })).toThrow(refusal('routerMemoryMb', 127));
  expect(() => synthStack({ routerSecurity: { memoryMb: 64 } })).toThrow(refusal('routerSecurity.memoryMb', 64));
  expect(() => synthStack({ containerSecurity: { memoryMb: 100 } })).toThrow(refusal('containerSecurity.memoryMb', 100));
  expect(() => synthStack({ ...SWARM, swarm: { routerResources: { limitMemoryMb: 96 } } })).toThrow(refusal('swarm.routerResources.limitMemoryMb', 96));
  expect(() => synthStack({ ...SWARM, routerMemoryMb: 100 })).toThrow(refusal('routerMemoryMb', 100));
  // The routers' own limit wins over containerSecurity's: a small one for the other parts is fine.
  expect(router(synthStack({ containerSecurity: { memoryMb: 100 }, routerMemoryMb: 128 })).memory).toBe(128);
  // Two limits for the routers: the conflict is reported, not the size of one of them.
  expect(() => synthStack({ routerMemoryMb: 100, routerSecurity: { memoryMb: 512 } })).toThrow(/one memory limit/);
  // Below Docker's minimum, the general check speaks.
  expect(() => synthStack({ routerMemoryMb: 4 })).toThrow(/routerMemoryMb must be an integer from 6 to 1048576/);
});

test('the parts on their own refuse it too, under their own prop names', () => {
  const stack = new TerraformStack(Testing.app(), 's');
  const fleet = { instanceCount: 1, image: 'img', networkName: 'n', consulHost: 'consul' };
  expect(() => new RouterFleet(stack, 'A', { ...fleet, memoryMb: 100 })).toThrow('RouterFleet: memoryMb must be 0 (no limit) or at least 128 MiB for a router');
  expect(() => new RouterFleet(stack, 'B', { ...fleet, security: { memoryMb: 64 } })).toThrow('RouterFleet: security.memoryMb must be 0 (no limit) or at least 128 MiB for a router');
  const service = { ...fleet, subnet: '10.0.0.0/24' };
  expect(() => new RouterService(stack, 'C', { ...service, resources: { limitMemoryMb: 100 } })).toThrow('RouterService: resources.limitMemoryMb must be 0 (no limit) or at least 128 MiB for a router');
  expect(() => new RouterService(stack, 'D', { ...service, security: { memoryMb: 96 } })).toThrow('RouterService: security.memoryMb must be 0 (no limit) or at least 128 MiB for a router');
  expect(() => new RouterService(stack, 'E', { ...service, resources: { limitMemoryMb: 128 } })).not.toThrow();
});

test('a limit given as a token keeps the image\'s flags, and synth says so as a warning', () => {
  const stack = new TerraformStack(Testing.app(), 's');
  const mem = new TerraformVariable(stack, 'mem', { type: 'number' });
  const fleet = new RouterFleet(stack, 'Routers', { instanceCount: 1, image: 'img', networkName: 'n', consulHost: 'consul', memoryMb: mem.numberValue });
  const json = JSON.parse(Testing.synth(stack));
  expect(Object.values(json.resource.docker_container as Record<string, any>)[0].command).toBeUndefined();
  expect(fleet.node.metadata.filter((m) => /warn/i.test(m.type)).map((m) => String(m.data))).toEqual([expect.stringMatching(/^memoryMb is a token \(known at apply only\): the routers keep the image's V8 heap flags, sized for 256 MiB/)]);
  const literal = new RouterFleet(stack, 'Sized', { instanceCount: 1, image: 'img', networkName: 'n', consulHost: 'consul', memoryMb: 512 });
  expect(literal.node.metadata.filter((m) => /warn/i.test(m.type))).toEqual([]);
});

describe('in the plan', () => {
  test('the default router container gets no command (the image\'s CMD runs); routerMemoryMb 128 gets the scaled one', () => {
    expect(router(synthStack({})).command).toBeUndefined();
    const sized = router(synthStack({ routerMemoryMb: 128 }));
    expect(sized.memory).toBe(128);
    expect(sized.command).toEqual(routerCommandFor(128));
  });

  test('routerSecurity.memoryMb is the same limit; 0 (no limit) leaves the image\'s flags', () => {
    expect(router(synthStack({ routerSecurity: { memoryMb: 1024 } })).command).toEqual(['node', '--max-semi-space-size=16', '--max-old-space-size=384', 'dist/main.js']);
    expect(router(synthStack({ routerMemoryMb: 0 })).command).toBeUndefined();
  });

  test('with a Consul token (the ACL layout) the entrypoint runs the scaled command, and the image\'s CMD at the default limit', () => {
    expect(router(synthApp({ routerMemoryMb: 192 }).platform).command).toEqual(routerCommandFor(192));
    expect(router(synthApp({}).platform).command).toEqual([...ROUTER_COMMAND]);
  });

  test('Swarm: the task\'s args carry the scaled command for its memory limit, none at the default', () => {
    const SWARM = { target: DeploymentTarget.SWARM, publicBindAddress: '0.0.0.0' };
    expect(swarmRouter(synthStack(SWARM)).task_spec.container_spec.args).toBeUndefined();
    const sized = swarmRouter(synthStack({ ...SWARM, routerMemoryMb: 128 }));
    expect(sized.task_spec.resources.limits.memory_bytes).toBe(128 * 1024 * 1024);
    expect(sized.task_spec.container_spec.args).toEqual(routerCommandFor(128));
    expect(swarmRouter(synthStack({ ...SWARM, swarm: { routerResources: { limitMemoryMb: 512 } } })).task_spec.container_spec.args).toEqual(routerCommandFor(512));
    // 0 is no limit, as on the host target: no memory or CPU limit on the task, the image's flags.
    const unlimited = swarmRouter(synthStack({ ...SWARM, routerMemoryMb: 0, routerCpus: 0 }));
    expect(unlimited.task_spec.resources?.limits).toBeUndefined();
    expect(unlimited.task_spec.container_spec.args).toBeUndefined();
  });
});
