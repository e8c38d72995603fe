import { shq } from '@lab/ssh';
import { blockDeviceFact, type BlockDeviceInfo } from '../facts/block.js';
import type { MountSpec } from './mounts.js';
import { makeChange, noopChange, result, type OpContext, type Operation, type Step } from './operation.js';

/** A persona's data disk (`vm.disks[]` with a mount) as the guest must present it. */
export interface DataDiskSpec {
  /** The disk's name in the persona, e.g. `data`. */
  readonly name: string;
  /** Stable device path, `/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi1`. */
  readonly device: string;
  readonly filesystem: 'ext4' | 'xfs' | 'btrfs';
  readonly mount: string;
}

const LABEL_MAX: Record<DataDiskSpec['filesystem'], number> = { ext4: 16, xfs: 12, btrfs: 255 };

/** The filesystem label lab gives a data disk and mounts it by: its name, cut to the filesystem's limit. */
export function diskLabel(spec: Pick<DataDiskSpec, 'name' | 'filesystem'>): string {
  return spec.name.slice(0, LABEL_MAX[spec.filesystem]);
}

/** The fstab entry of a data disk: by label, `nofail` so a missing disk never blocks the boot. */
export function dataDiskMount(spec: DataDiskSpec): MountSpec {
  return { path: spec.mount, device: `LABEL=${diskLabel(spec)}`, type: spec.filesystem, options: ['defaults', 'nofail'], dump: 0, pass: 2, state: 'mounted' };
}

function mkfs(spec: DataDiskSpec): string {
  const label = shq(diskLabel(spec));
  if (spec.filesystem === 'xfs') return `mkfs.xfs -q -L ${label}`;
  if (spec.filesystem === 'btrfs') return `mkfs.btrfs -q -L ${label}`;
  return `mkfs.ext4 -q -L ${label}`;
}

function relabel(spec: DataDiskSpec, type: string, dev: string): string | undefined {
  const label = shq(diskLabel(spec));
  if (/^ext[234]$/.test(type)) return `e2label ${dev} ${label}`;
  if (type === 'xfs') return `xfs_admin -L ${label} ${dev}`;
  if (type === 'btrfs') return `btrfs filesystem label ${dev} ${label}`;
  return undefined;
}

/**
 * Format a data disk once and label it, so that the mount (by label, see dataDiskMount) finds it
 * whichever slot it sits in. A disk that carries a filesystem is never formatted again: that is
 * what makes a persistent disk re-attached to a new VM keep its data. The first format copies
 * what the mount point already holds on the root disk onto the new filesystem, so mounting over
 * it hides nothing.
 */
export function dataDiskOp(ctx: OpContext, spec: DataDiskSpec): Operation {
  const fact = blockDeviceFact(spec.device);
  const dev = shq(spec.device);
  const label = diskLabel(spec);
  return {
    id: `disk[${spec.name}]`,
    facts: [fact],
    plan(facts) {
      const d: BlockDeviceInfo = facts.get(fact);
      const state = { device: spec.device, filesystem: d.type ?? (d.present ? 'none' : 'absent'), label: d.label ?? '' };
      if (!d.present) {
        return result([noopChange(ctx, 'disk', spec.name, `not attached at ${spec.device}`, state)], [], {
          diagnostics: [
            {
              severity: 'error',
              code: 'LAB_L3_DISK_MISSING',
              summary: `data disk "${spec.name}" is not attached to ${ctx.persona} (no ${spec.device})`,
              hint: `lab apply --layer l2 --persona ${ctx.persona}`,
            },
          ],
        });
      }
      const want = { device: spec.device, filesystem: d.type ?? spec.filesystem, label };
      if (d.type && d.label === label) return result([noopChange(ctx, 'disk', spec.name, `${d.type} labelled ${label}`, state)]);
      const steps: Step[] = [];
      if (!d.type) {
        const m = shq(spec.mount);
        steps.push({
          kind: 'shell',
          description: `format ${spec.name} (${spec.device}) as ${spec.filesystem}, label ${label}`,
          script: [
            `${mkfs(spec)} ${dev} || return 1`,
            // Whatever the mount point holds on the root disk moves onto the new filesystem.
            `if [ -d ${m} ] && ! mountpoint -q ${m} && [ -n "$(ls -A ${m})" ]; then`,
            `  lab_t=$(mktemp -d) && mount ${dev} "$lab_t" && cp -a ${m}/. "$lab_t"/ && umount "$lab_t" && rmdir "$lab_t" || return 1`,
            'fi',
          ].join('\n'),
        });
      } else {
        const cmd = relabel(spec, d.type, dev);
        if (!cmd) {
          return result([noopChange(ctx, 'disk', spec.name, `holds ${d.type}, which lab does not relabel`, state)], [], {
            diagnostics: [{ severity: 'error', code: 'LAB_L3_DISK_FOREIGN', summary: `data disk "${spec.name}" holds a ${d.type} filesystem; lab never reformats a disk`, hint: `label it ${label} yourself, or detach it and declare a new disk` }],
          });
        }
        steps.push({ kind: 'shell', description: `label ${spec.name}'s ${d.type} filesystem ${label}`, script: `${cmd} || return 1` });
      }
      return result(
        [makeChange(ctx, 'disk', spec.name, { action: d.type ? 'update' : 'create', impact: 'none', before: state, after: want, diff: [{ path: d.type ? 'label' : 'filesystem', before: d.type ? (d.label ?? '') : 'none', after: d.type ? label : `${spec.filesystem} (${label})` }], steps })],
        steps,
        { predicts: [[fact, { present: true, type: d.type ?? spec.filesystem, label, ...(d.uuid ? { uuid: d.uuid } : {}) }]] },
      );
    },
  };
}
