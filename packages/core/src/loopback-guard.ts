import net from 'node:net';

/** True when `host` names this machine's loopback: 127.0.0.0/8, ::1, or `localhost`. */
export function isLoopbackDestination(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) return isLoopbackDestination(h.slice(7));
  if (net.isIPv4(h)) return h.startsWith('127.');
  return false;
}

function destinationOf(args: unknown[]): { host?: string; path?: string } {
  const first = args[0];
  if (Array.isArray(first)) return destinationOf(first);
  if (typeof first === 'object' && first !== null) {
    const o = first as { host?: string; path?: string };
    return { host: o.host ?? 'localhost', ...(o.path ? { path: o.path } : {}) };
  }
  if (typeof first === 'string' && Number.isNaN(Number(first))) return { path: first };
  return { host: typeof args[1] === 'string' ? args[1] : 'localhost' };
}

let installed = false;

/**
 * Refuse, in this process, every socket to anything but loopback or a unix socket. Patching
 * `net.Socket.prototype.connect` covers net, tls, http(s), undici/fetch and ssh2. The test suite
 * installs it for every test; the CLI installs it for an embedded lab, whose whole world is
 * this machine, so a persona that names an Internet URL fails loudly instead of reaching out.
 */
export function installLoopbackGuard(reason: string): void {
  if (installed) return;
  installed = true;
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    const dest = destinationOf(args);
    if (!dest.path && !isLoopbackDestination(dest.host ?? 'localhost')) {
      throw new Error(`network guard: refused a connection to ${dest.host}: ${reason}`);
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof original;
}
