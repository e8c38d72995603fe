import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerEngineVersion, guestInstanceName } from '@lab/pve-sim';
import { lab, tinyBake, WORKSPACE } from './_harness.js';
import { startSimProcess } from './_sim-process.js';
import { createScratchLab, type ScratchLab } from '../src/scratch-lab.js';

const engine = await dockerEngineVersion();
if (!engine && process.env.CI === 'true') throw new Error('no Docker engine answers (CI=true): run tools/docker/ensure-dockerd.sh');

/** Test lane: builds the stand-in for vaultwarden/server in the guest from Debian's busybox. */
const STAND_IN_MIXIN = `description: Test lane only. Builds a stand-in image for vaultwarden/server (no registry is reachable here).
os:
  packages: [busybox-static]
  files:
    - path: /usr/local/sbin/lab-stand-ins
      mode: "0755"
      content: |
        #!/bin/sh
        set -eu
        docker image inspect lab-local/stand-in:vaultwarden >/dev/null 2>&1 && exit 0
        rf=$(mktemp -d)
        mkdir -p "$rf/bin" "$rf/www" "$rf/data"
        cp /bin/busybox "$rf/bin/"
        for a in sh httpd; do ln -s busybox "$rf/bin/$a"; done
        echo ok > "$rf/www/alive"
        tar -C "$rf" -c . | docker import -c 'CMD ["/bin/httpd","-f","-p","80","-h","/www"]' - lab-local/stand-in:vaultwarden
        rm -rf "$rf"
  systemd:
    units:
      - name: lab-stand-ins.service
        content: |
          [Unit]
          Description=Test-lane stand-in images
          After=docker.service
          Requires=docker.service
          [Service]
          Type=oneshot
          RemainAfterExit=yes
          ExecStart=/usr/local/sbin/lab-stand-ins
          [Install]
          WantedBy=multi-user.target
    services:
      - { name: lab-stand-ins, enabled: true, state: running }
`;

async function editPersona(root: string, edit: (doc: import('yaml').Document) => void): Promise<void> {
  const file = join(root, 'personas/identity/persona.yaml');
  const doc = parseDocument(await readFile(file, 'utf8'));
  edit(doc);
  await writeFile(file, doc.toString());
}

/** Test-side observation of the guest: a root shell in its container (no network involved). */
function inGuest(root: string, script: string): string {
  const container = `lab-${guestInstanceName(join(root, '.lab/sim'))}-130`;
  return execFileSync('docker', ['exec', '-i', container, 'bash', '-euo', 'pipefail', '-s'], { input: script, encoding: 'utf8' });
}

/**
 * The layers through the CLI against the embedded simulator with a real Debian guest: the
 * example lab's `identity` persona from nothing to a VM whose OS L3 can inspect over SSH
 * through the node's jump host, with the host key L2 pinned before first boot.
 */
describe.skipIf(!engine)('embedded lab with a real guest (CLI: L0 → L4, snapshot guard, capture, rebuild, drift)', () => {
  let s: ScratchLab;
  let root: string;
  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'lab-e2e-'));
    s = await createScratchLab({
      from: WORKSPACE,
      to: join(base, 'lab'),
      identityFile: join(base, 'age.key'),
      sshKeyFile: join(base, 'id_ed25519'),
      valueFor: (n) => `CANARY-${n.replace(/\W/g, '')}-7c1e`,
      // No registry is reachable: the persona's upstream image runs as a stand-in built in the guest.
      edit: (doc) => {
        doc.setIn(['workloads', 'imageOverrides'], { 'vaultwarden/server': 'lab-local/stand-in:vaultwarden' });
        // L3 converges identity's whole OS here, as on a plain template; the bake stays tiny.
        tinyBake(doc);
      },
    });
    process.env.LAB_AGE_KEY_FILE = s.identityFile;
    root = s.root;
    await writeFile(join(root, 'personas/_mixins/test-lane.yaml'), STAND_IN_MIXIN);
    // The log shipper's own stand-ins are exercised by the monitoring test (packages/l4-workload);
    // here one stand-in image keeps the guest's setup short.
    const docker = join(root, 'personas/_mixins/docker.yaml');
    await writeFile(docker, (await readFile(docker, 'utf8')).replace(/^ {2}- _mixins\/log-shipper\.yaml\n/m, ''));
    await editPersona(root, (doc) => doc.setIn(['include'], ['_mixins/docker.yaml', '_mixins/test-lane.yaml']));
  }, 60_000);
  afterAll(async () => {
    // identity is `protection: true`, so lab refuses to destroy it (as it should); a scratch
    // lab's guests are removed by their simulator instance label instead.
    const instance = guestInstanceName(join(root, '.lab/sim'));
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=lab.pve-sim.instance=${instance}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids]);
    // Removed behind the simulator's back, the guests leave their data disks' loop devices attached.
    for (const line of execFileSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' }).split('\n')) {
      const [dev, file] = line.trim().split(/\s+/);
      if (dev && file?.startsWith(`${root}/`)) execFileSync('losetup', ['--detach', dev]);
    }
  }, 120_000);

  it('L0, L1 and L2 apply; a second L2 plan changes nothing', async () => {
    for (const argv of [['apply', '--layer', 'l0', '-y'], ['apply', '--layer', 'l1', '-y'], ['apply', '--layer', 'l2', '--persona', 'identity', '-y']]) {
      const r = await lab(...argv, '--root', root);
      expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(0);
    }
    const again = await lab('plan', '--layer', 'l2', '--persona', 'identity', '--root', root);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('No changes.');
  }, 300_000);

  it('L3 check reaches the guest through the jump host with the pinned key and plans its OS', async () => {
    const r = await lab('check', '--layer', 'l3', '--persona', 'identity', '--root', root, '--json');
    expect([0, 2], r.stderr).toContain(r.code);
    const plan = JSON.parse(r.stdout);
    expect(plan.layers).toEqual(['l3']);
    expect(plan.changes.some((c: { address: string }) => c.address.startsWith('identity/l3/'))).toBe(true);
  }, 120_000);

  it('L3 apply converges the guest (apt inside it), and a second check finds nothing to change', async () => {
    const r = await lab('apply', '--layer', 'l3', '--persona', 'identity', '-y', '--root', root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('re-verify');
    const again = await lab('check', '--layer', 'l3', '--persona', 'identity', '--root', root);
    expect(again.code, again.stderr).toBe(0);
  }, 600_000);

  it('L4 check plans the stack over SSH with its secrets masked', async () => {
    const r = await lab('check', '--layer', 'l4', '--persona', 'identity', '--root', root, '--json');
    expect(r.code, r.stderr).toBe(2);
    const plan = JSON.parse(r.stdout);
    expect(plan.changes.map((c: { address: string; action: string }) => `${c.address} ${c.action}`)).toContain('identity/l4/stack[vaultwarden] create');
    expect(r.stdout + r.stderr).not.toContain('CANARY-');
  }, 120_000);
  it('L4 apply deploys the stack (image override → stand-in built by L3), health-gated', async () => {
    const r = await lab('apply', '--layer', 'l3,l4', '--persona', 'identity', '-y', '--root', root);
    expect(r.code, r.stderr).toBe(0);
    expect(inGuest(root, 'busybox wget -qO- http://127.0.0.1:8080/alive')).toBe('ok\n');
    const again = await lab('check', '--layer', 'l3,l4', '--persona', 'identity', '--root', root);
    expect(again.code, again.stderr).toBe(0);
  }, 600_000);

  it('a failed apply --snapshot reverts the guest to the snapshot taken before it', async () => {
    const personaFile = join(root, 'personas/identity/persona.yaml');
    const original = await readFile(personaFile, 'utf8');
    await editPersona(root, (doc) => {
      doc.setIn(['os', 'files'], doc.createNode([{ path: '/etc/lab-guard-probe', content: 'written by the failing apply\n' }]));
      doc.setIn(['os', 'systemd'], doc.createNode({
        units: [{ name: 'lab-guard-fail.service', content: '[Service]\nType=oneshot\nExecStart=/bin/false\n' }],
        services: [{ name: 'lab-guard-fail', enabled: false, state: 'running' }],
      }));
    });
    try {
      const r = await lab('apply', '--layer', 'l3', '--persona', 'identity', '--snapshot', '-y', '--root', root);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('reverted identity (VM 130)');
      expect(inGuest(root, 'test -e /etc/lab-guard-probe && echo present || echo absent')).toBe('absent\n');
      // The snapshot did its job and is gone; the stack runs again after the rollback's restart.
      expect(inGuest(root, 'for i in $(seq 90); do busybox wget -qO- http://127.0.0.1:8080/alive 2>/dev/null && exit 0; sleep 1; done; systemctl is-system-running || true; systemctl status docker --no-pager -n 20 || true; docker ps -a || true; exit 0')).toBe('ok\n');
    } finally {
      await writeFile(personaFile, original);
    }
    const clean = await lab('check', '--layer', 'l3', '--persona', 'identity', '--root', root);
    expect(clean.code, clean.stderr).toBe(0);
  }, 600_000);

  it('rebuild: data captured, VM destroyed and recreated from intent, the data disk re-attached with its live data, captured data restored, stack healthy', async () => {
    inGuest(root, [
      'mkdir -p /srv/vaultwarden/data/attachments/a1 /srv/vaultwarden/data/sends',
      "sqlite3 /srv/vaultwarden/data/db.sqlite3 \"create table if not exists ciphers(id text); insert into ciphers values ('the-household-secret');\"",
      'echo attachment-bytes > /srv/vaultwarden/data/attachments/a1/file.bin',
      'echo rsa-key-material > /srv/vaultwarden/data/rsa_key.pem',
    ].join('\n'));
    const verify = await lab('capture', 'data', '--persona', 'identity', '--root', root);
    expect(verify.code, verify.stderr).toBe(0);
    const drill = await lab('capture', 'verify', '--persona', 'identity', '--root', root);
    expect(drill.code, drill.stderr).toBe(0);
    // Outside the capture paths (restic restores only backup/db.sqlite3, made from the live database
    // by rebuild's own capture): only the persistent data disk can bring these back.
    expect(inGuest(root, 'findmnt -n -o SOURCE,FSTYPE /srv/vaultwarden')).toBe('/dev/sdb ext4\n');
    inGuest(root, [
      "sqlite3 /srv/vaultwarden/data/db.sqlite3 \"insert into ciphers values ('written-after-the-capture');\"",
      'echo live > /srv/vaultwarden/live-only.txt',
    ].join('\n'));
    const before = inGuest(root, 'cat /etc/machine-id');

    const r = await lab('rebuild', '--persona', 'identity', '--unprotect', '-y', '--root', root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Rebuilt identity in \d+ s; data restored from snapshot [0-9a-f]+/);
    // A new machine (cloud-init ran again: a new machine-id) with the old data.
    expect(inGuest(root, 'cat /etc/machine-id')).not.toBe(before);
    expect(inGuest(root, 'cat /srv/vaultwarden/data/attachments/a1/file.bin /srv/vaultwarden/data/rsa_key.pem')).toBe('attachment-bytes\nrsa-key-material\n');
    expect(inGuest(root, "sqlite3 /srv/vaultwarden/backup/db.sqlite3 'select id from ciphers'")).toBe('the-household-secret\nwritten-after-the-capture\n');
    // The live database and the file no backup holds came back on the re-attached data disk.
    expect(inGuest(root, 'findmnt -n -o SOURCE,FSTYPE /srv/vaultwarden')).toBe('/dev/sdb ext4\n');
    expect(inGuest(root, "sqlite3 /srv/vaultwarden/data/db.sqlite3 'select id from ciphers'")).toBe('the-household-secret\nwritten-after-the-capture\n');
    expect(inGuest(root, 'cat /srv/vaultwarden/live-only.txt')).toBe('live\n');
    expect(inGuest(root, 'busybox wget -qO- http://127.0.0.1:8080/alive')).toBe('ok\n');
    const log = await lab('log', '--persona', 'identity', '--json', '--root', root);
    expect(JSON.parse(log.stdout).map((e: { command: string }) => e.command)).toContain('rebuild');
    expect(r.stdout + r.stderr + log.stdout).not.toContain('CANARY-');
  }, 900_000);
  it('drift injected on L2, L3 and L4 is detected, repaired by apply, and then `lab up` changes nothing', async () => {
    // L2: an operator flips onboot in the web UI (the simulator in its own process, as a cluster).
    const sim = await startSimProcess(root);
    try {
      const admin = sim.admin();
      const config = await admin.get<Record<string, unknown>>('/nodes/pve2/qemu/130/config');
      await admin.put('/nodes/pve2/qemu/130/config', { onboot: String(config['onboot']) === '1' ? 0 : 1 });
    } finally {
      await sim.stop();
    }
    // L3: a hand edit of a managed file; L4: a container removed by hand.
    inGuest(root, "echo '# edited by hand' >> /usr/local/sbin/lab-stand-ins");
    inGuest(root, 'docker rm -f $(docker ps -q --filter label=com.docker.compose.project) >/dev/null');

    const drift = await lab('drift', '--persona', 'identity', '--format', 'json', '--root', root);
    expect(drift.code, drift.stderr).toBe(2);
    const report = JSON.parse(drift.stdout) as { personas: { layers: { layer: string; verdict: string; drift: { address: string }[] }[] }[] };
    const drifted = Object.fromEntries(report.personas[0]!.layers.map((l) => [l.layer, l.drift.map((d) => d.address)]));
    expect(drifted['l2']).toEqual(['identity/l2/vm']);
    expect(drifted['l3']).toContain('identity/l3/file[/usr/local/sbin/lab-stand-ins]');
    expect(drifted['l4']).toEqual(['identity/l4/stack[vaultwarden]']);

    const repair = await lab('apply', '--persona', 'identity', '-y', '--root', root);
    expect(repair.code, repair.stderr).toBe(0);
    const clean = await lab('drift', '--persona', 'identity', '--root', root);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    const up = await lab('up', '--persona', 'identity', '-y', '--root', root);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout + up.stderr).toContain('No changes.');
  }, 600_000);
});
