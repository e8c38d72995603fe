import net from 'node:net';

/** True when `host` names this machine's loopback: 127.0.0.0/8, ::1, or `localhost`. */
export function isLoopbackDestination(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) return isLoopbackDestination(h.slice(7));
  if (net.isIPv4(h)) return h.startsWith('127.');
  return false;
}
