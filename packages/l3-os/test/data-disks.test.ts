import { describe, expect, it } from 'vitest';
import { hasErrors } from '@lab/core';
import { emptyIntent, planL3, type L3Intent } from '@lab/l3-os';
import { freshGuestFacts } from './_facts.js';

const DEV = '/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi1';
const intent: L3Intent = {
  ...emptyIntent('vault'),
  dataDisks: [{ name: 'data', device: DEV, filesystem: 'ext4', mount: '/srv/vault' }],
  directories: [{ path: '/srv/vault/db', mode: '0700', owner: 'root', group: 'root', state: 'present' }],
};
const plan = (block: unknown) => planL3(intent, freshGuestFacts(intent, { [`block[${DEV}]`]: block }));

describe('data disks (vm.disks[] with a mount)', () => {
  it('formats a blank disk once with its name as label, then mounts it by label before directories', () => {
    const p = plan({ present: true });
    expect(hasErrors(p.diagnostics)).toBe(false);
    const addrs: string[] = p.changes.map((c) => c.address);
    const disk = p.changes.find((c) => c.address === 'vault/l3/disk[data]')!;
    expect(disk.action).toBe('create');
    expect(disk.steps.map((s) => s.description)).toEqual([`format data (${DEV}) as ext4, label data`]);
    const mount = p.changes.find((c) => c.address === 'vault/l3/mount[/srv/vault]')!;
    expect(mount.action).toBe('create');
    expect((mount as { unifiedDiff?: string }).unifiedDiff).toContain('+LABEL=data /srv/vault ext4 defaults,nofail 0 2');
    expect(addrs.indexOf('vault/l3/mount[/srv/vault]')).toBeLessThan(addrs.indexOf('vault/l3/directory[/srv/vault/db]'));
  });

  it('never reformats a disk that carries a filesystem: labelled, it is a noop; otherwise it is relabelled', () => {
    expect(plan({ present: true, type: 'ext4', label: 'data', uuid: 'u' }).changes.find((c) => c.address === 'vault/l3/disk[data]')!.action).toBe('noop');
    const relabel = plan({ present: true, type: 'ext4', label: 'old', uuid: 'u' }).changes.find((c) => c.address === 'vault/l3/disk[data]')!;
    expect(relabel.action).toBe('update');
    expect(relabel.steps.map((s) => s.description)).toEqual(["label data's ext4 filesystem data"]);
    const foreign = plan({ present: true, type: 'ntfs' });
    expect(foreign.diagnostics.map((d) => d.code)).toContain('LAB_L3_DISK_FOREIGN');
  });

  it('a disk that is not attached is an error that says how to attach it', () => {
    const p = plan({ present: false });
    const d = p.diagnostics.find((x) => x.code === 'LAB_L3_DISK_MISSING')!;
    expect(d.severity).toBe('error');
    expect(d.hint).toBe('lab apply --layer l2 --persona vault');
  });
});

describe('data disks in lab up\'s projection (the VM does not exist yet)', () => {
  it('plans the format and mount, with no error: L2 attaches the disk before L3 runs', async () => {
    const { loadLab } = await import('@lab/intent');
    const { projectOs } = await import('@lab/l3-os');
    const { fileURLToPath } = await import('node:url');
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const lab = await loadLab(root);
    const media = lab.personas.find((p) => p.name === 'media')!;
    const { Secret } = await import('@lab/core');
    const secrets = { get: async (name: string) => new Secret(`value of ${name}`) };
    const plan = await projectOs({ persona: media.persona, root, secrets, labVersion: 't' });
    expect(plan.diagnostics.filter((d) => d.code === 'LAB_L3_DISK_MISSING')).toEqual([]);
    expect(plan.changes.find((c) => c.address === 'media/l3/disk[appdata]')?.action).toBe('create');
  });
});
