import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentReporter } from '@lab/core';
import { createLayerContext } from '@lab/engine';
import { loadLab } from '@lab/intent';
import { createPveClient, pveArray, pveRecord } from '@lab/pve';
import { dockerEngineVersion, guestInstanceName } from '@lab/pve-sim';
import { lab, WORKSPACE } from './_harness.js';
import { createScratchLab, type ScratchLab } from '../src/scratch-lab.js';

const engine = await dockerEngineVersion();
if (!engine && process.env.CI === 'true') throw new Error('no Docker engine answers (CI=true): run tools/docker/ensure-dockerd.sh');

// A small profile keeps apt short: one package, one file, one line; the broken image fails in apt.
const SMALL = { include: [], os: { packages: ['tree'], files: [{ path: '/etc/lab-baked', content: 'baked by lab\n', mode: '0644' }], lines: [{ path: '/etc/environment', line: 'LAB_BAKED=1' }] }, network: { bridge: 'vmbr0', vlan: 30, address: '10.0.30.250/24' } };
// A persona on the baked image whose OS section is exactly the profile.
const BAKED_PERSONA = `name: baked
description: on debian-12-docker, with nothing but the baked profile
vm:
  node: pve1
  image: debian-12-docker@stable
  memory: 1GiB
  disks:
    - { name: root, size: 8G, storage: local-lvm }
  nics:
    - { bridge: vmbr0, vlan: 30, ip: 10.0.30.60/24, gateway: 10.0.30.1 }
os:
  packages: [tree]
  files:
    - { path: /etc/lab-baked, content: "baked by lab\\n", mode: "0644" }
  lines:
    - { path: /etc/environment, line: LAB_BAKED=1 }
`;
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
    mkdirSync(join(s.root, 'personas/baked'), { recursive: true });
    writeFileSync(join(s.root, 'personas/baked/persona.yaml'), BAKED_PERSONA);
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

    // A persona cloned from the baked template by L2 finds every operation of the profile in place.
    const l2 = await lab('apply', '--layer', 'l2', '--persona', 'baked', '-y', '--root', s.root);
    expect(l2.code, l2.stderr).toBe(0);
    const check = await lab('check', '--layer', 'l3', '--persona', 'baked', '--json', '--root', s.root);
    const plan = JSON.parse(check.stdout) as { changes: { address: string; action: string }[] };
    const addresses = plan.changes.map((c) => c.address);
    expect(addresses).toContain('baked/l3/apt.package[tree]');
    expect(addresses).toContain('baked/l3/file[/etc/lab-baked]');
    // The host name is the persona's own (the bake VM had its own): the one delta left.
    expect(plan.changes.filter((c) => c.action !== 'noop').map((c) => c.address)).toEqual(['baked/l3/hostname']);
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
