/** The machine a run happened on, for the report. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly grpcJs: string;
  readonly haproxy: string;
  readonly h2load: string;
  readonly pinning: string;
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 }).split('\n')[0].trim();
  } catch (err) {
    return `unavailable (${(err as Error).message.split('\n')[0]})`;
  }
}

export function cpuModelFrom(cpuinfo: string): string {
  const m = /^model name\s*:\s*(.+)$/m.exec(cpuinfo);
  return m ? m[1].trim() : 'unknown';
}

export function machineInfo(tools: { haproxy?: string; h2load?: string }, pinning: string): MachineInfo {
  let cpuinfo = '';
  try {
    cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    /* not Linux */
  }
  return {
    cpus: os.availableParallelism(),
    cpuModel: cpuModelFrom(cpuinfo),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    grpcJs: (require('@grpc/grpc-js/package.json') as { version: string }).version,
    haproxy: tools.haproxy ? firstLine(tools.haproxy, ['-v']) : 'not available',
    h2load: tools.h2load ? firstLine(tools.h2load, ['--version']) : 'not available',
    pinning,
  };
}
