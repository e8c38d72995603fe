/** A decoded task id (pve-api.md §4.1). */
export interface Upid {
  readonly upid: string;
  readonly node: string;
  readonly pid: number;
  readonly pstart: number;
  readonly starttime: number;
  /** Worker type: `qmclone`, `qmstart`, `download`, `vzdump`… */
  readonly type: string;
  /** Usually the vmid; may be empty. */
  readonly id: string;
  /** `user@realm` or `user@realm!token`. */
  readonly user: string;
}

const UPID_RE =
  /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

/** Parse a UPID as PVE does (`upid_decode`); undefined when it is not one. */
export function parseUpid(text: string): Upid | undefined {
  const m = UPID_RE.exec(text);
  if (!m) return undefined;
  return {
    upid: text,
    node: m[1]!,
    pid: parseInt(m[2]!, 16),
    pstart: parseInt(m[3]!, 16),
    starttime: parseInt(m[4]!, 16),
    type: m[5]!,
    id: m[6]!,
    user: m[7]!,
  };
}

export function isUpid(value: unknown): value is string {
  return typeof value === 'string' && parseUpid(value) !== undefined;
}

/** `OK` and `WARNINGS: n` are success (PC `upid_status_is_error`). */
export function isTaskSuccess(exitstatus: string | undefined): boolean {
  return exitstatus === 'OK' || /^WARNINGS: \d+$/.test(exitstatus ?? '');
}
