import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentReporter } from '@lab/core';
import { loadLab, type Persona } from '@lab/intent';
import { checkOs } from '@lab/l3-os';
import { createPveClient, pveArray, pveRecord } from '@lab/pve';
import { dockerEngineVersion, guestInstanceName } from '@lab/pve-sim';
import { lab, WORKSPACE } from './_harness.js';
import { createLayerContext } from '../src/layers/context.js';
import { guestConnection } from '../src/layers/guest-ssh.js';
import { createScratchLab, type ScratchLab } from '../src/scratch-lab.js';

const engine = await dockerEngineVersion();
if (!engine && process.env.CI === 'true') throw new Error('no Docker engine answers (CI=true): run tools/docker/ensure-dockerd.sh');

// A small profile keeps apt short: one package, one file, one line; the broken image fails in apt.
const SMALL = { include: [], os: { packages: ['tree'], files: [{ path: '/etc/lab-baked', content: 'baked by lab\n', mode: '0644' }], lines: [{ path: '/etc/environment', line: 'LAB_BAKED=1' }] }, network: { bridge: 'vmbr0', vlan: 30, address: '10.0.30.250/24' } };
const BROKEN = { include: [], os: { files: [{ path: '/etc/lab-broken', content: 'x\n' }], packages: ['lab-no-such-package'] }, network: { bridge: 'vmbr0', vlan: 30, address: '10.0.30.249/24' } };

/**
 * `lab apply --layer l1` bakes on the embedded simulator with real Docker guests: a full clone of
 * debian-12 converged with a small profile by L3, cleaned and templated; the manifest records base,
 * profile hash and dpkg list; a persona cloned from it has nothing of the profile left to do; a
 * profile that fails leaves no template, no VM and no manifest, and names the failed operation.
 */
describe.skipIf(!engine)('baked templates (embedded simulator, Docker guests)', () => {
  let s: ScratchLab;
  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'lab-bake-'));
    s = await createScratchLab({
      from: WORKSPACE,
      to: join(base, 'lab'),
      identityFile: join(base, 'age.key'),
      sshKeyFile: join(base, 'id_ed25519'),
      edit: (doc) => {
        const images = doc.get('images') as { items: { get(k: string): unknown }[] };
        const i = images.items.findIndex((it) => it.get('name') === 'debian-12-docker');
        doc.setIn(['images', i, 'bake'], doc.createNode(SMALL));
        doc.addIn(['images'], doc.createNode({ name: 'broken', os: 'debian', from: 'debian-12@stable', bake: BROKEN }));
      },
    });
    process.env.LAB_AGE_KEY_FILE = s.identityFile;
  }, 60_000);
  afterAll(async () => {
    delete process.env['LAB_IMAGE'];
    if (!s) return;
    const instance = guestInstanceName(join(s.root, '.lab/sim'));
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=lab.pve-sim.instance=${instance}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids]);
  }, 120_000);

  async function vms(): Promise<{ vmid: number; name: string; template: boolean }[]> {
    const session = createLayerContext(await loadLab(s.root), [], silentReporter, { allowReboot: false, destroyData: false, targets: [] });
    try {
      const ep = await session.proxmox();
      const client = createPveClient({ url: ep.url, ...(ep.fingerprint ? { fingerprint: ep.fingerprint } : {}), auth: { kind: 'token', tokenId: ep.tokenId, secret: ep.tokenSecret } });
      session.onClose(() => client.close());
      return pveArray(await client.get('/cluster/resources', { type: 'vm' })).map(pveRecord).map((r) => ({ vmid: Number(r['vmid']), name: String(r['name']), template: Number(r['template'] ?? 0) === 1 }));
    } finally {
      await session.close();
    }
  }

  it('bakes a profile into a template whose manifest records base, hash and packages; a clone has nothing left to converge', async () => {
    const l0 = await lab('apply', '--layer', 'l0', '-y', '--root', s.root);
    expect(l0.code, l0.stderr).toBe(0);
    const site = (await loadLab(s.root)).site.site;
    const image = site.images.find((i) => i.name === 'debian-12-docker')!;
    const version = image.stable;

    const planned = await lab('plan', '--layer', 'l1', '--root', s.root);
    expect(planned.code, planned.stderr).toBe(2);
    expect(planned.stdout + planned.stderr).toContain(`debian-12-docker@${version}`);
    expect(planned.stdout + planned.stderr).toContain('first bake of this image');

    process.env['LAB_IMAGE'] = 'debian-12-docker';
    const apply = await lab('apply', '--layer', 'l1', '-y', '--root', s.root);
    expect(apply.code, apply.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(s.root, `artifacts/images/debian-12-docker/${version}.json`), 'utf8'));
    expect(manifest).toMatchObject({
      image: 'debian-12-docker',
      version,
      source: { url: `bake:debian-12@${image.baked!.base.version}`, checksum: { algorithm: 'sha256', value: image.baked!.hash } },
      bake: { base: { image: 'debian-12', version: image.baked!.base.version }, profileHash: image.baked!.hash },
    });
    expect(version).toBe(`${image.baked!.base.version}-${image.baked!.hash.slice(0, 8)}`);
    expect(manifest.bake.packages).toContainEqual(expect.stringMatching(/^tree \S+$/));
    expect(manifest.bake.packages).toContainEqual(expect.stringMatching(/^openssh-server \S+$/));
    expect(manifest.bake.converge.changed).toBeGreaterThan(0);
    expect(manifest.templates).toHaveLength(site.nodes.length);
    // The scratch address is pinned only while the bake runs.
    expect(readFileSync(join(s.root, '.lab/known_hosts'), 'utf8')).not.toContain('10.0.30.250');
    // Again: nothing to do.
    const again = await lab('plan', '--layer', 'l1', '--root', s.root);
    expect(again.code, again.stdout + again.stderr).toBe(0);

    // tinker is cloned from the baked template by L2; the profile's operations are all in place.
    const l2 = await lab('apply', '--layer', 'l2', '--persona', 'tinker', '-y', '--root', s.root);
    expect(l2.code, l2.stderr).toBe(0);
    const loaded = await loadLab(s.root);
    const tinker = loaded.personas.find((p) => p.name === 'tinker')!;
    const ctx = createLayerContext(loaded, [tinker], silentReporter, { allowReboot: false, destroyData: false, targets: [] });
    try {
      const persona = { name: 'tinker', os: { ...image.baked!.os, hostname: 'tinker' }, workloads: { stacks: [], composeCommand: 'docker-compose' } } as unknown as Persona;
      const checked = await checkOs({ persona, root: s.root, connection: await guestConnection(ctx, tinker) });
      // The host name is the persona's own (the bake VM had its own): the one delta left.
      const pending = checked.plan.changes.filter((c) => c.action !== 'noop').map((c) => c.address);
      expect(pending).toEqual(['tinker/l3/hostname']);
      const addresses = checked.plan.changes.map((c) => c.address);
      expect(addresses).toContain('tinker/l3/apt.package[tree]');
      expect(addresses).toContain('tinker/l3/file[/etc/lab-baked]');
    } finally {
      await ctx.close();
    }
  }, 1_200_000);

  it('a profile that fails to converge leaves no template, no VM, no manifest, and names the operation', async () => {
    const before = await vms();
    const version = (await loadLab(s.root)).site.site.images.find((i) => i.name === 'broken')!.stable;
    process.env['LAB_IMAGE'] = 'broken';
    const r = await lab('apply', '--layer', 'l1', '-y', '--root', s.root);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('LAB_L1_BAKE_FAILED');
    expect(r.stderr).toMatch(/failed at converging the profile with L3/);
    expect(r.stderr).toContain('lab-no-such-package');
    const after = await vms();
    expect(after.filter((v) => v.name.includes('broken'))).toEqual([]);
    expect(after.map((v) => v.vmid).sort()).toEqual(before.map((v) => v.vmid).sort());
    expect(existsSync(join(s.root, `artifacts/images/broken/${version}.json`))).toBe(false);
    expect(existsSync(join(s.root, 'artifacts/images/broken')) ? readdirSync(join(s.root, 'artifacts/images/broken')) : []).toEqual([]);
  }, 900_000);
});
