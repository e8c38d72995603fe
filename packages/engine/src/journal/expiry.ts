import { formatDuration, type LoadedPersona } from '@lab/intent';
import type { JournalEntry } from './entry.js';
import { vmCreation, type VmCreation } from './queries.js';

/** How old an experimental persona's VM is and whether its TTL ran out. */
export interface Expiry {
  readonly persona: string;
  readonly stage: 'stable' | 'experimental';
  readonly ttlSeconds: number | undefined;
  readonly protection: boolean;
  readonly vm: VmCreation;
  /** Seconds since the VM was created; undefined when the journal does not know. */
  readonly ageSeconds: number | undefined;
  readonly expiresAt: Date | undefined;
  readonly expired: boolean;
}

export function expiryOf(p: LoadedPersona, entries: readonly JournalEntry[], now: Date): Expiry {
  const { lifecycle, vm } = p.persona;
  const created = vmCreation(entries, p.name);
  const ageSeconds = created.state === 'created' ? Math.max(0, Math.floor((now.getTime() - created.at.getTime()) / 1000)) : undefined;
  const ttl = lifecycle.stage === 'experimental' ? lifecycle.ttl : undefined;
  const expiresAt = created.state === 'created' && ttl !== undefined ? new Date(created.at.getTime() + ttl * 1000) : undefined;
  return {
    persona: p.name,
    stage: lifecycle.stage,
    ttlSeconds: ttl,
    protection: vm.protection,
    vm: created,
    ageSeconds,
    expiresAt,
    expired: expiresAt !== undefined && expiresAt.getTime() <= now.getTime(),
  };
}

/** A duration for people: to the nearest minute, at least one (`age 1m` rather than `age 7s`). */
const roughly = (seconds: number): string => formatDuration(Math.max(60, Math.round(seconds / 60) * 60));

/** Whether `lab reap` destroys it, and why (not). Stable and protected personas never are. */
export function reapVerdict(e: Expiry, now: Date): { readonly reap: boolean; readonly reason: string } {
  if (e.stage !== 'experimental') return { reap: false, reason: 'stable' };
  if (e.ttlSeconds === undefined) return { reap: false, reason: 'experimental without a ttl' };
  if (e.vm.state === 'destroyed') return { reap: false, reason: 'its VM was destroyed' };
  if (e.vm.state === 'unknown') return { reap: false, reason: 'age unknown: no VM creation in the journal' };
  if (!e.expired) return { reap: false, reason: `expires in ${roughly(((e.expiresAt?.getTime() ?? 0) - now.getTime()) / 1000)}` };
  if (e.protection) return { reap: false, reason: 'expired, but vm.protection is set' };
  return { reap: true, reason: `expired: age ${roughly(e.ageSeconds ?? 0)} > ttl ${formatDuration(e.ttlSeconds)}` };
}

/** One cell for `lab personas`: `ttl 7d, age 2d3h, expires in 4d21h` and the like. */
export function describeExpiry(e: Expiry, now: Date): string | undefined {
  if (e.stage !== 'experimental' || e.ttlSeconds === undefined) return undefined;
  const ttl = `ttl ${formatDuration(e.ttlSeconds)}`;
  if (e.vm.state === 'destroyed') return `${ttl}, no VM (destroyed ${e.vm.at.toISOString().slice(0, 10)})`;
  if (e.vm.state === 'unknown' || e.ageSeconds === undefined || e.expiresAt === undefined) return `${ttl}, age unknown: no VM creation in the journal`;
  const age = `age ${roughly(e.ageSeconds)}`;
  const left = (e.expiresAt.getTime() - now.getTime()) / 1000;
  return left > 0 ? `${ttl}, ${age}, expires in ${roughly(left)}` : `${ttl}, ${age}, EXPIRED ${roughly(-left)} ago`;
}
