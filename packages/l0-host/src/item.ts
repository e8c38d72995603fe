import { address, SITE_SCOPE, type Address, type Change } from '@lab/core';

/** Stable codes of L0 findings; documented in docs/l0-host.md. */
export const L0_CODES = [
  'LAB_L0_OK',
  'LAB_L0_API',
  'LAB_L0_VERSION',
  'LAB_L0_NODE_MISSING',
  'LAB_L0_NODE_DOWN',
  'LAB_L0_STORAGE_MISSING',
  'LAB_L0_STORAGE_TYPE',
  'LAB_L0_STORAGE_CONTENT',
  'LAB_L0_STORAGE_CONTENT_UNSUPPORTED',
  'LAB_L0_STORAGE_UNAVAILABLE',
  'LAB_L0_BRIDGE_MISSING',
  'LAB_L0_BRIDGE_VLAN',
  'LAB_L0_PRIVILEGE',
  'LAB_L0_CAPACITY_MEMORY',
  'LAB_L0_CAPACITY_CPU',
  'LAB_L0_CAPACITY_DISK',
  'LAB_L0_CAPACITY_PLACEMENT',
  'LAB_L0_ROLE',
  'LAB_L0_USER',
  'LAB_L0_TOKEN',
  'LAB_L0_TOKEN_SECRET',
  'LAB_L0_ACL',
  'LAB_L0_POOL',
  'LAB_L0_UNKNOWN',
  'LAB_L0_NOT_READY',
  'LAB_L0_ADMIN_REQUIRED',
  'LAB_L0_NOT_CONVERGED',
] as const;
export type L0Code = (typeof L0_CODES)[number];

export type ItemStatus = 'ok' | 'warn' | 'fail' | 'skip';

export type ItemKind = 'api' | 'node' | 'storage' | 'bridge' | 'privilege' | 'capacity' | 'role' | 'user' | 'token' | 'acl' | 'pool';

/**
 * One thing L0 looked at, and what it found. `change` is set when applying L0 fixes it (or
 * keeps it as it is: a noop change); `fixedBy` points at the change of another item that does.
 */
export interface HostItem {
  readonly address: Address;
  readonly kind: ItemKind;
  readonly status: ItemStatus;
  readonly code: L0Code | string;
  readonly summary: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly change?: Change;
  readonly fixedBy?: Address;
}

export const l0 = (kind: string, key?: string): Address => address(SITE_SCOPE, 'l0', kind, key);

export function item(fields: HostItem): HostItem {
  return fields;
}

const GIB = 2 ** 30;
/** `17179869184` → `16 GiB`, one decimal below 10. */
export function gib(bytes: number): string {
  const v = bytes / GIB;
  return `${v >= 10 || Number.isInteger(v) ? Math.round(v) : v.toFixed(1)} GiB`;
}
