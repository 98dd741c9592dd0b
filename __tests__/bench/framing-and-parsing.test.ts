/**
 * Unit tests of the bench's own parsing and framing (no load, no timing):
 * gRPC frames built from the proto, h2load stdout/log parsing, percentiles,
 * HAProxy stats CSV, Prometheus counters, /proc status and bench settings.
 */
import { callsTotal, heapFromMetrics } from '../../bench/checks';
import { loadBenchConfig } from '../../bench/config';
import { decodeFrame, grpcFrame, methodPath, parseGrpcFrame, requestFrame } from '../../bench/grpc-frame';
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import { h2loadArgs, parseH2loadLog, parseH2loadOutput, runH2load } from '../../bench/h2load';
import { RunTimedOut } from '../../bench/rounds';
import { mcpRequest, mcpRequestsTotal } from '../../bench/mcp-items';
import { parseStatsCsv, upAddresses } from '../../scripts/local-platform/haproxy-stats';
import { cpuModelFrom } from '../../bench/machine';
import { parseProcStatus } from '../../bench/procs';
import { renderMarkdown, renderText, Row, verdict, wrap } from '../../bench/report';
import { median, percentile, spread, summarizeMicros } from '../../bench/stats';

describe('gRPC framing', () => {
  it('prefixes a message with flag 0 and its big-endian length', () => {
    const f = grpcFrame(Buffer.from([1, 2, 3]));
    expect([...f]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
  });

  it('frames an empty ListToolsRequest as 5 bytes', () => {
    expect([...requestFrame('ListTools', {})]).toEqual([0, 0, 0, 0, 0]);
  });

  it('encodes CallTool with a Struct argument that decodes back to the same request', () => {
    const req = { name: 'demo__echo', arguments: { fields: { text: { stringValue: 'hi' } } } };
    const frame = requestFrame('CallTool', req);
    const { length, compressed } = parseGrpcFrame(frame);
    expect(compressed).toBe(false);
    expect(length).toBe(frame.length - 5);
    expect(decodeFrame('CallTool', 'request', frame)).toEqual(req);
  });

  it('rejects unknown methods and invalid fields, naming them', () => {
    expect(() => requestFrame('Nope', {})).toThrow(/"Nope" is not in mcp.router.v1.McpRouter/);
    expect(() => requestFrame('CallTool', { name: 42 })).toThrow(/CallToolRequest.*name/);
    expect(() => parseGrpcFrame(Buffer.from([0, 0, 0, 0, 9, 1]))).toThrow(/says 9 payload bytes but 1 follow/);
  });

  it('builds the method path h2load requests', () => {
    expect(methodPath('ListTools')).toBe('/mcp.router.v1.McpRouter/ListTools');
  });
});

const H2LOAD_STDOUT = `starting benchmark...
finished in 1.29s, 15492.20 req/s, 832.57KB/s
requests: 20000 total, 20000 started, 19998 done, 19990 succeeded, 8 failed, 2 errored, 0 timeout
status codes: 19990 2xx, 0 3xx, 0 4xx, 0 5xx
time for request:      639us     66.14ms      4.02ms      4.76ms    91.76%
`;

describe('h2load output', () => {
  it('parses throughput and the request counts', () => {
    const s = parseH2loadOutput(H2LOAD_STDOUT);
    expect(s.elapsedSec).toBeCloseTo(1.29);
    expect(s.reqPerSec).toBeCloseTo(15492.2);
    expect(s.counts).toEqual({ total: 20000, started: 20000, done: 19998, succeeded: 19990, failed: 8, errored: 2, timeout: 0 });
    expect(s.status2xx).toBe(19990);
  });

  it('converts millisecond durations', () => {
    expect(parseH2loadOutput(H2LOAD_STDOUT.replace('1.29s', '812.5ms')).elapsedSec).toBeCloseTo(0.8125);
  });

  it('fails loudly on output it does not understand', () => {
    expect(() => parseH2loadOutput('connect failed')).toThrow(/no "finished in/);
  });

  it('reads per-request durations of status-200 lines from the log file', () => {
    const log = parseH2loadLog('1795540935170394\t200\t30666\n1795540935170395\t-1\t10\n1795540935170396\t200\t1000\n');
    expect(log.durationsUs).toEqual([30666, 1000]);
    expect(log.non200).toBe(1);
    expect(() => parseH2loadLog('garbage\n')).toThrow(/3 tab-separated columns/);
  });

  it('sends gRPC headers and the framed body, bounded by -n', () => {
    const args = h2loadArgs({ target: '127.0.0.1:1', method: 'ListTools', requests: 10, clients: 2, streams: 3 }, 'b', 'l');
    expect(args.join(' ')).toBe('-n 10 -c 2 -m 3 -t 1 -H content-type: application/grpc -H te: trailers -d b --log-file l http://127.0.0.1:1/mcp.router.v1.McpRouter/ListTools');
  });

  it('sends an MCP request (JSON-RPC over POST /mcp, the session headers) over HTTP/1.1 when asked', () => {
    const req = mcpRequest({ id: 'sess-1', protocolVersion: '2025-11-25' }, 'tools/list', {});
    expect(JSON.parse(req.body.toString())).toEqual({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    const args = h2loadArgs({ target: '127.0.0.1:8080', method: 'tools/list', requests: 5, clients: 64, streams: 1, http: { path: '/mcp', headers: req.headers, h1: true } }, 'b', 'l');
    expect(args.join(' ')).toBe(
      '-n 5 -c 64 -m 1 -t 1 --h1 -H content-type: application/json -H accept: application/json, text/event-stream -H mcp-session-id: sess-1 -H mcp-protocol-version: 2025-11-25 -d b --log-file l http://127.0.0.1:8080/mcp',
    );
  });

  it("reads the router's MCP request counter by JSON-RPC method and HTTP status", () => {
    const text = [
      '# TYPE mcp_router_mcp_requests_total counter',
      'mcp_router_mcp_requests_total{method="tools/list",status="200"} 120',
      'mcp_router_mcp_requests_total{method="tools/call",status="200"} 7',
      'mcp_router_mcp_requests_total{method="tools/list",status="404"} 3',
    ].join('\n');
    expect(mcpRequestsTotal(text, 'tools/list')).toBe(120);
    expect(mcpRequestsTotal(text, 'tools/list', '404')).toBe(3);
    expect(mcpRequestsTotal(text, 'prompts/list')).toBe(0);
  });
});

describe('h2load killed at its time limit', () => {
  it('a real h2load against a server that accepts and never answers is killed and reported as RunTimedOut (its round fails, not the item)', async () => {
    let h2load: string;
    try {
      h2load = execFileSync('bash', ['-c', 'command -v h2load'], { encoding: 'utf8' }).trim();
    } catch {
      throw new Error('h2load is not installed: run scripts/provision-test-tools.sh (npm test runs it as pretest)');
    }
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const err = await runH2load({ h2load, target: `127.0.0.1:${port}`, method: 'ListTools', body: requestFrame('ListTools', {}), requests: 10, clients: 1, streams: 1, timeoutMs: 1_000 }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(RunTimedOut);
      expect((err as Error).message).toBe(`h2load did not finish within 1000 ms (10 requests to 127.0.0.1:${port})`);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('statistics', () => {
  it('nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 95)).toBe(95);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(() => percentile(v, 0)).toThrow(/\(0, 100\]/);
  });

  it('summarizes microseconds as milliseconds whatever the input order', () => {
    const s = summarizeMicros([3000, 1000, 2000, 4000]);
    expect(s).toMatchObject({ count: 4, p50: 2, max: 4, mean: 2.5 });
  });

  it('median and spread', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(spread([100, 115, 110])).toBeCloseTo(1.15);
    expect(spread([5, 0, 0])).toBe(Infinity);
  });
});

describe('HAProxy stats CSV', () => {
  const csv = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr
mcp_router_frontend,FRONTEND,,,0,1,4000,12,,,,,,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,1,,,,,,,,,,,0,0,0,,,,,,,,,,,,,,,,,,,,,,,,,
mcp_router_backend,mcp-router1,0,0,0,1,,3000,,,,,,,,,,UP,1,1,0,0,0,10,0,,1,3,1,,3000,,2,0,,1,L7OK,200,1,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,127.9.9.2:50051
mcp_router_backend,mcp-router2,0,0,0,1,,2990,,,,,,,,,,DOWN,1,1,0,0,0,10,0,,1,3,2,,2990,,2,0,,1,L4CON,,1,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,127.9.9.3:50051
mcp_router_backend,mcp-router3,0,0,0,0,,0,,,,,,,,,,MAINT,1,1,0,0,0,10,0,,1,3,3,,0,,2,0,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,
`;
  it('keeps server rows with address, status and stot', () => {
    const servers = parseStatsCsv(csv);
    expect(servers.map((s) => [s.name, s.status, s.stot, s.address])).toEqual([
      ['mcp-router1', 'UP', 3000, '127.9.9.2:50051'],
      ['mcp-router2', 'DOWN', 2990, '127.9.9.3:50051'],
      ['mcp-router3', 'MAINT', 0, ''],
    ]);
    expect(upAddresses(servers)).toEqual(['127.9.9.2']);
  });

  it('rejects a page that is not the CSV', () => {
    expect(() => parseStatsCsv('<html>')).toThrow(/not a HAProxy stats CSV/);
  });
});

describe('router metrics, /proc, machine', () => {
  const metrics = `# HELP mcp_router_grpc_calls_total x
mcp_router_grpc_calls_total{method="ListTools",code="OK"} 90000
mcp_router_grpc_calls_total{method="ListTools",code="INTERNAL"} 3
mcp_router_grpc_calls_total{method="CallTool",code="OK"} 10000
nodejs_heap_size_used_bytes 10485760
nodejs_heap_size_total_bytes 20971520
nodejs_external_memory_bytes 1048576
`;
  it('reads call counters by method and code', () => {
    expect(callsTotal(metrics, 'ListTools')).toBe(90000);
    expect(callsTotal(metrics, 'ListTools', 'INTERNAL')).toBe(3);
    expect(callsTotal(metrics, 'CallTool')).toBe(10000);
    expect(callsTotal(metrics, 'GetPrompt')).toBe(0);
    expect(heapFromMetrics(metrics)).toEqual({ heapUsedMiB: 10, heapTotalMiB: 20, externalMiB: 1 });
  });

  it('reads VmRSS and VmHWM', () => {
    expect(parseProcStatus('Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n')).toEqual({ rssMiB: 100, hwmMiB: 200 });
    expect(() => parseProcStatus('Name: x')).toThrow(/VmRSS/);
  });

  it('reads the CPU model', () => {
    expect(cpuModelFrom('processor\t: 0\nmodel name\t: AMD EPYC 7B13\n')).toBe('AMD EPYC 7B13');
  });
});

describe('bench settings', () => {
  it('quick mode shortens counts and rounds; a full run takes 5-15 rounds to ±5 % at 90 %', () => {
    const q = loadBenchConfig({ BENCH_QUICK: '1' });
    const f = loadBenchConfig({});
    expect([q.rounds, q.maxRounds]).toEqual([2, 3]);
    expect([f.rounds, f.maxRounds, f.roundBudgetMs, f.tolerance, f.confidence]).toEqual([5, 15, 240_000, 0.05, 0.9]);
    expect(q.h2.requests).toBeLessThan(f.h2.requests);
    expect([...f.only]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(q.mcp.listRequests).toBeLessThan(f.mcp.listRequests);
    expect(f.scale.counts).toEqual([1, 3, 5]);
    expect(loadBenchConfig({ BENCH_ROUNDS: '20' }).maxRounds).toBe(20);
  });

  it('rejects bad values naming the variable and the value', () => {
    expect(() => loadBenchConfig({ BENCH_ROUNDS: '0' })).toThrow('BENCH_ROUNDS must be an integer from 1 to 50; received "0"');
    expect(() => loadBenchConfig({ BENCH_ROUNDS: '6', BENCH_MAX_ROUNDS: '4' })).toThrow('BENCH_MAX_ROUNDS must be at least BENCH_ROUNDS (6); received "4"');
    expect(() => loadBenchConfig({ BENCH_TOLERANCE_PCT: '0.5' })).toThrow(/BENCH_TOLERANCE_PCT.*"0.5"/);
    expect(() => loadBenchConfig({ BENCH_SCALE_COUNTS: '3,5' })).toThrow(/BENCH_SCALE_COUNTS.*starting with 1.*"3,5"/);
    expect(() => loadBenchConfig({ BENCH_ONLY: '1,11' })).toThrow(/BENCH_ONLY.*"1,11"/);
    expect(() => loadBenchConfig({ BENCH_SYNTH_COUNTS: 'ten' })).toThrow(/BENCH_SYNTH_COUNTS/);
    expect([...loadBenchConfig({ BENCH_ONLY: '7,1' }).only].sort()).toEqual([1, 7]);
  });
});

describe('report', () => {
  const rows: Row[] = [
    { id: '1a', title: 'x', driver: 'h2load', measured: '1 req/s', baseline: '2 req/s', ratio: '0.50', target: '≥ 0.8', met: false },
    { id: '3a', title: 'y', driver: '—', measured: '', baseline: '', ratio: '', target: '≥ 0.9', skipped: 'haproxy-templates not available' },
    { id: '4b', title: 'z|pipe', driver: 'h2load', measured: 'a', baseline: 'b', ratio: '1.00', target: 'info' },
  ];
  it('says met / NOT MET / skipped / info, and marginal when the interval spans the target', () => {
    expect(rows.map(verdict)).toEqual(['NOT MET', 'skipped: haproxy-templates not available', 'info']);
    expect(verdict({ ...rows[0], met: true, firm: false })).toBe('met (marginal)');
    expect(verdict({ ...rows[0], met: false, firm: true })).toBe('NOT MET');
  });

  it('renders text and markdown tables with every row', () => {
    const text = renderText(rows);
    expect(text).toContain('NOT MET');
    expect(text).toContain('driver: h2load');
    const md = renderMarkdown(rows, { cpus: 2, cpuModel: 'm', memoryGiB: 1, kernel: 'k', node: 'v20', grpcJs: '1', haproxy: 'h', h2load: 'n', pinning: 'p' }, { date: 'd', quick: false, rounds: '5–15 rounds', command: 'npm run bench', durationSec: 1, extra: ['load line'] });
    expect(md).toContain('| 1a | x | 1 req/s | 2 req/s | 0.50 |  | ≥ 0.8 | NOT MET |');
    expect(md).toContain('| # | what | measured | baseline | ratio | spread over rounds | target | result |');
    expect(md).toContain('5–15 rounds; medians shown');
    expect(md).toContain('\nload line\n');
    expect(md).toContain('z\\|pipe');
  });

  it('wraps long cells on word boundaries', () => {
    expect(wrap('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
  });
});
