import { describe, expect, it } from 'vitest';
import { hasErrors } from '@lab/core';
import { imageTag as l1ImageTag, isBuildVm, parseProvenance, templateName as l1TemplateName, TEMPLATE_VMID_RANGE, type ImageManifest } from '@lab/l1-image';
import {
  archiveFromLog,
  bootDiskOf,
  capturedManifest,
  imageTag,
  notesTemplate,
  parseBackupNotes,
  parseBackupRow,
  parseConfigFile,
  planVmRestore,
  planVmRetention,
  templateDescription,
  templateName,
  TEMPLATE_VMIDS,
  vzdumpImpact,
  type BackupArchive,
  type PersonaVm,
  type RestoreCall,
  type VmRestoreObservation,
} from '../src/index.js';

const archive = (volid: string, ctime: number, extra: Partial<BackupArchive> = {}): BackupArchive => ({ volid, node: 'pve1', storage: 'local', vmid: 120, ctime, size: 10, format: 'vma.zst', protected: false, lab: { persona: 'media', commit: 'abc', labVersion: '0.1.0' }, ...extra });

describe('backup notes', () => {
  it('round-trips lab\'s marker and ignores notes lab did not write', () => {
    const t = notesTemplate({ persona: 'media', commit: '1a2b3c4-dirty', labVersion: '0.1.0' });
    expect(t).toBe('lab:capture persona=media commit=1a2b3c4-dirty lab=0.1.0 vm={{guestname}}');
    expect(parseBackupNotes(t.replace('{{guestname}}', 'media'))).toEqual({ persona: 'media', commit: '1a2b3c4-dirty', labVersion: '0.1.0' });
    for (const other of [undefined, '', 'media', 'weekly job', 'lab:managed persona=media', 'xlab:capture persona=media commit=a lab=1']) expect(parseBackupNotes(other)).toBeUndefined();
    expect(() => notesTemplate({ persona: 'Media X', commit: 'a', labVersion: '1' })).toThrow();
  });

  it('reads storage rows: VM archives only, the marker parsed, the vmid from the name when absent', () => {
    expect(parseBackupRow({ volid: 'local:backup/vzdump-lxc-200-x.tar.zst', content: 'backup', subtype: 'lxc', vmid: 200 }, 'pve1', 'local')).toBeUndefined();
    expect(parseBackupRow({ volid: 'local:iso/x.iso', content: 'iso' }, 'pve1', 'local')).toBeUndefined();
    const row = parseBackupRow({ volid: 'local:backup/vzdump-qemu-120-2025_06_01-02_00_00.vma.zst', content: 'backup', ctime: '1748743200', size: 5, format: 'vma.zst', notes: 'lab:capture persona=media commit=none lab=0.1.0 vm=media', protected: 1 }, 'pve1', 'local');
    expect(row).toMatchObject({ vmid: 120, ctime: 1748743200, protected: true, lab: { persona: 'media', commit: 'none' } });
  });
});

describe('planVmRetention', () => {
  it('keeps the newest `keep` of lab\'s archives of the VM and never counts or deletes the others', () => {
    const all = [
      archive('a1', 100),
      archive('a2', 200),
      archive('a3', 300),
      archive('hand', 400, { lab: undefined, notes: 'before upgrade' }),
      archive('prot', 50, { protected: true }),
      archive('other-vm', 10, { vmid: 121 }),
      archive('other-persona', 20, { lab: { persona: 'tinker', commit: 'x', labVersion: '1' } }),
    ];
    const plan = planVmRetention(all, { persona: 'media', vmid: 120, keep: 2 });
    expect(plan.keep.map((a) => a.volid)).toEqual(['a3', 'a2']);
    expect(plan.delete.map((a) => a.volid)).toEqual(['a1']);
    expect(Object.fromEntries(plan.untouched.map((u) => [u.archive.volid, u.why]))).toEqual({
      hand: 'not made by lab (no lab:capture notes)',
      prot: 'protected',
      'other-vm': "of VM 121, not the persona's current VM 120",
      'other-persona': 'made for persona tinker',
    });
    expect(planVmRetention(all, { persona: 'media', vmid: 120, keep: 5 }).delete).toEqual([]);
    // Equal times are ordered by name, so two runs agree on what goes.
    expect(planVmRetention([archive('x', 1), archive('y', 1)], { persona: 'media', vmid: 120, keep: 1 }).delete.map((a) => a.volid)).toEqual(['x']);
  });
});

describe('vzdump', () => {
  it('finds the archive in the task log and rates each mode\'s impact', () => {
    expect(archiveFromLog(['INFO: starting new backup job', "INFO: creating vzdump archive '/var/lib/vz/dump/vzdump-qemu-120-2025_06_01-02_00_00.vma.zst'"], 'local')).toBe('local:backup/vzdump-qemu-120-2025_06_01-02_00_00.vma.zst');
    expect(archiveFromLog(['TASK OK'], 'local')).toBeUndefined();
    expect([vzdumpImpact('snapshot', true), vzdumpImpact('suspend', true), vzdumpImpact('stop', true), vzdumpImpact('stop', false)]).toEqual(['none', 'restart', 'reboot', 'none']);
  });
});

describe('archive config', () => {
  it('parses description comments, drives, and what backup=0 left out', () => {
    const cfg = parseConfigFile(
      [
        '#Jellyfin%3A the living room',
        '#',
        '#lab:managed persona=media',
        '#qmdump#map:scsi0:drive-scsi0:local-lvm:raw:',
        'boot: order=scsi0',
        'ide2: local-lvm:vm-120-cloudinit,media=cdrom',
        'memory: 1024',
        'scsi0: local-lvm:vm-120-disk-0,size=4G',
        'scsi1: local-lvm:vm-999999999-lab-media-library,backup=0,size=2T',
        'tags: lab;lab-persona-media;media',
        '',
        '[pre-upgrade]',
        'memory: 512',
      ].join('\n'),
    );
    expect(cfg.config['description']).toBe('Jellyfin: the living room\n\nlab:managed persona=media');
    expect(cfg.config['memory']).toBe('1024');
    expect(cfg.tags).toEqual(['lab', 'lab-persona-media', 'media']);
    expect(cfg.disks).toEqual({ scsi0: 'local-lvm:vm-120-disk-0' });
    expect(cfg.excluded).toEqual({ scsi1: 'local-lvm:vm-999999999-lab-media-library' });
    expect(bootDiskOf(cfg.config)).toBe('scsi0');
    expect(bootDiskOf({ virtio0: 'local-lvm:vm-1-disk-0', scsi0: 'local-lvm:vm-1-disk-1', boot: 'order=net0;virtio0' })).toBe('virtio0');
  });
});

describe('planVmRestore chooses where to restore', () => {
  const cfg = parseConfigFile('#lab:managed persona=media\nmemory: 1024\nscsi0: local-lvm:vm-120-disk-0,size=4G\ntags: lab;lab-persona-media\n');
  const vm: PersonaVm = { persona: 'media', vmid: 120, node: 'pve1', name: 'media', status: 'running', tags: ['lab'], lock: undefined, protection: false, config: { memory: '2048', scsi0: 'local-lvm:vm-120-disk-0,size=4G' }, digest: 'd1' };
  const obs = (over: Partial<VmRestoreObservation> = {}): VmRestoreObservation => ({ vm, archives: [archive('local:backup/a', 1)], archive: archive('local:backup/a', 1), archiveConfig: cfg, used: new Map([[120, 'media']]), nextid: 101, ...over });
  const call = (intent: Parameters<typeof planVmRestore>[0], o = obs()) => planVmRestore(intent, o, { labVersion: 't' }).changes[0]?.after as RestoreCall | undefined;
  const base = { persona: 'media', storage: 'local', force: false };

  it('copy by default, overwrite with --force, recreate when the VM is gone', () => {
    expect(call(base)).toMatchObject({ mode: 'copy', vmid: 101, unique: true, start: false, expectedTags: ['lab', 'lab-restore'] });
    expect(call(base)!.overrides).toMatchObject({ name: 'media-restore', onboot: '0', tags: 'lab;lab-restore' });
    expect(call({ ...base, force: true })).toMatchObject({ mode: 'overwrite', vmid: 120, start: true, unique: false, owner: 'media' });
    expect(call({ ...base, target: 150 })).toMatchObject({ mode: 'copy', vmid: 150 });
    expect(call(base, obs({ vm: undefined, used: new Map() }))).toMatchObject({ mode: 'recreate', vmid: 120, start: true, owner: 'media' });
    expect(call({ ...base, pool: 'homelab-stable' }, obs({ vm: undefined, used: new Map() }))).toMatchObject({ pool: 'homelab-stable' });
  });

  it('refuses what Proxmox would refuse, before anything runs', () => {
    const codes = (intent: Parameters<typeof planVmRestore>[0], o = obs()) => planVmRestore(intent, o, { labVersion: 't' }).diagnostics.filter((d) => d.severity === 'error').map((d) => d.code);
    expect(codes({ ...base, target: 120 })).toEqual(['LAB_CAPTURE_RESTORE_FORCE']);
    expect(codes({ ...base, force: true }, obs({ vm: { ...vm, protection: true, lock: 'backup' } }))).toEqual(['LAB_CAPTURE_RESTORE_PROTECTED', 'LAB_CAPTURE_VM_LOCKED']);
    expect(codes({ ...base, force: true }, obs({ archive: archive('local:backup/a', 1, { node: 'pve2' }) }))).toEqual(['LAB_CAPTURE_RESTORE_NODE']);
    expect(codes({ ...base, target: 120 }, obs({ vm: undefined }))).toEqual(['LAB_CAPTURE_RESTORE_VMID_TAKEN']);
    expect(codes(base, obs({ archive: undefined, archiveConfig: undefined }))).toEqual(['LAB_CAPTURE_RESTORE_NO_ARCHIVE']);
    const over = planVmRestore({ ...base, force: true }, obs(), { labVersion: 't' });
    expect(hasErrors(over.diagnostics)).toBe(false);
    expect(over.changes[0]).toMatchObject({ action: 'replace', impact: 'data-loss', diff: [{ path: 'memory', before: '2048', after: '1024' }, { path: 'tags', after: 'lab;lab-persona-media' }] });
  });
});

describe('captured manifests and templates speak L1\'s contract', () => {
  it('names and tags templates exactly as L1 does', () => {
    for (const [image, version] of [['debian-12', 'media-2025.06'], ['debian-12', 'Media_2025..06-'], ['alma9', '9.5_x']] as const) {
      expect(imageTag(image, version)).toBe(l1ImageTag(image, version));
      expect(templateName(image, version)).toBe(l1TemplateName(image, version));
    }
    expect(TEMPLATE_VMIDS).toEqual(TEMPLATE_VMID_RANGE);
  });

  it('is an ImageManifest, and its template is an L1 build VM by L1\'s own test', () => {
    const m = capturedManifest({
      image: 'debian-12',
      version: 'media-1',
      os: 'debian',
      cloudInitUser: 'debian',
      template: { node: 'pve1', vmid: 9000, storage: 'local-lvm', format: 'raw', createdAt: '2025-06-01T00:00:00.000Z' },
      serialConsole: true,
      guestAgent: true,
      provenance: { persona: 'media', vmid: 120, node: 'pve1', commit: 'abc', dirty: false, capturedAt: '2025-06-01T00:00:00.000Z', labVersion: '0.1.0', sourceDigest: 'd' },
    });
    const asL1: ImageManifest = m;
    expect(asL1.templates[0]).toMatchObject({ vmid: 9000, name: 'tpl-debian-12-media-1' });
    const provenance = parseProvenance(templateDescription(m));
    expect(provenance).toMatchObject({ image: 'debian-12', version: 'media-1', url: 'lab-capture://media/120@pve1', build: 'captured' });
    expect(isBuildVm({ node: 'pve1', vmid: 9000, name: 'tpl-debian-12-media-1', tags: ['lab-template', m.tag], template: true, status: 'stopped', provenance: provenance! })).toBe(true);
  });
});
