/**
 * HAProxy's runtime API over its admin socket (`stats socket <path> level admin`),
 * used by the bench to take routers in and out of rotation without a reload.
 */
import * as net from 'node:net';

/** Sends one command and returns HAProxy's answer (it closes the connection after answering). */
export function haproxyCommand(socketPath: string, command: string, timeoutMs = 5_000): Promise<string> {
  if (/[\r\n]/.test(command)) throw new Error(`HAProxy command must be one line; received ${JSON.stringify(command)}`);
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    let out = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`HAProxy runtime API at ${socketPath} did not answer ${JSON.stringify(command)} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${command}\n`));
    sock.on('data', (d: string) => (out += d));
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/**
 * Sets a server's admin state: `drain` takes it out of rotation (no new calls; it
 * stays UP, health checks go on, so `ready` brings it back at once). Not `set weight`:
 * servers filled from Consul's SRV records get the record's weight back at every
 * DNS resolution. Throws with HAProxy's answer when it refuses.
 */
export async function setServerState(socketPath: string, backend: string, server: string, state: 'ready' | 'drain' | 'maint'): Promise<void> {
  const answer = (await haproxyCommand(socketPath, `set server ${backend}/${server} state ${state}`)).trim();
  // HAProxy answers nothing on success, or a message saying what is wrong.
  if (answer) throw new Error(`HAProxy refused "set server ${backend}/${server} state ${state}": ${answer}`);
}
