/**
 * Unit tests of item 8's pure parts (shares, count checks, the Vega-Lite spec)
 * and of the headless SVG rendering with the real vega + vega-lite packages,
 * plus the tuning script's config edits (each must apply or fail loudly).
 */
import { insertAfter, replaceIn, VARIANTS } from '../../bench/haproxy-tuning';
import { renderSvg, scalingPlotSpec, SEED_SCALING } from '../../bench/plot/scaling-plot';
import { countProblems, shareText } from '../../bench/scaling';
import { HaproxyConfigOptions, renderHaproxyConfig as renderResolved, resolveHaproxyConfigOptions } from '../../haproxy-templates';
/** Options in, text out: resolve (validate, fill defaults), then render. */
const renderHaproxyConfig = (o: HaproxyConfigOptions = {}) => renderResolved(resolveHaproxyConfigOptions(o));


describe('scaling item helpers', () => {
  it('shares of the routers in rotation', () => {
    expect(shareText([100, 100, 200, 7, 7], 3)).toBe('25.0% / 25.0% / 50.0%');
    expect(shareText([0, 0], 2)).toBe('0.0% / 0.0%');
  });

  it('counts must add up, stay inside the rotation, and reach every router in it', () => {
    expect(countProblems([10, 10, 10, 0, 0], 3, 30)).toEqual([]);
    expect(countProblems([10, 10, 9, 0, 0], 3, 30)).toEqual(['routers counted 29 OK ListTools calls for 30 requests']);
    expect(countProblems([10, 10, 5, 5, 0], 3, 30)).toEqual(['5 calls reached routers outside the 3 in rotation']);
    expect(countProblems([30, 0, 0], 2, 30)).toEqual(['a router in rotation got no call (30 / 0)']);
  });
});

describe('scaling plot', () => {
  const points = [
    { routers: 1, rps: 9000, rpsMin: 8500, rpsMax: 9500, p95: 9.5 },
    { routers: 3, rps: 8700, rpsMin: 8000, rpsMax: 9100, p95: 10.2 },
    { routers: 5, rps: 8400, rpsMin: 7900, rpsMax: 8800, p95: 11.1 },
  ];

  it("puts the measured points beside the seed's figures", () => {
    const spec = scalingPlotSpec(points, 'caption') as any;
    const rps = spec.hconcat[0].data.values;
    expect(rps.filter((d: any) => d.series.startsWith('measured')).map((d: any) => [d.routers, d.rps, d.lo, d.hi])).toEqual([
      [1, 9000, 8500, 9500],
      [3, 8700, 8000, 9100],
      [5, 8400, 7900, 8800],
    ]);
    expect(rps.filter((d: any) => d.series.startsWith('seed')).map((d: any) => d.rps)).toEqual(SEED_SCALING.map((s) => s.rps));
    expect(spec.title.subtitle).toBe('caption');
  });

  it('renders headless to an SVG with both panels, the axes and the data labels', async () => {
    const svg = await renderSvg(scalingPlotSpec(points, 'test run'));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('routers behind HAProxy (http mode)');
    expect(svg).toContain('p95 latency (ms, median of rounds)');
    expect(svg).toContain('9,000');
    expect(svg).toContain('4,000'); // the seed's 5-instance figure
    expect(svg).toContain('11.1');
    expect(svg).toContain("seed's p95: 10–20 ms");
  }, 60_000);

  it('fails loudly on a spec vega-lite cannot compile', async () => {
    await expect(renderSvg({ mark: 'no-such-mark' })).rejects.toThrow(/render-svg failed/);
  }, 60_000);
});

describe('tuning variants', () => {
  const cfg = renderHaproxyConfig({ nameservers: [{ address: '127.0.0.1', port: 8600 }] });

  it('every variant changes the shipped config (an edit that matches nothing throws)', () => {
    for (const v of VARIANTS) {
      const text = v.edit ? v.edit(renderHaproxyConfig({ nameservers: [{ address: '127.0.0.1', port: 8600 }], ...v.options })) : renderHaproxyConfig({ nameservers: [{ address: '127.0.0.1', port: 8600 }], ...v.options });
      expect({ name: v.name, changed: text !== cfg }).toEqual({ name: v.name, changed: true });
    }
    expect(() => insertAfter(cfg, 'no-such-section', 'x')).toThrow('config has no line "no-such-section"');
    expect(() => replaceIn(cfg, 'no such text', 'x')).toThrow('config has no no such text');
  });
});
