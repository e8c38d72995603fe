import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentReporter } from '@lab/core';
import type { LoadedPersona } from '@lab/intent';
import { loadImageCatalog, observeSite, planPrune, resolveImage, templateOn } from '@lab/l1-image';
import { applyVms, desiredVm, observeVms, planVms } from '@lab/l2-vm';
import { apiPath, pveList, pveRecord } from '@lab/pve';
import {
  applyTemplateCapture,
  observeTemplateCapture,
  planTemplateCapture,
  readCapturedManifest,
  templateCaptureIntent,
  type CloneTarget,
  type TemplateCall,
  type TemplateCaptureContext,
} from '../src/index.js';
import { REVISION, startVmFixture, type VmFixture } from './vm-fixture.js';

const VERSION = 'media-2025.06';

/**
 * Template capture with the API-only guests: the clone → boot → clean → template pipeline, the
 * persona left as it was, and the manifest read back by L1's own loader and cloned by L2. The
 * cleaning itself runs over SSH in a real guest in vm-template-docker.test.ts; here the cleaner
 * checks what it is handed (a booted clone at the scratch address) and reports a clean guest.
 * The simulator's guest backends copy a guest's filesystem only while it is stopped (real
 * Proxmox clones a running VM live), so the persona is stopped here; it must stay so.
 */
describe('lab capture template (simulator, API-only guests)', () => {
  let fx: VmFixture;
  let root: string;
  let media: LoadedPersona;
  const seen: { target: CloneTarget; status: unknown; config: Record<string, unknown> }[] = [];

  const ctx = (over: Partial<TemplateCaptureContext> = {}): TemplateCaptureContext => ({
    client: fx.client,
    reporter: fx.reporter,
    root,
    labVersion: '0.1.0',
    revision: REVISION,
    pollMs: 10,
    async clean(target) {
      const cfg = pveRecord(await fx.client.get(apiPath('nodes', target.node, 'qemu', String(target.vmid), 'config')));
      const st = pveRecord(await fx.client.get(apiPath('nodes', target.node, 'qemu', String(target.vmid), 'status', 'current')))['status'];
      seen.push({ target, status: st, config: { ...cfg } });
      return { machineIdBytes: 0, hostKeys: 0, cloudInstance: 'absent', seedFiles: 0, aptLists: 0, machineIdBefore: 'f'.repeat(32) };
    },
    ...over,
  });

  beforeAll(async () => {
    fx = await startVmFixture();
    root = await mkdtemp(path.join(fx.base, 'lab-'));
    media = fx.persona('media');
    await fx.makePersonaVm(media, { persistent: true, start: false });
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('clones the persona, cleans the booted clone, and leaves a template and an L1 manifest', async () => {
    const before = pveRecord(await fx.client.get(apiPath('nodes', 'pve1', 'qemu', '120', 'config')));
    const intent = templateCaptureIntent(media, fx.lab.site.site, { image: 'debian-12', version: VERSION, address: '10.0.20.250/24' }, fx.lab.personas);
    const plan = planTemplateCapture(intent, await observeTemplateCapture(fx.client, root, intent), { labVersion: '0.1.0' });
    expect(plan.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(plan.changes[0]).toMatchObject({ address: `media/capture/template[debian-12@${VERSION}]`, action: 'create', impact: 'none' });
    const call = plan.changes[0]!.after as TemplateCall;
    expect(call).toMatchObject({ source: 120, vmid: 9000, name: 'tpl-debian-12-media-2025.06', rootDisk: 'scsi0', dataDisks: ['scsi1'], ipconfig0: 'ip=10.0.20.250/24,gw=10.0.20.1' });
    expect(plan.diagnostics.map((d) => d.code)).toContain('LAB_CAPTURE_TEMPLATE_DATA_DISKS');

    const r = await applyTemplateCapture(plan, intent, ctx());
    expect(r).toMatchObject({ vmid: 9000, node: 'pve1', manifest: `artifacts/images/debian-12/${VERSION}.json` });
    // The cleaner got a running clone at the scratch address that no longer looks like the persona.
    expect(seen).toHaveLength(1);
    expect(seen[0]!.target).toMatchObject({ persona: 'media', vmid: 9000, node: 'pve1', address: '10.0.20.250' });
    expect(seen[0]!.status).toBe('running');
    expect(seen[0]!.config['ipconfig0']).toBe('ip=10.0.20.250/24,gw=10.0.20.1');
    expect(pveList(seen[0]!.config['tags']).sort()).toEqual([`lab-image-debian-12-${VERSION}`, 'lab-template']);
    expect(String(seen[0]!.config['description'])).not.toContain('lab:managed');

    const tpl = pveRecord(await fx.client.get(apiPath('nodes', 'pve1', 'qemu', '9000', 'config')));
    expect(tpl['template']).toBe(1);
    expect(tpl['scsi0']).toMatch(/base-9000-disk-|vm-9000-disk-/);
    for (const k of ['scsi1', 'unused0', 'ipconfig0', 'cicustom', 'onboot', 'protection']) expect(tpl[k], k).toBeUndefined();
    expect(String(tpl['description'])).toContain(`lab-version: ${VERSION}`);
    // No copy of the data disk is left behind; the persona's own persistent volume is untouched.
    const volumes = (await fx.client.get(apiPath('nodes', 'pve1', 'storage', 'local-lvm', 'content'))) as { volid: string }[];
    expect(volumes.map((v) => v.volid).filter((v) => /-9000-/.test(v)).every((v) => /disk-0|cloudinit/.test(v))).toBe(true);
    expect(volumes.map((v) => v.volid)).toContain('local-lvm:vm-999999999-lab-media-data');
    // The persona's VM: config byte for byte as before, still stopped.
    const after = pveRecord(await fx.client.get(apiPath('nodes', 'pve1', 'qemu', '120', 'config')));
    expect(after).toEqual(before);
    expect(pveRecord(await fx.client.get(apiPath('nodes', 'pve1', 'qemu', '120', 'status', 'current')))['status']).toBe('stopped');

    const m = await readCapturedManifest(root, 'debian-12', VERSION);
    expect(m?.capture).toMatchObject({ persona: 'media', vmid: 120, node: 'pve1', commit: 'abc1234', dirty: true, labVersion: '0.1.0', sourceDigest: before['digest'] });
  });

  it('writes a manifest L1 reads and resolves like a built version', async () => {
    const catalog = await loadImageCatalog(root);
    const resolved = resolveImage(fx.lab.site.site, catalog, `debian-12@${VERSION}`);
    expect(resolved).toMatchObject({ image: 'debian-12', version: VERSION, tag: `lab-image-debian-12-${VERSION}`, templateName: 'tpl-debian-12-media-2025.06', nodes: ['pve1'] });
    expect(templateOn(resolved, 'pve1')).toMatchObject({ vmid: 9000, name: 'tpl-debian-12-media-2025.06', storage: 'local-lvm' });
    // L1 sees the template as a build of a version lab.yaml does not list: prune may take it while unused.
    const prune = planPrune(fx.lab.site.site, catalog, await observeSite(fx.client, fx.lab.site.site), [`debian-12@${VERSION}`]);
    expect(prune.remove).toEqual([{ image: 'debian-12', version: VERSION, vms: [{ node: 'pve1', vmid: 9000 }], files: [] }]);
  });

  it('is cloned by L2 for a persona on image@version', async () => {
    const tinker = fx.persona('tinker');
    const appliance: LoadedPersona = { ...tinker, persona: { ...tinker.persona, vm: { ...tinker.persona.vm, image: { name: 'debian-12', version: VERSION } } } };
    for (const stage of ['stable', 'experimental']) await fx.client.post('/pools', { poolid: `homelab-${stage}` });
    const desired = [desiredVm(appliance, fx.lab.site.site, { sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnly0000000000000000000000 t@t'], poolOf: (s) => `homelab-${s}` })];
    const plan = planVms(desired, await observeVms(fx.client, { personas: ['tinker'] }), { mode: 'normal', labVersion: 'test', allowReboot: false, destroyData: false });
    expect(plan.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(plan.changes[0]!.after).toMatchObject({ template: { vmid: 9000, node: 'pve1' }, image: { name: 'debian-12', version: VERSION } });
    await applyVms(plan, { client: fx.client, reporter: silentReporter, knownHostsFile: path.join(fx.base, 'known_hosts'), snippets: { place: (node, storage, name, content) => fx.sim.engine.placeSnippet(node, storage, name, content) }, taskPollMs: 10, pollMs: 10, agentTimeoutMs: 20_000 });
    const vm = (await observeVms(fx.client, { personas: ['tinker'] })).managed.get('tinker')!;
    expect(vm.node).toBe('pve1');
    expect(vm.status).toBe('running');
    // A full clone of the captured template, not of the persona: its own disk, from 9000's config.
    expect(vm.config['scsi0']).toMatch(new RegExp(`vm-${vm.vmid}-disk-`));
    expect(vm.config['serial0']).toBe('socket');
  });

  it('refuses an existing or declared version and a persona address, before touching anything', async () => {
    const again = templateCaptureIntent(media, fx.lab.site.site, { image: 'debian-12', version: VERSION, address: '10.0.20.10/24' }, fx.lab.personas);
    const plan = planTemplateCapture(again, await observeTemplateCapture(fx.client, root, again), { labVersion: '0.1.0' });
    expect(plan.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code)).toEqual(['LAB_CAPTURE_TEMPLATE_EXISTS', 'LAB_CAPTURE_TEMPLATE_EXISTS', 'LAB_CAPTURE_TEMPLATE_ADDRESS']);
    const declared = templateCaptureIntent(media, fx.lab.site.site, { image: 'debian-12', version: '20250210-2019', address: '10.0.20.250/24' });
    expect(declared.declared).toBe(true);
    expect(() => templateCaptureIntent(media, fx.lab.site.site, { image: 'ubuntu-24', version: 'x', address: '10.0.20.250/24' })).toThrow(/catalogue/);
    expect(() => templateCaptureIntent(media, fx.lab.site.site, { image: 'debian-12', version: 'x', address: '10.0.20.250' })).toThrow(/prefix/);
  });

  it('removes the clone when cleaning fails, and writes no manifest', async () => {
    const intent = templateCaptureIntent(media, fx.lab.site.site, { image: 'debian-12', version: 'broken', address: '10.0.20.251/24' }, fx.lab.personas);
    const plan = planTemplateCapture(intent, await observeTemplateCapture(fx.client, root, intent), { labVersion: '0.1.0' });
    const vmid = (plan.changes[0]!.after as TemplateCall).vmid;
    const boom = ctx({ clean: async () => { throw new Error('guest unreachable'); } });
    await expect(applyTemplateCapture(plan, intent, boom)).rejects.toThrow('guest unreachable');
    const vms = (await fx.client.get('/cluster/resources', { type: 'vm' })) as { vmid: number }[];
    expect(vms.map((v) => v.vmid)).not.toContain(vmid);
    expect(existsSync(path.join(root, 'artifacts/images/debian-12/broken.json'))).toBe(false);
    expect(pveRecord(await fx.client.get(apiPath('nodes', 'pve1', 'qemu', '120', 'status', 'current')))['status']).toBe('stopped');
  });
});
