import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentReporter } from '@lab/core';
import { loadLab } from '@lab/intent';
import { apiPath, createPveClient, pveArray, pveRecord, type PveClient } from '@lab/pve';
import { dockerEngineVersion, guestInstanceName } from '@lab/pve-sim';
import { lab, tinyBake, WORKSPACE } from './_harness.js';
import { createLayerContext } from '@lab/engine';
import { readJournal } from '@lab/engine';
import { createScratchLab, type ScratchLab } from '../src/scratch-lab.js';

const engine = await dockerEngineVersion();
if (!engine && process.env.CI === 'true') throw new Error('no Docker engine answers (CI=true): run tools/docker/ensure-dockerd.sh');

/**
 * `lab capture template` end to end with a real guest: the persona L2 made (host key pinned
 * through cloud-init), its clone reached over the node's jump host at the scratch address with
 * that pinned key, cleaned, turned into a template, recorded in artifacts/images and journalled.
 */
describe.skipIf(!engine)('lab capture template (embedded simulator, Docker guest)', () => {
  let s: ScratchLab;
  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'lab-capture-tpl-'));
    s = await createScratchLab({ from: WORKSPACE, to: join(base, 'lab'), identityFile: join(base, 'age.key'), sshKeyFile: join(base, 'id_ed25519'), edit: tinyBake });
    process.env.LAB_AGE_KEY_FILE = s.identityFile;
  }, 60_000);
  async function withClient<T>(fn: (client: PveClient) => Promise<T>): Promise<T> {
    const session = createLayerContext(await loadLab(s.root), [], silentReporter, { allowReboot: false, destroyData: false, targets: [] });
    try {
      const ep = await session.proxmox();
      const client = createPveClient({ url: ep.url, ...(ep.fingerprint ? { fingerprint: ep.fingerprint } : {}), auth: { kind: 'token', tokenId: ep.tokenId, secret: ep.tokenSecret } });
      session.onClose(() => client.close());
      return await fn(client);
    } finally {
      await session.close();
    }
  }
  afterAll(async () => {
    const instance = guestInstanceName(join(s.root, '.lab/sim'));
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=lab.pve-sim.instance=${instance}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids]);
  }, 120_000);

  it('captures tinker as debian-12@tinker-1 without touching tinker', async () => {
    for (const argv of [['apply', '--layer', 'l0', '-y'], ['apply', '--layer', 'l1', '-y'], ['apply', '--layer', 'l2', '--persona', 'tinker', '-y']]) {
      const r = await lab(...argv, '--root', s.root);
      expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(0);
    }
    // The simulator's guests copy a filesystem only while stopped (Proxmox clones running VMs live).
    const tinker = await withClient(async (client) => {
      const row = pveArray(await client.get('/cluster/resources', { type: 'vm' })).map(pveRecord).find((v) => v['name'] === 'tinker')!;
      const vm = { vmid: Number(row['vmid']), node: String(row['node']) };
      await client.runTask('POST', apiPath('nodes', vm.node, 'qemu', String(vm.vmid), 'status', 'shutdown'), { forceStop: 1, timeout: 30 }, { pollMs: 100 });
      return { ...vm, config: pveRecord(await client.get(apiPath('nodes', vm.node, 'qemu', String(vm.vmid), 'config'))) };
    });

    const r = await lab('capture', 'template', '--persona', 'tinker', '--image', 'debian-12', '--version', 'tinker-1', '--address', '10.0.30.250/24', '--root', s.root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/captured debian-12@tinker-1: template tpl-debian-12-tinker-1 \(\d+\) on pve\d; commit artifacts\/images\/debian-12\/tinker-1\.json/);
    expect(r.stderr).toContain('clean the clone');
    const manifest = JSON.parse(readFileSync(join(s.root, 'artifacts/images/debian-12/tinker-1.json'), 'utf8'));
    expect(manifest).toMatchObject({ formatVersion: 1, image: 'debian-12', version: 'tinker-1', capture: { persona: 'tinker', vmid: tinker.vmid, sourceDigest: tinker.config['digest'] } });
    // The scratch address was pinned only while the clean ran.
    expect(readFileSync(join(s.root, '.lab/known_hosts'), 'utf8')).not.toContain('10.0.30.250');
    const [entry] = (await readJournal(s.root)).entries;
    expect(entry).toMatchObject({ command: 'capture', personas: ['tinker'], result: 'ok', details: { kind: 'template', image: 'debian-12', version: 'tinker-1' } });

    // L1 lists the captured version like a built one (it is simply not in lab.yaml).
    const list = await lab('image', 'list', '--json', '--root', s.root);
    const rows = JSON.parse(list.stdout) as { image: string; version: string; declared: boolean; templates: { vmid: number }[] }[];
    expect(rows.find((x) => x.version === 'tinker-1')).toMatchObject({ image: 'debian-12', declared: false, templates: [{ vmid: manifest.templates[0].vmid }] });
    // tinker itself: its config exactly as before.
    const after = await withClient(async (client) => pveRecord(await client.get(apiPath('nodes', tinker.node, 'qemu', String(tinker.vmid), 'config'))));
    expect(after).toEqual(tinker.config);
  }, 300_000);
});
