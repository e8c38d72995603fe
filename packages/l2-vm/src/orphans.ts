import { createPlan, type Change, type Diagnostic, type FieldDiff, type Plan } from '@lab/core';
import { readClusterResources, type PveClient } from '@lab/pve';
import type { DesiredDisk } from './desired.js';
import { basisKey, HOLDER_VMID, LAB_TAG, parsePersistentVolume, personaOfDescription, personaOfTags, vmAddress } from './identity.js';
import { readVm } from './observe.js';
import type { VmAfter, VmBefore } from './plan.js';

/**
 * A VM lab made (tag and description marker) for a persona that is no longer in Git: it shows
 * in no persona's plan, so drift reports it and `lab destroy --orphan <vmid>` removes it.
 */
export interface OrphanVm {
  readonly persona: string;
  readonly vmid: number;
  readonly node: string;
  readonly name: string;
  readonly status: string;
  readonly config: Readonly<Record<string, string>>;
  readonly digest: string;
  /** Persistent data volumes attached to it (kept when it is destroyed, unless --destroy-data). */
  readonly dataDisks: readonly { readonly slot: string; readonly volid: string; readonly disk: string; readonly storage: string }[];
}

const DISK_SLOT = /^(scsi|virtio|sata|ide)\d+$/;

function legacyVolume(volid: string, persona: string): { persona: string; disk: string } | undefined {
  const name = volid.slice(volid.indexOf(':') + 1).replace(/\.(raw|qcow2|vmdk)$/, '');
  const prefix = `vm-${HOLDER_VMID}-lab-${persona}-`;
  return name.startsWith(prefix) && /^[a-z][a-z0-9-]*$/.test(name.slice(prefix.length)) ? { persona, disk: name.slice(prefix.length) } : undefined;
}

/** Disk lines of a config: slot → volid, leaving out CD-ROMs and the cloud-init drive. */
function disksOf(config: Readonly<Record<string, string>>): { slot: string; volid: string }[] {
  return Object.entries(config)
    .filter(([k, v]) => DISK_SLOT.test(k) && !/media=cdrom/.test(v) && !/cloudinit/.test(v))
    .map(([slot, v]) => ({ slot, volid: v.split(',')[0]! }))
    .filter((d) => d.volid.includes(':'));
}

/**
 * Every managed VM whose persona is not in `declared`: one `cluster/resources` read, then one
 * config read per candidate (tag `lab` + `lab-persona-<name>`); the description marker decides,
 * as for the VMs of declared personas (adr/0085).
 */
export async function findOrphans(client: PveClient, declared: readonly string[]): Promise<OrphanVm[]> {
  const known = new Set(declared);
  const { vms } = await readClusterResources(client);
  const out: OrphanVm[] = [];
  for (const vm of vms) {
    if (vm.template || !vm.tags.includes(LAB_TAG)) continue;
    const persona = personaOfTags(vm.tags);
    if (!persona || known.has(persona)) continue;
    const read = await readVm(client, vm.node, vm.vmid);
    if (personaOfDescription(read.config['description'] ?? read.current['description']) !== persona) continue;
    const dataDisks = disksOf(read.config).flatMap(({ slot, volid }) => {
      // Today's name, or the one before adr/0163 (`vm-999999999-lab-<persona>-<disk>`), read
      // knowing the persona: either way the volume is owned by the holder id and outlives the VM.
      const p = parsePersistentVolume(volid) ?? legacyVolume(volid, persona);
      return p && p.persona === persona ? [{ slot, volid, disk: p.disk, storage: volid.split(':')[0]! }] : [];
    });
    out.push({ persona, vmid: vm.vmid, node: vm.node, name: vm.name, status: vm.status, config: read.config, digest: read.digest, dataDisks });
  }
  return out.sort((a, b) => a.vmid - b.vmid);
}

export interface PlanOrphanOptions {
  readonly labVersion: string;
  readonly destroyData: boolean;
  /** The site's snippet storage, where the VM's host-key snippet lies. */
  readonly snippetStorage: string;
}

/** The management address cloud-init was given (`ipconfig0: ip=10.0.30.40/24,…`), for known_hosts. */
const addressOf = (config: Readonly<Record<string, string>>): string | undefined => /(?:^|,)ip=([^/,]+)/.exec(config['ipconfig0'] ?? '')?.[1];

/**
 * Destroying orphans, planned from what the cluster says (there is no intent left): the VM goes,
 * its persistent data volumes stay detached unless `destroyData`. The change has the shape of a
 * persona's L2 delete, so `applyVms` applies it, with the same lock and stale-plan check.
 */
export function planOrphanDestroy(orphans: readonly OrphanVm[], opts: PlanOrphanOptions): Plan {
  const changes: Change[] = [];
  const diagnostics: Diagnostic[] = [];
  const basis: Record<string, string> = {};
  for (const o of orphans) {
    basis[basisKey(o.persona)] = o.digest;
    if (o.config['protection'] === '1') {
      diagnostics.push({ severity: 'error', code: 'LAB_L2_PROTECTED', summary: `VM ${o.vmid} (orphan of ${o.persona}) has protection=1; destroy is refused`, address: vmAddress(o.persona), hint: `lift it in Proxmox first: qm set ${o.vmid} --protection 0` });
    }
    const diff: FieldDiff[] = [{ path: 'vm', before: `${o.vmid} on ${o.node}`, impact: 'recreate', note: `persona ${o.persona} is no longer in Git` }];
    const disks: DesiredDisk[] = [];
    for (const { slot, volid } of disksOf(o.config)) {
      const data = o.dataDisks.find((d) => d.slot === slot);
      const kept = data !== undefined && !opts.destroyData;
      diff.push({ path: `disk.${data?.disk ?? slot}`, before: o.config[slot], impact: data === undefined ? 'recreate' : kept ? 'none' : 'data-loss', note: kept ? 'detached and retained' : 'deleted' });
      disks.push({ name: data?.disk ?? slot, slot, storage: volid.split(':')[0]!, size: 0, persistent: data !== undefined, options: '' });
    }
    const loses = opts.destroyData && o.dataDisks.length > 0;
    const address = addressOf(o.config);
    const before: VmBefore = { vmid: o.vmid, node: o.node, status: o.status, config: o.config, pending: [] };
    const after: VmAfter = { node: o.node, vmid: o.vmid, pool: '', config: {}, disks, snippetStorage: opts.snippetStorage, ...(address ? { address } : {}), image: { name: '', version: '' }, set: [], grow: {}, add: [], start: false, reboot: false, destroyData: opts.destroyData };
    changes.push({ address: vmAddress(o.persona), layer: 'l2', kind: 'vm', action: 'delete', impact: loses ? 'data-loss' : 'recreate', before, after, diff, sensitivePaths: [], steps: [{ kind: 'api', description: `stop and destroy VM ${o.vmid}` }], reason: `orphan: persona ${o.persona} is no longer in Git` });
  }
  return createPlan({ labVersion: opts.labVersion, personas: orphans.map((o) => o.persona), layers: ['l2'], mode: 'destroy', basis, changes, diagnostics });
}
