import { EnginePlatform } from './engine-platform';
(async () => {
  const p = await EnginePlatform.create({ stem: 'dbg', props: { demoBackends: ['demo'], haproxy: { maxconn: 4000 } } });
  const r = await p.apply({ instanceCount: Number(process.argv[2] ?? 1) });
  console.log(p.prefix, JSON.stringify(r.outputs), p.ports, p.log.join('\n'));
})().catch((e) => { console.error(e); process.exit(1); });
