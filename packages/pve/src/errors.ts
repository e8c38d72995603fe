import { LabError, type LabErrorOptions } from '@lab/core';

/** Every code `@lab/pve` raises; stable, documented in docs/l0-host.md. */
export const PVE_ERROR_CODES = [
  'LAB_PVE_AUTH',
  'LAB_PVE_PERMISSION',
  'LAB_PVE_LOCKED',
  'LAB_PVE_NOT_FOUND',
  'LAB_PVE_CONFLICT',
  'LAB_PVE_INVALID',
  'LAB_PVE_TASK_FAILED',
  'LAB_PVE_TIMEOUT',
  'LAB_PVE_TASK_SILENT',
  'LAB_PVE_UNREACHABLE',
  'LAB_PVE_TLS_PIN',
  'LAB_PVE_UNSUPPORTED',
  'LAB_PVE_VERSION',
  'LAB_PVE_CONFIG',
  'LAB_PVE_API',
] as const;
export type PveErrorCode = (typeof PVE_ERROR_CODES)[number];

/** What the client knew about the failed call; kept on the error for callers that branch. */
export interface PveCallInfo {
  readonly method: string;
  /** API path below `/api2/json`. */
  readonly path: string;
  /** HTTP status, or undefined when no response arrived. */
  readonly status?: number;
  /** PVE's message: JSON `message`, else the reason phrase, else the raw body; no trailing newline. */
  readonly message?: string;
  /** Per-parameter messages of a 400. */
  readonly paramErrors?: Readonly<Record<string, string>>;
  /** Whether PVE can have acted on the request (false: refused before any effect). */
  readonly mayHaveActed?: boolean;
}

export interface PveErrorOptions extends Omit<LabErrorOptions, 'code'> {
  readonly code: PveErrorCode;
  readonly call?: PveCallInfo;
}

/**
 * A failure talking to Proxmox. `code` says what kind (auth, permission, lock…), `call` keeps
 * the status and PVE's own message so callers can branch without parsing text twice.
 */
export class PveError extends LabError {
  override readonly code: PveErrorCode;
  readonly call: PveCallInfo | undefined;

  constructor(options: PveErrorOptions) {
    super(options);
    this.name = 'PveError';
    this.code = options.code;
    this.call = options.call;
  }

  /** PVE's message (or the summary when there was no response). */
  get pveMessage(): string {
    return this.call?.message ?? this.summary;
  }
}

export function isPveError(value: unknown, code?: PveErrorCode): value is PveError {
  return value instanceof PveError && (code === undefined || value.code === code);
}

/** Find a PveError in a `cause` chain (undici wraps connector errors in `fetch failed`). */
export function findPveError(value: unknown): PveError | undefined {
  let cur: unknown = value;
  for (let depth = 0; depth < 8 && cur !== undefined && cur !== null; depth++) {
    if (cur instanceof PveError) return cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The message PVE gave: `message` (pve-http-server ≥ 5.2.0), else reason phrase, else body text. */
export function pveMessage(reason: string, body: unknown, text: string): string {
  const fromJson = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
  const raw = typeof fromJson === 'string' && fromJson.trim() !== '' ? fromJson : reason.trim() !== '' ? reason : text;
  return raw.replace(/\s+$/, '');
}

/** 403 text `Permission check failed (/vms/101, VM.Allocate)` → path and privileges. */
export function parsePermissionMessage(message: string): { path?: string; privileges: string[] } {
  const m = /Permission check failed \(([^,)]+)(?:,\s*([^)]+))?\)/.exec(message);
  if (!m) return { privileges: [] };
  const first = m[1]!.trim();
  if (!first.startsWith('/')) return { privileges: [] };
  return { path: first, privileges: (m[2] ?? '').split('|').map((s) => s.trim()).filter(Boolean) };
}

const LOCK_RE = /VM is locked \(([^)]+)\)|can't lock file '([^']+)' - got timeout/;
const NOT_FOUND_RE = /does not exist|no such (?:resource|task|token|user|vm|storage|pool|role|group|ha)|No such file or directory|unable to find configuration file/i;

function describeParams(errors: Readonly<Record<string, string>> | undefined): string | undefined {
  if (!errors) return undefined;
  const lines = Object.entries(errors).map(([k, v]) => `${k}: ${v.replace(/\s+$/, '')}`);
  return lines.length > 0 ? lines.join('\n') : undefined;
}

/** Turn an HTTP error answer into the matching PveError with a hint that names the fix. */
export function errorFromResponse(call: PveCallInfo & { readonly status: number; readonly message: string }, principal: string): PveError {
  const where = `${call.method} ${call.path}`;
  const msg = call.message;
  if (call.status === 401) {
    return new PveError({
      code: 'LAB_PVE_AUTH',
      summary: `Proxmox rejected the credentials of ${principal} (${msg || '401'})`,
      detail: `${where} answered 401`,
      hint: principal.includes('!')
        ? `check that token ${principal} exists and has not expired (\`pveum user token list ${principal.split('!')[0]}\`) and that its secret in the secrets store is current (\`lab secret edit site/pve-token\`)`
        : 'check the user name and password; for a ticket older than 2 h lab logs in again by itself',
      call,
    });
  }
  if (call.status === 403) {
    const perm = parsePermissionMessage(msg);
    const missing = perm.path !== undefined && perm.privileges.length > 0 ? `${perm.privileges.join(' or ')} on ${perm.path}` : undefined;
    return new PveError({
      code: 'LAB_PVE_PERMISSION',
      summary: missing ? `${principal} lacks ${missing}` : `${principal} is not allowed to ${where}: ${msg}`,
      detail: `${where}: ${msg}`,
      hint: missing
        ? `grant it with \`lab apply --layer l0\` (admin credentials), or by hand: pveum acl modify ${perm.path} --tokens '${principal}' --roles <role with ${perm.privileges[0]}>`
        : 'run `lab check --layer l0` to list every missing privilege',
      call,
    });
  }
  const lock = LOCK_RE.exec(msg);
  if (lock) {
    return new PveError({
      code: 'LAB_PVE_LOCKED',
      summary: lock[1] !== undefined ? `the VM is locked (${lock[1]}): ${where}` : `a Proxmox lock was busy: ${msg}`,
      detail: msg,
      hint:
        lock[1] !== undefined
          ? 'wait for the running task (backup, clone, snapshot…) to finish; a lock left by a crashed task is cleared with `qm unlock <vmid>` on the node'
          : 'another task holds the lock; lab retries this automatically, so repeated failures mean a task is stuck — check the task list on the node',
      call,
    });
  }
  if (call.status === 400) {
    return new PveError({
      code: 'LAB_PVE_INVALID',
      summary: `Proxmox refused the parameters of ${where}: ${msg}`,
      detail: describeParams(call.paramErrors) ?? msg,
      hint: 'this is a bug in lab or an unsupported Proxmox version if the intent validated; run `lab check --layer l0`',
      call,
    });
  }
  if (call.status === 404 || NOT_FOUND_RE.test(msg)) {
    return new PveError({
      code: 'LAB_PVE_NOT_FOUND',
      summary: `not found: ${msg} (${where})`,
      detail: msg,
      hint: 'the object was removed outside lab or never created; run `lab plan` to see what lab will create',
      call,
    });
  }
  if (/already exists/i.test(msg)) {
    return new PveError({ code: 'LAB_PVE_CONFLICT', summary: `already exists: ${msg}`, detail: where, hint: 'run `lab plan` again: the world changed since the plan was made', call });
  }
  if (call.status >= 595 || call.status === 502 || call.status === 503 || call.status === 504) {
    return new PveError({
      code: 'LAB_PVE_UNREACHABLE',
      summary: `Proxmox could not reach the node for ${where}: ${call.status} ${msg}`,
      detail: 'pveproxy forwards requests to the node that owns the object; that node did not answer',
      hint: 'check that every node is up (`pvecm status`) and that pveproxy/pvedaemon run on it',
      call,
    });
  }
  if (call.status === 501) {
    return new PveError({
      code: 'LAB_PVE_UNSUPPORTED',
      summary: `Proxmox does not implement ${where}: ${msg}`,
      hint: 'this Proxmox version lacks the endpoint; run `lab check --layer l0` for the supported versions',
      call,
    });
  }
  return new PveError({
    code: 'LAB_PVE_API',
    summary: `${where} failed: ${call.status} ${msg}`,
    detail: describeParams(call.paramErrors),
    hint: 'read the message above; the Proxmox syslog (`journalctl -u pvedaemon -u pveproxy`) has the details',
    call,
  });
}
