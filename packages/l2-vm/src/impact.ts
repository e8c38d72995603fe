import type { Impact } from '@lab/core';
import { parseProps } from './_props.js';

/** Keys PVE applies at once even on a running VM (QS `$fast_plug_option`), without effect on the guest. */
const FAST = new Set(['name', 'description', 'tags', 'onboot', 'protection', 'startup']);
/** Cloud-init keys: written at once, but the guest sees them only after the ISO is regenerated at the next boot. */
const CLOUD_INIT = /^(ciuser|ciupgrade|sshkeys|cicustom|nameserver|searchdomain|ipconfig\d+)$/;

export interface KeyImpact {
  readonly impact: Impact;
  readonly note?: string;
}

export function hotplugFeatures(value: string | undefined): Set<string> {
  const raw = value ?? 'network,disk,usb';
  if (raw === '1') return new Set(['network', 'disk', 'usb']);
  if (raw === '0') return new Set();
  return new Set(raw.split(','));
}

/**
 * The cost of changing one config key, by Proxmox's rules (pve-api.md §5.4, §6.6): a stopped VM
 * takes everything at once; a running one hot-plugs what its `hotplug` features allow and keeps
 * the rest pending until it is rebooted.
 */
export function keyImpact(key: string, before: string | undefined, after: string | undefined, running: boolean, hotplug: Set<string>): KeyImpact {
  if (!running) return { impact: 'none' };
  if (FAST.has(key)) return { impact: 'none' };
  if (CLOUD_INIT.test(key)) return { impact: 'reboot', note: 'cloud-init: takes effect at the next boot' };
  if (key === 'memory') {
    const grow = Number(after) > Number(before ?? 0);
    return grow && hotplug.has('memory') ? { impact: 'hotplug' } : { impact: 'reboot', note: 'pending until reboot' };
  }
  if (key === 'balloon') return (before === '0') === (after === '0') ? { impact: 'hotplug' } : { impact: 'reboot', note: 'pending until reboot' };
  if (/^net\d+$/.test(key)) {
    if (hotplug.has('network')) return { impact: 'hotplug' };
    const a = parseProps(before);
    const b = parseProps(after);
    const sameCard = [...a.keys()][0] === [...b.keys()][0];
    return sameCard ? { impact: 'hotplug' } : { impact: 'reboot', note: 'pending until reboot' };
  }
  return { impact: 'reboot', note: 'pending until reboot' };
}

/** A disk grows online; adding one is a hotplug when `disk` hotplug is on. */
export function diskImpact(kind: 'grow' | 'add', running: boolean, hotplug: Set<string>): KeyImpact {
  if (!running) return { impact: 'none' };
  if (kind === 'grow') return { impact: 'hotplug', note: 'grown online' };
  return hotplug.has('disk') ? { impact: 'hotplug' } : { impact: 'reboot', note: 'pending until reboot' };
}
