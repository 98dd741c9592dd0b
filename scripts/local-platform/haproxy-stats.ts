/**
 * HAProxy's stats CSV (`<stats url>;csv`): per-server status, totals and last
 * health check. The one parser of it for the local platform, the tests and the bench.
 */

export interface StatsServer {
  readonly proxy: string;
  readonly name: string;
  readonly address: string;
  readonly status: string;
  /** Cumulative sessions (tcp: connections; http: streams) sent to this server. */
  readonly stot: number;
  /** HAProxy's last health check: its status code (e.g. L7OK, L4CON, L7STS) and description ('' without checks). */
  readonly check: string;
}

/** Servers (type 2 rows) of a stats CSV text. */
export function parseStatsCsv(text: string): StatsServer[] {
  const lines = text.trim().split('\n');
  if (!lines[0]?.startsWith('# ')) throw new Error(`not a HAProxy stats CSV (first line ${JSON.stringify(lines[0]?.slice(0, 80))})`);
  const cols = lines[0].slice(2).split(',');
  const idx = (c: string) => {
    const i = cols.indexOf(c);
    if (i < 0) throw new Error(`HAProxy stats CSV has no ${c} column`);
    return i;
  };
  const [pxname, svname, type, addr, status, stot, checkStatus, checkDesc] = ['pxname', 'svname', 'type', 'addr', 'status', 'stot', 'check_status', 'check_desc'].map(idx);
  return lines
    .slice(1)
    .map((l) => l.split(','))
    .filter((f) => f[type] === '2')
    .map((f) => ({ proxy: f[pxname], name: f[svname], address: f[addr] ?? '', status: f[status], stot: Number(f[stot]), check: [f[checkStatus], f[checkDesc]].filter(Boolean).join(' ') }));
}

export async function statsServers(statsUrl: string): Promise<StatsServer[]> {
  const res = await fetch(`${statsUrl.replace(/\/$/, '')}/;csv`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${statsUrl};csv: HTTP ${res.status}`);
  return parseStatsCsv(await res.text());
}

/** Addresses (ip without port) of servers that are UP. */
export function upAddresses(servers: readonly StatsServer[]): string[] {
  return servers.filter((s) => s.status.startsWith('UP') && s.address).map((s) => s.address.split(':')[0]).sort();
}

/** One line per server that has an address (or is not in MAINT), for a failed wait's message. */
export const describeServers = (servers: readonly StatsServer[]): string =>
  servers
    .filter((s) => s.address || !s.status.startsWith('MAINT'))
    .map((s) => `${s.name} ${s.address || '(no address)'} ${s.status}${s.check ? ` [${s.check}]` : ''}`)
    .join('; ') || 'no server has an address (DNS gave none)';
