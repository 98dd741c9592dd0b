/**
 * Item 10: what authentication costs (issue 12, "Bench").
 *
 * - 10a gRPC ListTools of a router that authenticates every call (a JWT from
 *       the local platform's issuer, verified against its JWKS; authorization
 *       rules that filter the listing; a per-identity rate limiter set high
 *       enough never to refuse, so its bucket is on the path) vs a router of
 *       the same platform with MCP_ROUTER_AUTH=none, the same backend and
 *       catalogue. Same h2load load as item 1, both routers pinned to the
 *       server CPU, alternating rounds. Every answer counted OK by the router
 *       itself (an UNAUTHENTICATED answer is HTTP 200 to h2load, so the
 *       router's count is what proves each call was authenticated).
 *
 * One client reuses one token, as real clients do: the router verifies its
 * signature once and then finds it in its verification cache (the design
 * the 0.85 target rests on). A new token per request would pay one ES256
 * verification each; this item does not measure that.
 */
import { compareRounds, relative, verdictFields, warmUp } from './compare';
import { BenchContext, DEMO_ENTRY, missing, ROUTER_ENTRY, skippedRow } from './context';
import { pinPid } from './procs';
import { fmt, Row } from './report';
import { median } from './stats';
import { H2Side, h2Measured, problemsOf } from './single-router';
import { medianSample } from './checks';

export const AUTH_TARGETS = { authenticatedVsNone: 0.85 };
const TOOL = 'demo__echo';
const TITLE = 'gRPC ListTools with authentication (JWT, rules, rate limiter) vs without, same platform';

export async function runAuthItems(ctx: BenchContext): Promise<Row[]> {
  if (!ctx.cfg.only.has(10)) return [];
  const gone = missing(['router-app', ROUTER_ENTRY], ['demo MCP server', DEMO_ENTRY]) ?? (['h2load', 'haproxy', 'consul'] as const).filter((t) => !ctx.tools[t]).join(', ');
  if (gone) return [skippedRow('10a', TITLE, `≥ ${AUTH_TARGETS.authenticatedVsNone}`, `${gone} not available`)];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { LocalPlatform } = require('../scripts/local-platform/platform') as typeof import('../scripts/local-platform/platform');
  const { cfg } = ctx;
  ctx.log('  starting local platform (Consul, demo backend, router 1 with JWT authentication) ...');
  const platform = await LocalPlatform.start({
    instances: 1,
    mode: 'http',
    block: 'random',
    backends: ['demo'],
    auth: { jwt: true, rules: { rules: [{ match: { scope: 'bench:demo' }, allow: { namespaces: ['demo'] } }] } },
    routerEnv: {
      MCP_ROUTER_DRAIN_DELAY_MS: '0',
      MCP_ROUTER_SHUTDOWN_GRACE_MS: '2000',
      // On the path, never refusing: 1,000,000 requests/s per identity.
      MCP_ROUTER_RATE_LIMIT_RPS: '1000000',
      MCP_ROUTER_RATE_LIMIT_BURST: '10000000',
    },
  });
  try {
    ctx.log('  starting router 2 without authentication ...');
    await platform.startRouter(2, { MCP_ROUTER_AUTH: 'none', MCP_ROUTER_INTERNALS: 'everyone', MCP_ROUTER_RATE_LIMIT_RPS: '0' });
    const pid = (i: number) => platform.routers.get(i)!.child.pid!;
    if (ctx.cpu.server !== undefined && ctx.cpu.client !== undefined) {
      for (const i of [1, 2]) pinPid(pid(i), ctx.cpu.server);
      pinPid(platform.backends.get('demo')!.child.pid!, ctx.cpu.server);
    }
    const token = await platform.token({ sub: 'bench-client', scope: 'bench:demo' }, 3600);
    const metricsUrl = (i: number) => `http://${platform.block.routerAddress(i)}:${platform.ports.routerAdmin}/metrics`;
    const side = (i: number, name: string, withToken: boolean): H2Side => ({
      name,
      target: platform.routerTarget(i),
      expect: { tool: TOOL, instanceId: `mcp-router-mcp-router-${i}`, ...(withToken ? { token } : {}) },
      metricsUrl: metricsUrl(i),
      cpuPids: { router: pid(i) },
    });
    const authed = side(1, 'router 1 (JWT, rules, rate limiter) ListTools', true);
    const open = side(2, 'router 2 (no authentication) ListTools', false);
    const load = { requests: cfg.h2.requests, clients: cfg.h2.clients, streams: cfg.h2.streams };
    ctx.log('  item 10a warm-up');
    for (const s of [authed, open]) await warmUp(ctx, s.name, () => h2Measured(ctx, s, { ...load, requests: Math.ceil(load.requests / 3) }));
    ctx.log(`  item 10a: authenticated vs unauthenticated ListTools (-c ${load.clients} -m ${load.streams}, ${load.requests} requests)`);
    const res = await compareRounds(ctx, '10a', [() => h2Measured(ctx, authed, load), () => h2Measured(ctx, open, load)], [{ name: 'ratio', of: ([a, b]) => a.rps / b.rps, tolerance: relative(cfg) }]);
    const [a, b] = res.runs.map(medianSample);
    const probs = problemsOf(res.runs.flat());
    const v = verdictFields(res, res.spreads.ratio, AUTH_TARGETS.authenticatedVsNone, 'atLeast', probs);
    const cpu = (k: number) => median(res.runs[k].map((r) => r.cpuMsPer1k.router));
    return [
      {
        id: '10a',
        title: TITLE,
        driver: `h2load -c ${load.clients} -m ${load.streams} -n ${load.requests} -t 1, gRPC ListTools; authenticated side: "authorization: Bearer <one ES256 JWT from the local issuer>" on every request, MCP_ROUTER_AUTH=jwt with its JWKS, a rules file granting the token's scope one namespace (the listing filtered by rules), the per-identity rate limiter on (1,000,000/s); other side: a second router of the same platform, MCP_ROUTER_AUTH=none; both routers pinned to cpu ${ctx.cpu.server ?? '-'}, h2load on cpu ${ctx.cpu.client ?? '-'}; every call counted OK by the router itself, grpc-js ListTools checked before and after each run; ${res.rounds} alternating rounds, per-round ratio authenticated ÷ unauthenticated, verdict on the median. One token reused: its signature is verified once, then found in the router's verification cache`,
        measured: `authenticated ${fmt.load(a.rps, a.latency)}`,
        baseline: `no auth ${fmt.load(b.rps, b.latency)}`,
        ratio: fmt.ratio(res.spreads.ratio.median),
        spread: v.spread,
        target: `≥ ${AUTH_TARGETS.authenticatedVsNone}`,
        met: v.met,
        firm: v.firm,
        notes: [...probs, `CPU ms per 1,000 calls (median): router with auth ${cpu(0).toFixed(0)}, without ${cpu(1).toFixed(0)}`, ...(v.roundsNote ? [v.roundsNote] : [])],
        data: { ...res, medians: [a, b] },
      },
    ];
  } finally {
    await platform.close();
  }
}
