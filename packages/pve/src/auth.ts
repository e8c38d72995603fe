import type { Secret } from '@lab/core';
import { PveError } from './errors.js';

/** An API token: stateless, no CSRF; what every layer uses (pve-api.md §2.1). */
export interface TokenAuth {
  readonly kind: 'token';
  /** `user@realm!tokenname`. */
  readonly tokenId: string;
  readonly secret: Secret<string>;
}

/** User and password: a 2 h ticket plus CSRF token, renewed before it expires (§2.2). */
export interface TicketAuth {
  readonly kind: 'ticket';
  /** `user@realm`, e.g. `root@pam`. */
  readonly username: string;
  readonly password: Secret<string>;
  /** Renew a ticket older than this. Default 105 min (PVE tickets live 120 min). */
  readonly renewAfterMs?: number;
}

export type PveAuth = TokenAuth | TicketAuth;

export const TOKEN_ID_RE = /^([^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$/;
const TICKET_LIFETIME_MS = 7_200_000;
export const DEFAULT_RENEW_AFTER_MS = 105 * 60_000;

/** `lab@pve!lab` → `{ user: 'lab@pve', token: 'lab' }`; undefined when malformed. */
export function splitTokenId(tokenId: string): { readonly user: string; readonly token: string } | undefined {
  const m = TOKEN_ID_RE.exec(tokenId);
  return m ? { user: m[1]!, token: m[2]! } : undefined;
}

export interface LoginAnswer {
  readonly ticket: string;
  readonly csrf: string;
  readonly username: string;
}

/** How the auth layer logs in: a POST to /access/ticket without credentials. */
export type LoginCall = (username: string, password: string) => Promise<LoginAnswer>;

/** Supplies the headers of each request and recovers from a 401 when it can. */
export interface AuthSession {
  /** Who acts: `user@realm!token` or `user@realm`. */
  readonly principal: string;
  readonly kind: PveAuth['kind'];
  headers(method: string): Promise<Record<string, string>>;
  /** After a 401: true when fresh credentials were obtained and the request may be sent again. */
  recover(): Promise<boolean>;
  /** Epoch ms of the current ticket (tickets only), for tests and diagnostics. */
  readonly ticketIssuedAt: number | undefined;
}

export function createAuthSession(auth: PveAuth, login: LoginCall, clock: () => number): AuthSession {
  if (auth.kind === 'token') {
    if (!TOKEN_ID_RE.test(auth.tokenId)) {
      throw new PveError({
        code: 'LAB_PVE_CONFIG',
        summary: `'${auth.tokenId}' is not a Proxmox API token id`,
        hint: 'write it as <user>@<realm>!<token>, e.g. lab@pve!lab',
      });
    }
    const secret = auth.secret.reveal().trim();
    if (secret === '' || /\s/.test(secret)) {
      throw new PveError({ code: 'LAB_PVE_CONFIG', summary: `the secret of token ${auth.tokenId} is empty or contains whitespace`, hint: 'store the UUID Proxmox printed when the token was created: `lab secret edit site/pve-token`' });
    }
    const header = `PVEAPIToken=${auth.tokenId}=${secret}`;
    return {
      principal: auth.tokenId,
      kind: 'token',
      ticketIssuedAt: undefined,
      headers: async () => ({ Authorization: header }),
      // A token cannot be refreshed; a 401 is final.
      recover: async () => false,
    };
  }
  return ticketSession(auth, login, clock);
}

function ticketSession(auth: TicketAuth, login: LoginCall, clock: () => number): AuthSession {
  const renewAfter = Math.min(auth.renewAfterMs ?? DEFAULT_RENEW_AFTER_MS, TICKET_LIFETIME_MS - 60_000);
  let current: (LoginAnswer & { issuedAt: number }) | undefined;
  let inflight: Promise<void> | undefined;

  const obtain = (renew: boolean): Promise<void> => {
    inflight ??= (async () => {
      const started = clock();
      try {
        // Renewal sends the still-valid ticket as the password (§2.2); if that fails, log in anew.
        const answer = renew && current ? await login(auth.username, current.ticket).catch(() => login(auth.username, auth.password.reveal())) : await login(auth.username, auth.password.reveal());
        current = { ...answer, issuedAt: started };
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };

  return {
    principal: auth.username,
    kind: 'ticket',
    get ticketIssuedAt() {
      return current?.issuedAt;
    },
    async headers(method: string) {
      if (current === undefined) await obtain(false);
      else if (clock() - current.issuedAt >= renewAfter) await obtain(true);
      const c = current!;
      const h: Record<string, string> = { Cookie: `PVEAuthCookie=${encodeURIComponent(c.ticket)}` };
      if (method !== 'GET') h['CSRFPreventionToken'] = c.csrf;
      return h;
    },
    async recover() {
      current = undefined;
      await obtain(false);
      return true;
    },
  };
}
