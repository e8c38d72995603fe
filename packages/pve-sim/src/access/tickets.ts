import { createHmac, timingSafeEqual } from 'node:crypto';

/** PVE's ticket lifetime (`$ticket_lifetime`) and the clock-skew grace it tolerates. */
export const TICKET_LIFETIME_S = 7200;
const MIN_AGE_S = -300;

function hex8(epochS: number): string {
  return epochS.toString(16).toUpperCase().padStart(8, '0');
}

function sign(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data).digest('base64').replace(/=+$/, '');
}

function equal(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/**
 * `PVE:<userid>:<HEX8 epoch>::<signature>` as PVE's `assemble_rsa_ticket` lays it out. The
 * signature is an HMAC rather than RSA: clients treat it as opaque.
 */
export function createTicket(secret: string, userid: string, nowS: number): string {
  const plain = `PVE:${encodeURIComponent(userid).replace(/%40/g, '@')}:${hex8(nowS)}`;
  return `${plain}::${sign(secret, plain)}`;
}

export type TicketCheck = { readonly ok: true; readonly userid: string; readonly age: number } | { readonly ok: false };

export function verifyTicket(secret: string, ticket: string, nowS: number): TicketCheck {
  const m = /^(PVE:(\S+):([A-Z0-9]{8}))::(.+)$/.exec(ticket);
  if (!m) return { ok: false };
  const plain = m[1]!;
  if (!equal(sign(secret, plain), m[4]!)) return { ok: false };
  const age = nowS - parseInt(m[3]!, 16);
  if (age < MIN_AGE_S || age > TICKET_LIFETIME_S) return { ok: false };
  return { ok: true, userid: decodeURIComponent(m[2]!), age };
}

/** `<HEX8 epoch>:<base64 hmac>` like `assemble_csrf_prevention_token`. */
export function createCsrfToken(secret: string, userid: string, nowS: number): string {
  const ts = hex8(nowS);
  return `${ts}:${sign(`csrf:${secret}`, `${ts}:${userid}`)}`;
}

export function verifyCsrfToken(secret: string, userid: string, token: string | undefined, nowS: number): boolean {
  if (!token) return false;
  const m = /^([A-Z0-9]{8}):(\S+)$/.exec(token);
  if (!m) return false;
  if (!equal(sign(`csrf:${secret}`, `${m[1]}:${userid}`), m[2]!)) return false;
  const age = nowS - parseInt(m[1]!, 16);
  return age >= MIN_AGE_S && age <= TICKET_LIFETIME_S;
}
