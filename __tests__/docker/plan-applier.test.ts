/**
 * The test-only plan applier refuses what it does not understand — before the
 * engine is touched (these plans point at a socket that does not exist) — and
 * evaluates the plan's expressions with the real Terraform: count, count.index,
 * the instanceCount variable's validation, the image trigger's functions.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'cdktf';
import { DeploymentTarget, HaproxyMode, SwarmPublishMode } from '../../constructs';
import { McpRouterStack, McpRouterStackProps } from '../../main';
import { DockerPlanApplier, serviceSpec } from '../support/docker-plan/docker-plan-applier';
import { checkPlan, PlanApplierError } from '../support/docker-plan/plan-schema';
import { TerraformEvaluator } from '../support/docker-plan/terraform-eval';

const REPO = path.resolve(__dirname, '..', '..');
const NO_ENGINE = 'unix:///nonexistent/docker.sock';

/**
 * The plan as `cdktf synth` writes it, in a stack dir three levels below the repo (its path.module):
 * synthesized there, since the build contexts' relative paths are computed from where the stack is written.
 */
function synth(props: McpRouterStackProps = {}): { plan: any; file: string } {
  const id = `applier${process.pid}${Math.random().toString(36).slice(2, 7)}`;
  const outdir = path.join(REPO, 'cdktf.out.docker-tests');
  // Made first: App and its manifest create them without `recursive`, which races with parallel workers.
  fs.mkdirSync(path.join(outdir, 'stacks'), { recursive: true });
  const app = new App({ outdir });
  // One stack (acl: false): this applier runs docker_* resources; the ACL layout is proven by the consul-acl suite.
  new McpRouterStack(app, id, { dockerHost: NO_ENGINE, localStatePath: false, acl: false, ...props });
  app.synth();
  const file = path.join(REPO, 'cdktf.out.docker-tests', 'stacks', id, 'cdk.tf.json');
  return { plan: JSON.parse(fs.readFileSync(file, 'utf8')), file };
}

const files: string[] = [];
afterAll(() => {
  for (const f of files) fs.rmSync(path.dirname(f), { recursive: true, force: true });
});

/** Applies `plan` (after `edit`) with the applier; returns the error it fails with. */
async function applyError(edit: (plan: any) => void, variables: Record<string, number> = { instanceCount: 1 }): Promise<Error> {
  const { plan, file } = synth({ demoBackends: ['demo'] });
  files.push(file);
  edit(plan);
  fs.writeFileSync(file, JSON.stringify(plan));
  const applier = new DockerPlanApplier({ planFile: file, stateId: 'never-applied' });
  return applier.apply({ variables }).then(
    () => {
      throw new Error('the apply succeeded');
    },
    (err: Error) => err,
  );
}

const key = (plan: any, type: string, part: string) => Object.keys(plan.resource[type]).find((k) => k.includes(part))!;

describe('refuses what it does not understand, naming the resource and the attribute', () => {
  test('an unknown container attribute', async () => {
    const err = await applyError((p) => (p.resource.docker_container[key(p, 'docker_container', 'Consul_Server_Container')].oom_kill_disable = true));
    expect(err).toBeInstanceOf(PlanApplierError);
    expect(err.message).toMatch(/^docker_container\.Platform_Consul_Server_Container_[A-Z0-9]+: attribute "oom_kill_disable" is not understood by the plan applier/);
  });

  test('an unknown attribute inside a block', async () => {
    const err = await applyError((p) => (p.resource.docker_container[key(p, 'docker_container', 'LoadBalancer_Container')].healthcheck.start_after = '1s'));
    expect(err.message).toMatch(/^docker_container\.Platform_LoadBalancer_Container_[A-Z0-9]+\.healthcheck\[0\]: attribute "start_after" is not understood/);
  });

  test('cpus, on which the pinned provider panics', async () => {
    const err = await applyError((p) => (p.resource.docker_container[key(p, 'docker_container', 'Routers_Router')].cpus = '1.5'));
    expect(err.message).toMatch(/Routers_Router_[A-Z0-9]+: attribute "cpus" is refused: the pinned provider \(kreuzwerker\/docker 3\.6\.2\) panics/);
  });

  test('a resource type it does not apply', async () => {
    const err = await applyError((p) => (p.resource.docker_volume = { Data: { name: 'v' } }));
    expect(err.message).toBe('docker_volume.Data: resource type "docker_volume" is not understood by the plan applier (known: docker_container, docker_image, docker_network, docker_service, docker_config, random_password, random_uuid)');
  });

  test('Swarm plans: an unknown docker_service attribute, one it refuses, a lifecycle other than create_before_destroy', async () => {
    const { plan, file } = synth({ target: DeploymentTarget.SWARM, publicBindAddress: '0.0.0.0' });
    files.push(file);
    expect(() => checkPlan(plan)).not.toThrow();
    const withEdit = (f: (p: any) => void) => {
      const copy = JSON.parse(JSON.stringify(plan));
      f(copy);
      try {
        checkPlan(copy);
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(withEdit((p) => (p.resource.docker_service[key(p, 'docker_service', 'Routers_Service')].task_spec.container_spec.tty = true))).toMatch(
      /^docker_service\.Platform_Routers_Service_[A-Z0-9]+\.task_spec\[0\]\.container_spec\[0\]: attribute "tty" is not understood by the plan applier/,
    );
    expect(withEdit((p) => (p.resource.docker_service[key(p, 'docker_service', 'Routers_Service')].converge_config = { delay: '1s' }))).toMatch(
      /Routers_Service_[A-Z0-9]+: attribute "converge_config" is refused/,
    );
    expect(withEdit((p) => (p.resource.docker_service[key(p, 'docker_service', 'Routers_Service')].update_config.rollback_after = '1s'))).toMatch(
      /Routers_Service_[A-Z0-9]+\.update_config\[0\]: attribute "rollback_after" is not understood/,
    );
    expect(withEdit((p) => (p.resource.docker_config[key(p, 'docker_config', 'LoadBalancer_Config')].lifecycle = { create_before_destroy: true, prevent_destroy: true }))).toMatch(
      /docker_config\.Platform_LoadBalancer_Config_[A-Z0-9]+: meta-argument "lifecycle" is not understood/,
    );
  });

  test('meta-arguments, plan sections and provider settings it does not handle', async () => {
    expect((await applyError((p) => (p.resource.docker_network[key(p, 'docker_network', 'Network')].lifecycle = { prevent_destroy: true }))).message).toMatch(
      /docker_network\.Platform_Network_[A-Z0-9]+: meta-argument "lifecycle" is not understood/,
    );
    expect((await applyError((p) => (p.data = { docker_network: { x: { name: 'bridge' } } }))).message).toMatch(/^plan section "data" is not understood/);
    expect((await applyError((p) => (p.provider.docker[0].registry_auth = [{ address: 'r' }]))).message).toMatch(/^provider\.docker\[0\]: attribute "registry_auth" is not understood/);
  });

  test('next to the lockdown attributes it applies (read_only, tmpfs, capabilities, security_opts, memory, cpu_*, log_*), the ones it does not know', async () => {
    const router = (p: any) => p.resource.docker_container[key(p, 'docker_container', 'Routers_Router')];
    expect(router(synth().plan)).toMatchObject({ read_only: true, capabilities: { drop: ['ALL'] }, security_opts: ['no-new-privileges:true'], memory: 256, log_opts: { 'max-size': '10m' } });
    expect((await applyError((p) => (router(p).capabilities.ambient = ['NET_RAW']))).message).toMatch(/Routers_Router_[A-Z0-9]+\.capabilities\[0\]: attribute "ambient" is not understood by the plan applier/);
    expect((await applyError((p) => (router(p).memory_reservation = 128))).message).toMatch(/Routers_Router_[A-Z0-9]+: attribute "memory_reservation" is not understood by the plan applier/);
    expect((await applyError((p) => (router(p).cpus = '1'))).message).toMatch(/attribute "cpus" is refused/);
  });

  test('another provider version than the one whose behaviour it reproduces', async () => {
    const err = await applyError((p) => (p.terraform.required_providers.docker.version = '3.7.0'));
    expect(err.message).toMatch(/required_providers\.docker is kreuzwerker\/docker 3\.7\.0; the plan applier reproduces kreuzwerker\/docker 3\.6\.2/);
  });

  test('the synthesized plans themselves pass the check (default, http/tcp, TLS, host ports, limits, demo servers, Swarm, relaxed and extended lockdown)', () => {
    for (const props of [
      {},
      { mode: HaproxyMode.TCP },
      { demoBackends: ['a', 'b'] },
      { routerHostPortBase: 51000, routerCpus: 0.5, routerMemoryMb: 192 },
      { target: DeploymentTarget.SWARM, publicBindAddress: '0.0.0.0', routerMemoryMb: 192 },
      { tlsCertificateHostPath: '/etc/mcp/server.pem' },
      { target: DeploymentTarget.SWARM, publicBindAddress: '0.0.0.0', adminBindAddress: '0.0.0.0', routerCpus: 0.5, consulServers: 3, swarm: { publishMode: SwarmPublishMode.HOST, routerResources: { reserveMemoryMb: 64 }, routerPlacement: { constraints: ['node.role==manager'], spreadOver: ['node.labels.zone'] } } },
      { containerSecurity: { readOnlyRootFilesystem: false, dropAllCapabilities: false, noNewPrivileges: false, memoryMb: 0, cpus: 0, logMaxSizeMb: 0 } },
      { haproxySecurity: { addCapabilities: ['NET_BIND_SERVICE'], tmpfs: { '/var/cache/x': 'size=1m' } } },
    ] as McpRouterStackProps[]) {
      const { plan, file } = synth(props);
      files.push(file);
      expect(() => checkPlan(plan)).not.toThrow();
    }
  });
});

describe('docker_service becomes the Engine API ServiceSpec the provider sends', () => {
  test('the Swarm plan\'s router service: env list, Go durations in ns, update/rollback, resources, placement preferences, dnsrr', () => {
    const { plan, file } = synth({
      target: DeploymentTarget.SWARM,
      publicBindAddress: '0.0.0.0',
      instanceCount: 3,
      swarm: { routerResources: { limitCpus: 1, reserveMemoryMb: 64 }, routerPlacement: { constraints: ['node.role==manager'], spreadOver: ['node.labels.zone'] } },
    });
    files.push(file);
    const svc = plan.resource.docker_service[key(plan, 'docker_service', 'Routers_Service')];
    const spec = serviceSpec('docker_service.R', { ...svc, task_spec: { ...svc.task_spec, container_spec: { ...svc.task_spec.container_spec, image: 'img' }, networks_advanced: [{ name: 'net' }] } }, { state: 's' });
    expect(spec.Name).toBe('mcp-router');
    expect(spec.Labels).toEqual({ state: 's' });
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(spec.TaskTemplate.ContainerSpec.Env).toContain('MCP_ROUTER_INSTANCE_ID=mcp-router-{{.Task.Name}}');
    expect(spec.TaskTemplate.ContainerSpec.StopGracePeriod).toBe(20e9);
    expect(spec.TaskTemplate.ContainerSpec.Healthcheck).toEqual({ Test: ['CMD', 'node', 'dist/healthcheck.js'], Interval: 10e9, Timeout: 10e9, StartPeriod: 30e9, Retries: 3 });
    expect(spec.TaskTemplate.Resources).toEqual({ Limits: { NanoCPUs: 1e9, MemoryBytes: 256 * 1024 * 1024 }, Reservations: { MemoryBytes: 64 * 1024 * 1024 } }); // memory: the lockdown's default
    expect(spec.TaskTemplate.Placement).toEqual({ Constraints: ['node.role==manager'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }] });
    expect(spec.TaskTemplate.RestartPolicy).toEqual({ Condition: 'any', Delay: 5e9, MaxAttempts: 0, Window: 0 });
    expect(spec.TaskTemplate.Networks).toEqual([{ Target: 'net' }]);
    expect(spec.UpdateConfig).toEqual({ Parallelism: 1, Delay: 5e9, FailureAction: 'rollback', Monitor: 15e9, MaxFailureRatio: 0, Order: 'start-first' });
    expect(spec.RollbackConfig).toEqual({ Parallelism: 1, Delay: 0, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'start-first' });
    expect(spec.EndpointSpec).toEqual({ Mode: 'dnsrr' });
  });
});

describe('expressions are evaluated by Terraform', () => {
  test('an invalid instanceCount fails with the variable validation of the plan, before the engine is touched', async () => {
    const err = await applyError(() => undefined, { instanceCount: 11 });
    expect(err.message).toContain('Terraform could not evaluate the plan');
    expect(err.message).toContain('instanceCount must be a whole number from 1 to 10');
    const fraction = await applyError(() => undefined, { instanceCount: 2.5 });
    expect(fraction.message).toContain('instanceCount must be a whole number from 1 to 10');
  });

  test('count, count.index, path.module and the image trigger evaluate like Terraform evaluates them', async () => {
    const { plan, file } = synth({ routerHostPortBase: 51000 });
    files.push(file);
    const router = plan.resource.docker_container[key(plan, 'docker_container', 'Routers_Router')];
    const image = plan.resource.docker_image[key(plan, 'docker_image', 'RouterImage')];
    const moduleDir = path.dirname(file);
    const evaluator = new TerraformEvaluator({ variables: plan.variable, values: { instanceCount: 3 } });
    const sub = (s: string, i?: number) => (i === undefined ? s : s.replace(/\bcount\.index\b/g, String(i))).replace(/\bpath\.module\b/g, JSON.stringify(moduleDir));
    const [count, name0, name2, port2, trigger] = await evaluator.evaluate([
      { where: 'count', template: router.count },
      { where: 'name[0]', template: sub(router.name, 0) },
      { where: 'name[2]', template: sub(router.name, 2) },
      { where: 'port[2]', template: sub(router.ports[0].external, 2) },
      { where: 'trigger', template: sub(image.triggers.source_sha1) },
    ]);
    expect(count).toBe(3);
    expect([name0, name2]).toEqual(['mcp-router-1', 'mcp-router-3']);
    expect(port2).toBe(51002);
    expect(trigger).toMatch(/^[0-9a-f]{40}$/);
    // Deterministic: the same sources give the same trigger (so an unchanged plan is a no-op).
    const again = await new TerraformEvaluator({ variables: plan.variable, values: {} }).evaluate([{ where: 'trigger', template: sub(image.triggers.source_sha1) }]);
    expect(again[0]).toBe(trigger);
  });

  test('a reference Terraform cannot resolve fails naming the plan attribute', async () => {
    const evaluator = new TerraformEvaluator({ variables: {}, values: {} });
    await expect(evaluator.evaluate([{ where: 'docker_container.X.name', template: '${local.nope}' }])).rejects.toThrow(/^docker_container\.X\.name: Terraform could not evaluate the plan: .*local/);
  });
});
