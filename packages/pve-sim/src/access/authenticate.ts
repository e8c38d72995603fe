import type { IncomingHttpHeaders } from 'node:http';
import type { Sim } from '../engine/sim.js';
import { RawHttpError } from '../http/_errors.js';
import { uriUnescape } from '../util/_list.js';
import { verifyCsrfToken, verifyTicket } from './tickets.js';
import { TOKENID_RE } from '../schema/_formats.js';
import { verifyPassword } from './passwords.js';

export interface AuthResult {
  readonly principal: string;
  readonly isToken: boolean;
}

/** `extract_auth_value`: `<name>=value` (or `<name> value`) at the start or after whitespace. */
function extractAuthValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const m = new RegExp(`(?:^|\\s)${name}(?:=| )([^;]*)`).exec(header);
  return m ? uriUnescape(m[1]!) : undefined;
}

/** Whether the request carries an API token and no ticket (checked even where no auth is needed). */
export function hasApiToken(headers: IncomingHttpHeaders): boolean {
  const authz = headers['authorization'];
  if (extractAuthValue(headers['cookie'], 'PVEAuthCookie') ?? extractAuthValue(authz, 'PVEAuthCookie')) return false;
  return extractAuthValue(authz, 'PVEAPIToken') !== undefined;
}

/** Paths PVE serves without authentication. */
export function requiresAuth(method: string, relUri: string): boolean {
  if (relUri === '/access/domains' && method === 'GET') return false;
  if (relUri === '/access/ticket' && (method === 'GET' || method === 'POST')) return false;
  return true;
}

function unauthorized(sim: Sim, legacy: string): never {
  throw new RawHttpError(401, sim.options.compat.unifiedAuthFailure ? 'Authentication failed!' : legacy, '');
}

/** Enabled and not expired, else PVE's message. */
export function checkUserEnabled(sim: Sim, userid: string): string | undefined {
  const user = sim.state.access.users[userid];
  if (!user) return `no such user ('${userid}')`;
  if (!user.enable) return `user '${userid}' is disabled`;
  if (user.expire && user.expire < sim.nowS()) return `user '${userid}' access expired`;
  return undefined;
}

function verifyApiToken(sim: Sim, value: string): string {
  const m = /^(.*)=(.*)$/s.exec(value);
  if (!m) unauthorized(sim, 'no tokenid specified');
  const tokenid = m[1]!;
  const secret = m[2]!;
  const t = TOKENID_RE.exec(tokenid);
  if (!t) unauthorized(sim, `'${tokenid}' is not a valid token ID`);
  const userid = t[1]!;
  const name = t[2]!;
  const userProblem = checkUserEnabled(sim, userid);
  if (userProblem) unauthorized(sim, userProblem);
  const token = sim.state.access.users[userid]?.tokens[name];
  if (!token) unauthorized(sim, `no such token '${name}' for user '${userid}'`);
  if (token.expire && token.expire < sim.nowS()) unauthorized(sim, `token '${name}' access expired`);
  if (token.secret !== secret) unauthorized(sim, 'invalid token value!');
  return tokenid;
}

/**
 * pveproxy's `auth_handler`: ticket from the `PVEAuthCookie` cookie (or the Authorization
 * header), else an API token; CSRF token required for ticket-authenticated non-GET calls
 * except uploads (browsers cannot send it with a plain form).
 * Every failure is a 401 with an empty body.
 */
export function authenticate(sim: Sim, method: string, headers: IncomingHttpHeaders, opts: { skipCsrf?: boolean } = {}): AuthResult {
  const cookie = headers['cookie'];
  const authz = headers['authorization'];
  const ticket = extractAuthValue(cookie, 'PVEAuthCookie') ?? extractAuthValue(authz, 'PVEAuthCookie');
  if (!ticket) {
    const apiToken = extractAuthValue(authz, 'PVEAPIToken');
    if (apiToken !== undefined) return { principal: verifyApiToken(sim, apiToken), isToken: true };
    throw new RawHttpError(401, 'No ticket', '');
  }
  const check = verifyTicket(sim.state.access.ticketSecret, ticket, sim.nowS());
  if (!check.ok) unauthorized(sim, 'permission denied - invalid PVE ticket');
  const problem = checkUserEnabled(sim, check.userid);
  if (problem) unauthorized(sim, problem);
  if (method !== 'GET' && !opts.skipCsrf) {
    const csrf = headers['csrfpreventiontoken'];
    const token = Array.isArray(csrf) ? csrf[0] : csrf;
    if (!verifyCsrfToken(sim.state.access.ticketSecret, check.userid, token, sim.nowS())) {
      throw new RawHttpError(401, 'Permission denied - invalid csrf token', '');
    }
  }
  return { principal: check.userid, isToken: false };
}

/** `POST /access/ticket` credential check: a password, or a still-valid ticket to renew. */
export function checkLogin(sim: Sim, userid: string, password: string): boolean {
  const renew = verifyTicket(sim.state.access.ticketSecret, password, sim.nowS());
  if (renew.ok) return renew.userid === userid && checkUserEnabled(sim, userid) === undefined;
  const user = sim.state.access.users[userid];
  if (!user?.password || checkUserEnabled(sim, userid) !== undefined) return false;
  return verifyPassword(password, user.password);
}
