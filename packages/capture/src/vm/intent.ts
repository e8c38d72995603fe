import { LabError } from '@lab/core';
import type { LoadedPersona } from '@lab/intent';
import { vmAddress } from './_addresses.js';

export type VzdumpMode = 'snapshot' | 'suspend' | 'stop';
export type VzdumpCompress = 'zstd' | 'lzo' | 'gzip' | 'none';

/** A persona's `capture.vm`, with what capture needs to find its VM. */
export interface VmCaptureIntent {
  readonly persona: string;
  /** `vm.vmid`, when declared (one way to find the VM). */
  readonly vmid?: number;
  readonly storage: string;
  readonly mode: VzdumpMode;
  readonly compress: VzdumpCompress;
  readonly keep: number;
  readonly schedule: string;
}

/** Whether the persona takes whole-VM backups at all. */
export function vmCaptureEnabled(p: LoadedPersona): boolean {
  return p.persona.capture?.vm?.enabled === true;
}

/**
 * The `capture.vm` of a persona, refusing one that does not enable it: whole-VM backups cost
 * storage and are opt-in (the schema's default is `enabled: false`).
 */
export function vmCaptureIntent(p: LoadedPersona): VmCaptureIntent {
  const vm = p.persona.capture?.vm;
  if (!vm || !vm.enabled) {
    throw new LabError({
      code: 'LAB_CAPTURE_VM_DISABLED',
      summary: vm ? `persona ${p.name} declares capture.vm but does not enable it` : `persona ${p.name} takes no whole-VM backups (no capture.vm)`,
      hint: vm
        ? `set capture.vm.enabled: true in ${p.file}`
        : `declare it under capture: in ${p.file}, e.g. vm: { enabled: true, storage: local, keep: 2 } (docs/capture-vm.md)`,
      address: vmAddress(p.name),
    });
  }
  return {
    persona: p.name,
    ...(p.persona.vm.vmid !== undefined ? { vmid: p.persona.vm.vmid } : {}),
    storage: vm.storage,
    mode: vm.mode,
    compress: vm.compress,
    keep: vm.keep,
    schedule: vm.schedule,
  };
}

/**
 * Where a persona's archives live, for listing and restoring: `capture.vm.storage` (enabled or
 * not: a persona that stopped taking backups still has its old ones), or the caller's override.
 */
export function backupStorageOf(p: LoadedPersona, override?: string): string {
  const storage = override ?? p.persona.capture?.vm?.storage;
  if (!storage) {
    throw new LabError({
      code: 'LAB_CAPTURE_VM_NO_STORAGE',
      summary: `persona ${p.name} names no backup storage (no capture.vm)`,
      hint: 'pass --storage <name> (a storage with backup content), or declare capture.vm in the persona',
      address: vmAddress(p.name),
    });
  }
  return storage;
}
