#!/usr/bin/env node
/**
 * Renders a Vega-Lite spec (a JSON file, or stdin) to SVG (stdout), headless: vega-lite
 * compiles it to a Vega spec and a vega View with renderer "none" writes the SVG
 * (no canvas, no browser). Its own ESM process because vega 6 is ESM-only and
 * the bench is CommonJS. Usage: node bench/plot/render-svg.mjs [spec.json] > plot.svg
 */
import { readFileSync } from 'node:fs';
import * as vega from 'vega';
import * as vl from 'vega-lite';

const source = process.argv[2];
let spec;
try {
  spec = JSON.parse(readFileSync(source ?? 0, 'utf8'));
} catch (err) {
  process.stderr.write(`render-svg: ${source ?? 'stdin'} must hold a Vega-Lite spec in JSON: ${err.message}\n`);
  process.exit(2);
}
const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
process.stdout.write(await view.toSVG());
view.finalize();
