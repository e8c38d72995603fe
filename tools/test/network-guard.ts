/**
 * Test-suite network guard: every socket a test opens must stay on this machine.
 *
 * The lab's charter for this workplace is strict: connect only to loopback (127.0.0.0/8, ::1)
 * or unix sockets. Guests are reached through the simulator's jump host or loopback-published
 * ports, never by a VM's declared address. Patching `net.Socket.prototype.connect` covers
 * `net.connect`, `tls.connect`, `http(s)`, undici/fetch and ssh2, which all end up there.
 */
import net from 'node:net';
import { isLoopbackDestination } from './loopback.js';

const original = net.Socket.prototype.connect;

function destinationOf(args: unknown[]): { host?: string; path?: string } {
  const first = args[0];
  if (Array.isArray(first)) return destinationOf(first);
  if (typeof first === 'object' && first !== null) {
    const o = first as { host?: string; path?: string };
    return { host: o.host ?? 'localhost', ...(o.path ? { path: o.path } : {}) };
  }
  if (typeof first === 'string' && Number.isNaN(Number(first))) return { path: first };
  const host = typeof args[1] === 'string' ? args[1] : 'localhost';
  return { host };
}

net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  const dest = destinationOf(args);
  if (!dest.path && !isLoopbackDestination(dest.host ?? 'localhost')) {
    throw new Error(
      `network guard: refused connection to ${dest.host}; tests may connect only to loopback ` +
        `(127.0.0.0/8, ::1, localhost) or unix sockets. Reach guests through the simulator's jump host.`,
    );
  }
  return (original as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof original;
