// Experiment: the scale-down 5 -> 3 under load with the plan as it was (no destroy_grace_seconds).
import * as fs from 'node:fs';
import { SteadyLoad } from '../../scripts/local-platform/steady-load';
import { waitUntil, sleep } from '../../scripts/local-platform/managed-process';
import { EnginePlatform } from './engine-platform';
(async () => {
  const p = await EnginePlatform.create({ stem: 'nog', props: { demoBackends: ['demo'] } });
  try {
    const strip = process.argv[2] === 'strip';
    if (strip) {
      const plan = p.plan;
      for (const c of Object.values<any>(plan.resource.docker_container)) delete c.destroy_grace_seconds;
      fs.writeFileSync(p.planFile, JSON.stringify(plan));
    }
    await p.apply({ instanceCount: 5 });
    await p.waitAllHealthy(180_000);
    await waitUntil('5 up', async () => (await p.upRouters()) === 5, 60_000, 500);
    const echo = { name: 'demo__echo', arguments: { fields: { text: { stringValue: 'hi' } } } };
    await waitUntil('warm', async () => true, 1000, 100);
    const load = new SteadyLoad({ target: p.endpoint, method: 'CallTool', request: echo, concurrency: 4, maxCalls: 100000, maxDurationMs: 60000, pauseMs: 5 });
    await sleep(2000);
    const t = Date.now();
    const down = await p.apply({ instanceCount: 3 });
    const applyMs = Date.now() - t;
    await sleep(8000);
    const r = await load.stop();
    const groups: Record<string, number> = {};
    for (const f of r.failures) groups[`${f.code} ${f.error}`] = (groups[`${f.code} ${f.error}`] ?? 0) + 1;
    console.log(JSON.stringify({ strip, destroyed: down.destroyed.length, applyMs, calls: r.records.length, failed: r.failed, groups }));
  } finally {
    await p.destroy();
  }
})();
