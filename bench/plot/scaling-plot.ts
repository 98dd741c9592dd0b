/**
 * The scaling plot of item 8: throughput and p95 against router count, ours
 * (measured, fixed CPU budget) beside the seed's published figures, as a
 * Vega-Lite spec (pure: data in, spec out) rendered to SVG by render-svg.mjs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBounded } from '../h2load';

export interface ScalingPoint {
  readonly routers: number;
  /** Median req/s over rounds. */
  readonly rps: number;
  /** min–max of req/s over rounds. */
  readonly rpsMin: number;
  readonly rpsMax: number;
  /** Median p95 over rounds (ms). */
  readonly p95: number;
}

/** The seed's table (docker-compose guide): ~1,000 / 2,500 / 4,000 req/s for 1 / 3 / 5 instances, p95 10–20 ms. */
export const SEED_SCALING = [
  { routers: 1, rps: 1000 },
  { routers: 3, rps: 2500 },
  { routers: 5, rps: 4000 },
] as const;
export const SEED_P95_MS = { low: 10, high: 20 };

export function scalingPlotSpec(points: readonly ScalingPoint[], caption: string): Record<string, unknown> {
  const ours = 'measured here (fixed CPU budget)';
  const seed = "seed's published figures";
  const rpsData = [
    ...points.map((p) => ({ routers: p.routers, rps: Math.round(p.rps), lo: Math.round(p.rpsMin), hi: Math.round(p.rpsMax), series: ours })),
    ...SEED_SCALING.map((s) => ({ routers: s.routers, rps: s.rps, lo: s.rps, hi: s.rps, series: seed })),
  ];
  const p95Data = points.map((p) => ({ routers: p.routers, p95: Math.round(p.p95 * 100) / 100, series: ours }));
  const counts = [...new Set([...points.map((p) => p.routers), ...SEED_SCALING.map((s) => s.routers)])].sort((a, b) => a - b);
  const x = { field: 'routers', type: 'quantitative', title: 'routers behind HAProxy (http mode)', axis: { values: counts, format: 'd' }, scale: { domain: [0, Math.max(...counts) + 1] } };
  const color = { field: 'series', type: 'nominal', title: null, scale: { domain: [ours, seed], range: ['#1f77b4', '#ff7f0e'] }, legend: { orient: 'bottom', labelLimit: 0 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'MCP router: throughput and p95 vs router count', subtitle: caption },
    background: 'white',
    hconcat: [
      {
        width: 320,
        height: 240,
        data: { values: rpsData },
        layer: [
          { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
          { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'rps', type: 'quantitative', title: 'throughput (req/s, median; bar: min–max of rounds)' }, color } },
          { mark: { type: 'text', dy: -10 }, encoding: { x, y: { field: 'rps', type: 'quantitative' }, text: { field: 'rps', type: 'quantitative', format: ',' }, color } },
        ],
      },
      {
        width: 320,
        height: 240,
        layer: [
          {
            data: { values: [SEED_P95_MS] },
            mark: { type: 'rect', opacity: 0.2, color: '#ff7f0e' },
            encoding: { y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } },
          },
          {
            data: { values: [{ y: SEED_P95_MS.high, label: "seed's p95: 10–20 ms" }] },
            mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#ff7f0e' },
            encoding: { y: { field: 'y', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } },
          },
          {
            data: { values: p95Data },
            mark: { type: 'line', point: true },
            encoding: { x, y: { field: 'p95', type: 'quantitative', title: 'p95 latency (ms, median of rounds)', scale: { domainMin: 0 } }, color },
          },
          {
            data: { values: p95Data },
            mark: { type: 'text', dy: -10 },
            encoding: { x, y: { field: 'p95', type: 'quantitative' }, text: { field: 'p95', type: 'quantitative', format: '.1f' }, color },
          },
        ],
      },
    ],
    resolve: { scale: { color: 'shared' } },
  };
}

/** Renders a Vega-Lite spec to SVG text in a child node process (headless vega). */
export async function renderSvg(spec: Record<string, unknown>, timeoutMs = 60_000): Promise<string> {
  const script = path.join(__dirname, 'render-svg.mjs');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-plot-'));
  try {
    const specFile = path.join(dir, 'spec.json');
    fs.writeFileSync(specFile, JSON.stringify(spec));
    const out = await runBounded(process.execPath, [script, specFile], timeoutMs);
    if (out.timedOut || out.code !== 0) throw new Error(`render-svg failed (${out.timedOut ? 'timed out' : `exit ${out.code}`}): ${out.stderr.slice(-1500)}`);
    if (!out.stdout.startsWith('<svg')) throw new Error(`render-svg wrote no SVG: ${out.stdout.slice(0, 200)}`);
    return out.stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
