import { describe, expect, it } from 'vitest';
import type { Plan } from '@lab/core';
import { isVolumeOf, legacyVolumeName, parsePersistentVolume, persistentVolumeName, planVms, sameValue, type DataVolume, type DesiredVm, type Observation, type ObservedVm, type ResourceVm, type VmAfter } from '../src/index.js';

/** Planner fixtures (pure): data volumes, placement by data, removed disks, the clone-source tag. */
const GIB = 2 ** 30;
const nodes = ['pve1', 'pve2', 'pve3'].map((node) => ({ node, online: true, maxmem: 64 * GIB, maxcpu: 8 }));
const template = (node: string, vmid: number): ResourceVm => ({ vmid, node, name: 'tpl', status: 'stopped', template: true, tags: ['lab-template', 'lab-image-debian-12-1'], maxmem: GIB, pool: undefined } as unknown as ResourceVm);
const templates = [template('pve1', 9000), template('pve2', 9001), template('pve3', 9002)];

const desired = (over: Partial<DesiredVm> = {}): DesiredVm => ({
  persona: 'db',
  node: 'auto',
  vmid: undefined,
  image: { name: 'debian-12', version: '1' },
  pool: 'lab-stable',
  config: { name: 'db', cores: '2', memory: '2048', tags: 'lab;lab-persona-db' },
  disks: [
    { name: 'root', slot: 'scsi0', storage: 'local-lvm', size: 8 * GIB, persistent: false, options: '' },
    { name: 'data', slot: 'scsi1', storage: 'local-lvm', size: GIB, persistent: true, options: '' },
  ],
  snippetStorage: 'local',
  descriptionText: undefined,
  address: undefined,
  ...over,
});

const observation = (o: Partial<Observation> = {}): Observation => ({ nodes, vms: templates, managed: new Map(), foreign: new Map(), dataVolumes: [], unseenNodes: [], dataStorages: ['local-lvm'], calls: 0, ...o });
const vol = (node: string, name: string): DataVolume => ({ node, storage: 'local-lvm', volid: `local-lvm:${name}`, size: GIB });
const plan = (d: DesiredVm[], obs: Observation, destroyData = false, mode: 'normal' | 'destroy' = 'normal'): Plan => planVms(d, obs, { mode, labVersion: 't', allowReboot: false, destroyData });
const errors = (p: Plan) => p.diagnostics.filter((x) => x.severity === 'error').map((x) => x.code);

describe('data volume names (adr/0163)', () => {
  it('joins persona and disk with a character neither can hold; the old name is still recognised', () => {
    expect(persistentVolumeName('coll', 'a-b')).not.toBe(persistentVolumeName('coll-a', 'b'));
    expect(legacyVolumeName('coll', 'a-b')).toBe(legacyVolumeName('coll-a', 'b'));
    expect(parsePersistentVolume(`local-lvm:${persistentVolumeName('coll-a', 'b')}`)).toEqual({ persona: 'coll-a', disk: 'b' });
    expect(isVolumeOf(`local-lvm:${persistentVolumeName('coll', 'a-b')}`, 'coll-a', 'b')).toBeUndefined();
    expect(isVolumeOf(`local:999999999/${legacyVolumeName('db', 'data')}.raw`, 'db', 'data')).toBe('legacy');
  });
});

describe('placement by persistent data', () => {
  it('pins node: auto to the node holding the data, and says the disk is reattached', () => {
    const p = plan([desired()], observation({ dataVolumes: [vol('pve3', persistentVolumeName('db', 'data'))] }));
    expect(errors(p)).toEqual([]);
    expect((p.changes[0]!.after as VmAfter).node).toBe('pve3');
    expect((p.changes[0]!.after as VmAfter).attach).toEqual({ scsi1: 'local-lvm:vm-999999999-lab_db_data' });
    expect(p.changes[0]!.diff.find((f) => f.path === 'disk.data')?.after).toMatch(/reattach/);
  });
  it('a new persona gets a new empty volume and says so', () => {
    const p = plan([desired()], observation());
    expect((p.changes[0]!.after as VmAfter).node).toBe('pve1');
    expect(p.changes[0]!.diff.find((f) => f.path === 'disk.data')?.after).toMatch(/new empty volume/);
  });
  it('a shared storage pins nothing', () => {
    const name = persistentVolumeName('db', 'data');
    const p = plan([desired({ node: 'pve2' })], observation({ dataVolumes: nodes.map((n) => vol(n.node, name)) }));
    expect(errors(p)).toEqual([]);
    expect((p.changes[0]!.after as VmAfter).node).toBe('pve2');
  });
  it('refuses when a node that may hold the data is down, when copies disagree, or when declared elsewhere', () => {
    expect(errors(plan([desired()], observation({ unseenNodes: ['pve3'] })))).toEqual(['LAB_L2_DATA_UNSEEN']);
    expect(errors(plan([desired()], observation({ dataVolumes: [vol('pve1', persistentVolumeName('db', 'data')), vol('pve2', persistentVolumeName('db', 'data'))] })))).toEqual(['LAB_L2_DATA_AMBIGUOUS']);
    expect(errors(plan([desired({ node: 'pve1' })], observation({ dataVolumes: [vol('pve2', persistentVolumeName('db', 'data'))] })))).toEqual(['LAB_L2_DATA_ELSEWHERE']);
  });
  it('the current name wins over a legacy one', () => {
    const p = plan([desired()], observation({ dataVolumes: [vol('pve1', legacyVolumeName('db', 'data')), vol('pve2', persistentVolumeName('db', 'data'))] }));
    expect((p.changes[0]!.after as VmAfter).attach?.['scsi1']).toBe('local-lvm:vm-999999999-lab_db_data');
  });
});

describe('an existing VM', () => {
  const vm = (config: Record<string, string>): ObservedVm => ({ persona: 'db', vmid: 101, node: 'pve1', status: 'running', config, current: config, pending: [], digest: 'd' });
  const base = { name: 'db', cores: '2', memory: '2048', tags: 'lab;lab-image-debian-12-0;lab-persona-db', boot: 'order=scsi0', hotplug: 'network,disk,usb,memory', scsi0: 'local-lvm:vm-101-disk-0,size=8G', scsi1: 'local-lvm:vm-999999999-lab_db_data,size=1G' };
  const managed = (config: Record<string, string>) => observation({ managed: new Map([['db', vm(config)]]), dataVolumes: [vol('pve1', persistentVolumeName('db', 'data'))] });

  it('the clone-source tag is history, not drift, and survives a tag change', () => {
    expect(sameValue('tags', 'lab;lab-persona-db', 'lab;lab-image-debian-12-0;lab-persona-db')).toBe(true);
    expect(plan([desired()], managed(base)).changes[0]!.action).toBe('noop');
    const p = plan([desired({ config: { ...desired().config, tags: 'lab;lab-persona-db;web' } })], managed(base));
    expect((p.changes[0]!.after as VmAfter).config['tags']).toBe('lab;lab-image-debian-12-0;lab-persona-db;web');
  });
  it('a data volume gone from its storage is a data-loss change with an error, not "No changes"', () => {
    const p = plan([desired()], observation({ managed: new Map([['db', vm(base)]]), dataVolumes: [] }));
    expect(errors(p)).toEqual(['LAB_L2_DATA_DISK_MISSING']);
    expect(p.changes[0]!.diff.find((f) => f.path === 'disk.data')).toMatchObject({ after: 'missing', impact: 'data-loss' });
  });
  it('a disk no longer declared is detached (data kept), or deleted with --destroy-data', () => {
    const cfg = { ...base, scsi2: 'local-lvm:vm-101-disk-1,size=4G' };
    const kept = plan([desired()], managed(cfg));
    expect(kept.changes[0]!.action).toBe('update');
    expect(kept.changes[0]!.diff.find((f) => f.path === 'disk.scsi2')).toMatchObject({ before: 'local-lvm:vm-101-disk-1', after: 'detached (kept as unused disk)' });
    expect(kept.changes[0]!.impact).not.toBe('data-loss');
    const gone = plan([desired()], managed(cfg), true);
    expect(gone.changes[0]!.impact).toBe('data-loss');
    expect((gone.changes[0]!.after as VmAfter).remove).toEqual([{ slot: 'scsi2', volid: 'local-lvm:vm-101-disk-1', persistent: false, destroy: true }]);
  });
  it('removing a disk above a persistent one does not shift it', () => {
    const d = desired({ disks: [desired().disks[0]!, { ...desired().disks[1]!, slot: 'scsi1' }] });
    const cfg = { ...base, scsi1: 'local-lvm:vm-101-disk-1,size=4G', scsi2: 'local-lvm:vm-999999999-lab_db_data,size=1G' };
    const p = plan([d], managed(cfg));
    const after = p.changes[0]!.after as VmAfter;
    expect(after.disks.find((x) => x.name === 'data')!.slot).toBe('scsi2');
    expect(after.remove?.map((r) => r.slot)).toEqual(['scsi1']);
  });
  it('destroy --destroy-data of a persona whose VM is gone frees its data', () => {
    const p = plan([desired()], observation({ dataVolumes: [vol('pve2', persistentVolumeName('db', 'data'))] }), true, 'destroy');
    expect(p.changes[0]).toMatchObject({ action: 'delete', impact: 'data-loss' });
    expect((p.changes[0]!.after as VmAfter).freeVolumes).toEqual([{ node: 'pve2', volid: 'local-lvm:vm-999999999-lab_db_data' }]);
    expect(plan([desired()], observation({ dataVolumes: [vol('pve2', persistentVolumeName('db', 'data'))] }), false, 'destroy').changes).toEqual([]);
  });
});
