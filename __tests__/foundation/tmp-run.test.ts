/**
 * The test run's temporary directory (__tests__/support/tmp-run-reporter.js): every temporary
 * file of a run lands in one directory, removed when the run passes and kept when it fails.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdktf';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const TmpRunReporter = require('../support/tmp-run-reporter.js');

const passed = { numFailedTests: 0, numFailedTestSuites: 0, numRuntimeErrorTestSuites: 0, wasInterrupted: false };

test("this run's temporary files, cdktf's test outdirs included, are in the run's own directory", () => {
  const runDir = os.tmpdir();
  expect(path.basename(runDir)).toMatch(/^mcp-router-tests-/);
  expect(process.env.TMPDIR).toBe(runDir);
  const outdir = Testing.app().outdir;
  expect(path.dirname(outdir)).toBe(runDir);
  expect(path.basename(outdir)).toMatch(/^cdktf\.outdir\./);
});

describe('the reporter', () => {
  const outer = process.env.TMPDIR;
  const keep = process.env.MCP_ROUTER_KEEP_TEST_TMP;
  afterEach(() => {
    process.env.TMPDIR = outer;
    if (keep === undefined) delete process.env.MCP_ROUTER_KEEP_TEST_TMP;
    else process.env.MCP_ROUTER_KEEP_TEST_TMP = keep;
  });

  /** A run through the reporter: the directory it made, and TMPDIR during and after the run. */
  function run(results: typeof passed): { dir: string; during: string | undefined; after: string | undefined } {
    const reporter = new TmpRunReporter();
    reporter.onRunStart();
    const dir: string = reporter.dir;
    const during = process.env.TMPDIR;
    fs.mkdirSync(path.join(dir, 'mcp-local-platform-x'));
    fs.writeFileSync(path.join(dir, 'mcp-local-platform-x', 'router-1.log'), 'router ready\n');
    reporter.onRunComplete(undefined, results);
    return { dir, during, after: process.env.TMPDIR };
  }

  test('a passing run: its directory is removed and TMPDIR is back', () => {
    delete process.env.MCP_ROUTER_KEEP_TEST_TMP;
    const { dir, during, after } = run(passed);
    expect(path.dirname(dir)).toBe(outer);
    expect(path.basename(dir)).toMatch(/^mcp-router-tests-/);
    expect(during).toBe(dir);
    expect(fs.existsSync(dir)).toBe(false);
    expect(after).toBe(outer);
  });

  test.each([
    ['a failed test', { ...passed, numFailedTests: 1 }],
    ['a failed suite', { ...passed, numFailedTestSuites: 1 }],
    ['a suite that could not run', { ...passed, numRuntimeErrorTestSuites: 1 }],
    ['an interrupted run', { ...passed, wasInterrupted: true }],
  ])('%s: its directory and the logs in it are kept', (_name, results) => {
    delete process.env.MCP_ROUTER_KEEP_TEST_TMP;
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const { dir, after } = run(results);
      expect(fs.readFileSync(path.join(dir, 'mcp-local-platform-x', 'router-1.log'), 'utf8')).toBe('router ready\n');
      expect(write).toHaveBeenCalledWith(expect.stringContaining(`kept in ${dir}`));
      expect(after).toBe(outer);
      fs.rmSync(dir, { recursive: true, force: true });
    } finally {
      write.mockRestore();
    }
  });

  test('MCP_ROUTER_KEEP_TEST_TMP=1 keeps a passing run', () => {
    process.env.MCP_ROUTER_KEEP_TEST_TMP = '1';
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const { dir } = run(passed);
      expect(fs.existsSync(dir)).toBe(true);
      fs.rmSync(dir, { recursive: true, force: true });
    } finally {
      write.mockRestore();
    }
  });
});
