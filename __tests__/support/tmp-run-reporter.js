// @ts-check
/**
 * One temporary directory per test run, removed when the run passes (a Jest reporter).
 *
 * The tests make many temporary directories: cdktf's `Testing.app()` and `Testing.fullSynth()`
 * each make one (`cdktf.outdir.*`, ~20,000 in a full run with the property tests), and the real
 * platforms keep their logs and configs in theirs (`mcp-local-platform-*`). Without this they
 * piled up in the system's temporary directory, run after run (115,000 on a developer machine).
 *
 * At the start of a run this points TMPDIR (which `os.tmpdir()` reads on every call, and every
 * child process inherits) at a fresh `mcp-router-tests-*` directory in the system's one. When the
 * run is over the directory is removed if every test passed, and kept otherwise, with its path
 * printed: it holds the logs of every router, HAProxy and Consul the failed run started.
 * MCP_ROUTER_KEEP_TEST_TMP=1 keeps it in any case.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

class TmpRunReporter {
  constructor() {
    /** The system's temporary directory, before this reporter points TMPDIR elsewhere. */
    this.base = os.tmpdir();
    /** @type {string | undefined} */
    this.dir = undefined;
  }

  onRunStart() {
    this.dir = fs.mkdtempSync(path.join(this.base, 'mcp-router-tests-'));
    process.env.TMPDIR = this.dir;
  }

  /**
   * @param {unknown} _contexts
   * @param {{ numFailedTests: number, numFailedTestSuites: number, numRuntimeErrorTestSuites: number, wasInterrupted?: boolean }} results
   */
  onRunComplete(_contexts, results) {
    const dir = this.dir;
    if (!dir) return;
    process.env.TMPDIR = this.base;
    this.dir = undefined;
    const failed = results.numFailedTests > 0 || results.numFailedTestSuites > 0 || results.numRuntimeErrorTestSuites > 0 || results.wasInterrupted === true;
    if (failed || process.env.MCP_ROUTER_KEEP_TEST_TMP === '1') {
      process.stderr.write(`test run's temporary files (logs of the routers, HAProxy and Consul it started) kept in ${dir}\n`);
      return;
    }
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }

  getLastError() {
    return undefined;
  }
}

module.exports = TmpRunReporter;
