import type { PropSchema } from './_types.js';

/** PVE's standard options (`get_standard_option`) and small builders for route schemas. */
export const std = {
  node: { type: 'string', format: 'pve-node' },
  vmid: { type: 'integer', format: 'pve-vmid', minimum: 100, maximum: 999999999 },
  storage: { type: 'string', format: 'pve-storage-id' },
  userid: { type: 'string', format: 'pve-userid', maxLength: 64 },
  tokenid: { type: 'string', format: 'pve-tokenid' },
  roleid: { type: 'string', format: 'pve-roleid' },
  poolid: { type: 'string', format: 'pve-poolid' },
  snapname: { type: 'string', format: 'pve-configid', maxLength: 40 },
  digest: { type: 'string', maxLength: 40, optional: true },
  skiplock: { type: 'boolean', optional: true },
} as const satisfies Record<string, PropSchema>;

export function opt(schema: PropSchema, extra: Partial<PropSchema> = {}): PropSchema {
  return { ...schema, ...extra, optional: true };
}

export const str = (extra: Partial<PropSchema> = {}): PropSchema => ({ type: 'string', ...extra });
export const int = (extra: Partial<PropSchema> = {}): PropSchema => ({ type: 'integer', ...extra });
export const num = (extra: Partial<PropSchema> = {}): PropSchema => ({ type: 'number', ...extra });
export const bool = (extra: Partial<PropSchema> = {}): PropSchema => ({ type: 'boolean', ...extra });
