/**
 * Process entry of the demo MCP server. Env: HOST (0.0.0.0), PORT (3000),
 * MCP_PATH (/mcp), SERVER_NAME (demo); with CONSUL_HOST set it registers
 * itself in Consul (tag mcp-server, meta mcp_path/namespace) with an HTTP
 * check — retrying every 500 ms while Consul does not answer yet, without
 * exiting — registers again when Consul forgets it (checked every
 * CONSUL_REREGISTER_INTERVAL_MS, default 10000), and deregisters on
 * SIGTERM/SIGINT. ADVERTISE_ADDRESS overrides the registered address.
 * With ACLs, its Consul token comes from CONSUL_HTTP_TOKEN or the file named
 * by CONSUL_HTTP_TOKEN_FILE (Consul's own variable names) and goes with every
 * Consul call; a token that is not 1-256 printable characters, or an
 * unreadable file, stops it at start (exit 2).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { startDemoServer } from './server';

function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`demo-mcp-server: ${name} must be an integer from ${min} to ${max}; received ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
}

/** The Consul ACL token from CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE (never echoed), or undefined. */
function consulToken(): string | undefined {
  const inline = process.env.CONSUL_HTTP_TOKEN || undefined;
  const file = process.env.CONSUL_HTTP_TOKEN_FILE || undefined;
  const fail = (msg: string): never => {
    process.stderr.write(`demo-mcp-server: ${msg}\n`);
    process.exit(2);
  };
  if (inline !== undefined && file !== undefined) fail('CONSUL_HTTP_TOKEN and CONSUL_HTTP_TOKEN_FILE are both set: give the Consul token one way');
  let token = inline;
  if (file !== undefined) {
    try {
      token = fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      fail(`CONSUL_HTTP_TOKEN_FILE=${JSON.stringify(file)} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  if (token !== undefined && !/^[\x21-\x7e]{1,256}$/.test(token)) fail(`${file !== undefined ? `CONSUL_HTTP_TOKEN_FILE=${JSON.stringify(file)}` : 'CONSUL_HTTP_TOKEN'} must hold a Consul ACL token (1-256 printable characters without spaces)`);
  return token;
}

async function main(): Promise<void> {
  const host = process.env.HOST || '0.0.0.0';
  const port = envInt('PORT', 3000, 1, 65535);
  // Checked before anything listens: a bad token stops the server at start.
  const token = consulToken();
  const name = process.env.SERVER_NAME || 'demo';
  const mcpPath = process.env.MCP_PATH || '/mcp';
  const handle = await startDemoServer({ host, port, name, path: mcpPath });
  const advertise = process.env.ADVERTISE_ADDRESS || (host === '0.0.0.0' ? firstIpv4() : host);
  const id = `mcp-server-${name}-${advertise}-${port}`;
  const consulHost = process.env.CONSUL_HOST;
  const consulBase = consulHost ? `http://${consulHost}:${envInt('CONSUL_PORT', 8500, 1, 65535)}` : undefined;
  // Every Consul call carries the token when there is one.
  const consulHeaders: Record<string, string> = token !== undefined ? { 'x-consul-token': token } : {};
  let keepRegistered: NodeJS.Timeout | undefined;
  if (consulBase) {
    const definition = JSON.stringify({
      ID: id,
      Name: name,
      Tags: ['mcp-server'],
      Address: advertise,
      Port: port,
      Meta: { mcp_path: mcpPath, namespace: name },
      Check: { HTTP: `http://${advertise}:${port}/healthz`, Interval: '2s', Timeout: '1s', DeregisterCriticalServiceAfter: '1m' },
    });
    const register = async () => {
      const res = await fetch(`${consulBase}/v1/agent/service/register`, { method: 'PUT', body: definition, headers: consulHeaders });
      if (!res.ok) throw new Error(`Consul registration failed: HTTP ${res.status} ${await res.text()}`);
    };
    // Consul may not answer yet (it starts next to us in a deployment): keep trying every
    // 500 ms until the first registration, then check every CONSUL_REREGISTER_INTERVAL_MS and
    // register again if Consul forgot us (e.g. a -dev agent restarted). Never exit for it.
    const everyMs = envInt('CONSUL_REREGISTER_INTERVAL_MS', 10_000, 200, 600_000);
    let registered = false;
    let failures = 0;
    const ensureRegistered = async (): Promise<void> => {
      try {
        if (registered) {
          const r = await fetch(`${consulBase}/v1/agent/service/${encodeURIComponent(id)}`, { headers: consulHeaders });
          if (r.status !== 404) return;
        }
        await register();
        if (!registered) process.stdout.write(JSON.stringify({ msg: 'registered in Consul', id, consul: consulBase }) + '\n');
        registered = true;
      } catch (err) {
        // Said at the first failure, then every 20th (10 s), not every 500 ms.
        if (!registered && failures++ % 20 === 0) process.stderr.write(`demo-mcp-server: Consul registration failed (${err instanceof Error ? err.message : String(err)}); retrying\n`);
      }
    };
    const tick = () => {
      keepRegistered = setTimeout(() => void ensureRegistered().then(tick), registered ? everyMs : 500);
      keepRegistered.unref();
    };
    await ensureRegistered();
    tick();
  }
  process.stdout.write(JSON.stringify({ msg: 'demo MCP server started', name, url: `http://${advertise}:${port}${mcpPath}`, consul: consulBase ?? null }) + '\n');
  const stop = async () => {
    if (keepRegistered) clearTimeout(keepRegistered);
    if (consulBase) await fetch(`${consulBase}/v1/agent/service/deregister/${id}`, { method: 'PUT', headers: consulHeaders }).catch(() => undefined);
    await handle.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

function firstIpv4(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

main().catch((err) => {
  process.stderr.write(`demo-mcp-server failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
