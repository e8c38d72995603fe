import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChanges, type Plan } from '@lab/core';
import { apiPath, pveArray, pveRecord, pveString } from '@lab/pve';
import { describeVm, HOLDER_VMID, hostKeySnippetName, LAB_TAG, legacyVolumeName, observeDesired, personaTag, planVms, readVm, type DesiredDisk, type DesiredVm } from '../src/index.js';
import { startL2, type L2Fixture } from './_fixture.js';

/**
 * adr/0163: persistent data volumes are named so no two (persona, disk) pairs meet, old names are
 * still found, a vanished volume shows in the plan, persistent data pins placement, and a disk
 * taken out of a persona is detached (or, with --destroy-data, freed) — never silently ignored.
 */
const GIB = 2 ** 30;

/** A persona made by hand (validation would refuse this pair; L2 must keep them apart anyway). */
function variant(base: DesiredVm, persona: string, disks: { name: string; size?: number }[], node = base.node): DesiredVm {
  const all: DesiredDisk[] = [base.disks.find((d) => d.name === 'root')!, ...disks.map((d, i) => ({ name: d.name, slot: `scsi${i + 1}`, storage: 'local-lvm', size: d.size ?? GIB, persistent: true, options: 'backup=0' }))];
  const config = { ...base.config, name: persona, tags: [LAB_TAG, personaTag(persona)].sort().join(';'), description: describeVm(persona, undefined), cicustom: `vendor=local:snippets/${hostKeySnippetName(persona)}`, ipconfig0: 'ip=dhcp' };
  delete (config as Record<string, string>)['ipconfig1'];
  return { ...base, persona, node, vmid: undefined, config, disks: all, address: undefined, descriptionText: undefined };
}

describe('persistent data disks', () => {
  let fx: L2Fixture;
  let media: DesiredVm;
  const plan = async (desired: DesiredVm[], o: { mode?: 'normal' | 'destroy'; destroyData?: boolean } = {}): Promise<Plan> =>
    planVms(desired, await observeDesired(fx.client, desired), { mode: o.mode ?? 'normal', labVersion: 'test', allowReboot: true, destroyData: o.destroyData ?? false });
  const holderVolumes = async (node: string): Promise<string[]> =>
    pveArray(await fx.client.get(apiPath('nodes', node, 'storage', 'local-lvm', 'content'), { vmid: HOLDER_VMID })).map((r) => pveString(pveRecord(r)['volid'])!).sort();
  const errors = (p: Plan): string[] => p.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code);

  beforeAll(async () => {
    fx = await startL2();
    media = fx.desired(fx.lab.personas.filter((p) => p.name === 'media'))[0]!;
  }, 120_000);
  afterAll(async () => fx?.close());

  it('keeps persona coll disk a-b and persona coll-a disk b apart: destroying one never touches the other', async () => {
    const coll = variant(media, 'coll', [{ name: 'a-b' }]);
    const collA = variant(media, 'coll-a', [{ name: 'b' }]);
    const first = await plan([coll, collA]);
    expect(errors(first)).toEqual([]);
    await fx.apply(first);
    expect(await holderVolumes('pve1')).toEqual(['local-lvm:vm-999999999-lab_coll-a_b', 'local-lvm:vm-999999999-lab_coll_a-b']);
    await fx.apply(await plan([coll], { mode: 'destroy', destroyData: true }));
    expect(await holderVolumes('pve1')).toEqual(['local-lvm:vm-999999999-lab_coll-a_b']);
    expect(hasChanges(await plan([collA]))).toBe(false);
    // Its volume freed behind lab's back: the plan says so, it does not say "No changes".
    await fx.client.delete(apiPath('nodes', 'pve1', 'storage', 'local-lvm', 'content', 'local-lvm:vm-999999999-lab_coll-a_b')).catch(() => undefined);
    const after = await plan([collA]);
    expect(errors(after)).toContain('LAB_L2_DATA_DISK_MISSING');
    expect(after.changes[0]!.diff.find((f) => f.path === 'disk.b')).toMatchObject({ after: 'missing', impact: 'data-loss' });
    await fx.apply(await plan([collA], { mode: 'destroy', destroyData: true }));
  }, 120_000);

  it('finds a volume named the old way, and persistent data pins a node: auto placement to its node', async () => {
    const old = legacyVolumeName('keep', 'data');
    await fx.client.post(apiPath('nodes', 'pve3', 'storage', 'local-lvm', 'content'), { vmid: HOLDER_VMID, filename: old, size: '1G' });
    const keep = variant(media, 'keep', [{ name: 'data' }], 'auto');
    const p = await plan([keep]);
    expect(errors(p)).toEqual([]);
    const c = p.changes[0]!;
    expect((c.after as { node: string }).node).toBe('pve3');
    expect(c.diff.find((f) => f.path === 'disk.data')?.after).toMatch(/reattach local-lvm:vm-999999999-lab-keep-data/);
    // Declared on another node than its data: refused, not an empty disk there.
    expect(errors(await plan([{ ...keep, node: 'pve1' }]))).toContain('LAB_L2_DATA_ELSEWHERE');
    await fx.apply(p);
    const vm = (await observeDesired(fx.client, [keep])).managed.get('keep')!;
    expect(vm.node).toBe('pve3');
    expect(vm.config['scsi1']).toMatch(new RegExp(`^local-lvm:${old},`));
    expect(hasChanges(await plan([keep]))).toBe(false);
    // Re-created after a destroy that keeps data: lands where the data is, with it.
    await fx.apply(await plan([keep], { mode: 'destroy' }));
    const again = await plan([keep]);
    expect((again.changes[0]!.after as { node: string }).node).toBe('pve3');
    await fx.apply(await plan([keep], { mode: 'destroy', destroyData: true }));
    expect(await holderVolumes('pve3')).toEqual([]);
  }, 120_000);

  it('a disk taken out of a persona is a change: detached with its data kept, or freed with --destroy-data', async () => {
    const two = variant(media, 'drop', [{ name: 'keepme' }, { name: 'gone' }]);
    await fx.apply(await plan([two]));
    const one = variant(media, 'drop', [{ name: 'keepme' }]);
    const p = await plan([one]);
    expect(p.changes[0]!.action).toBe('update');
    expect(p.changes[0]!.diff.find((f) => f.path === 'disk.gone')).toMatchObject({ before: 'local-lvm:vm-999999999-lab_drop_gone', after: 'detached (volume kept)' });
    expect(p.changes[0]!.impact).not.toBe('data-loss');
    await fx.apply(p);
    expect(await holderVolumes('pve1')).toContain('local-lvm:vm-999999999-lab_drop_gone');
    expect(hasChanges(await plan([one]))).toBe(false);
    // Removing a disk above another does not shift the one kept.
    const onlySecond = variant(media, 'drop', []);
    const d = await plan([onlySecond], { destroyData: true });
    expect(d.changes[0]!.impact).toBe('data-loss');
    expect(d.changes[0]!.diff.find((f) => f.path === 'disk.keepme')).toMatchObject({ impact: 'data-loss' });
    await fx.apply(d);
    expect(await holderVolumes('pve1')).not.toContain('local-lvm:vm-999999999-lab_drop_keepme');
    const vm = (await observeDesired(fx.client, [onlySecond])).managed.get('drop')!;
    const read = await readVm(fx.client, vm.node, vm.vmid);
    expect(Object.values(read.config).some((v) => v.includes('lab_drop_keepme'))).toBe(false);
  }, 120_000);
});
