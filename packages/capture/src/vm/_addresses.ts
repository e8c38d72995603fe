import { address, type Address } from '@lab/core';

/** `media/capture/vm`: the persona's VM as capture sees it (plan bases, errors). */
export function vmAddress(persona: string): Address {
  return address(persona, 'capture', 'vm');
}

/** `media/capture/vm.backup[local:backup/vzdump-qemu-120-….vma.zst]`; without a volid: the archive about to be made. */
export function backupAddress(persona: string, volid?: string): Address {
  return address(persona, 'capture', 'vm.backup', volid);
}

/** `media/capture/vm.restore[120]`: the VM a restore writes. */
export function restoreAddress(persona: string, vmid: number): Address {
  return address(persona, 'capture', 'vm.restore', String(vmid));
}

/** `media/capture/template[debian-12@media-2025.06]`. */
export function templateAddress(persona: string, image: string, version: string): Address {
  return address(persona, 'capture', 'template', `${image}@${version}`);
}
