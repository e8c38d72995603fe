import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerBackend, dockerEngineVersion, ensureGuestImage, pruneStaleGuests, type GuestBackend } from '../src/index.js';
import { startTestSim, type TestSim } from './_helpers.js';

/**
 * A real guest keeps its data on a data disk the way a VM does (adr/0175): it formats and mounts
 * the block device PVE gives it (`/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi1`), the VM
 * is destroyed keeping the disk (owned by another id, as L2's persistent disks are), a new VM gets
 * it re-attached by name and reads the same file; its fstab mounts the disk at boot; a snapshot
 * rollback and a full clone carry the disk's content. Driven through the PVE API; the guest's own
 * commands run through `docker exec` (the SSH path is covered by e2e-docker.test.ts).
 */

const engine = await dockerEngineVersion();
const inCi = process.env.CI === 'true';
if (!engine && !inCi) console.warn('data-disks-docker.test: no Docker engine answers; skipping (run: sudo tools/docker/ensure-dockerd.sh)');

const exec = promisify(execFile);
const instance = `disks-${process.pid}`;
const HELD = 'vm-999999999-lab-t-data';
const BY_ID = '/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.runIf(engine !== undefined || inCi)('data disks of real guests', () => {
  let t: TestSim;
  let backend: GuestBackend;

  const run = async (method: string, p: string, body?: Record<string, string>): Promise<any> => {
    const opts = !body ? {} : method === 'DELETE' ? { query: new URLSearchParams(body).toString() } : { body: new URLSearchParams(body) };
    const status = await t.wait(await t.data(method, p, opts));
    expect(status.exitstatus).toBe('OK');
    return status;
  };

  /** A command in the guest, as root; fails the test with its output on a non-zero exit. */
  async function guest(vmid: number, script: string): Promise<string> {
    try {
      const { stdout } = await exec('docker', ['exec', `lab-${instance}-${vmid}`, 'sh', '-ec', script], { timeout: 120_000 });
      return stdout.trim();
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      throw new Error(`guest ${vmid}: ${script}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    }
  }

  async function booted(vmid: number): Promise<void> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const state = await exec('docker', ['exec', `lab-${instance}-${vmid}`, 'systemctl', 'is-system-running'], { timeout: 60_000 }).then(
        (r) => r.stdout.trim(),
        (e: { stdout?: string }) => (e.stdout ?? '').trim(),
      );
      if (state === 'running' || state === 'degraded') return;
      if (Date.now() > deadline) throw new Error(`VM ${vmid} did not finish booting (${state})`);
      await sleep(500);
    }
  }

  async function loopsOf(file: string): Promise<string> {
    return (await exec('losetup', ['--associated', file, '--noheadings', '--output', 'NAME', '--list'])).stdout.trim();
  }

  const heldFile = (): string => `${t.dir}/files/pve/local-lvm/images/${HELD}`;

  beforeAll(async () => {
    if (!engine) throw new Error('no Docker engine answers (CI=true); run: sudo tools/docker/ensure-dockerd.sh');
    await pruneStaleGuests();
    const image = await ensureGuestImage({ onProgress: (line) => console.info(line) });
    backend = createDockerBackend({ image: image.tag, instance, removeOnClose: true });
    t = await startTestSim({ guests: backend });
    await t.data('POST', '/nodes/pve/storage/local-lvm/content', { body: new URLSearchParams({ vmid: '999999999', filename: HELD, size: '1G' }) });
  }, 900_000);

  afterAll(async () => {
    await t?.close();
    await backend?.close();
  }, 120_000);

  it('the guest formats and mounts its data disk; a snapshot rollback brings the disk back', async () => {
    await run('POST', '/nodes/pve/qemu', { vmid: '401', name: 'first', scsi0: 'local-lvm:2', scsi1: `local-lvm:${HELD},discard=on`, boot: 'order=scsi0' });
    await run('POST', '/nodes/pve/qemu/401/status/start');
    await booted(401);
    expect(await guest(401, `readlink ${BY_ID}`)).toBe('../../sdb');
    expect(await guest(401, 'blockdev --getsize64 /dev/sdb')).toBe(String(1024 ** 3));
    // What L3 does for a data disk: format once by label, fstab, mount.
    await guest(401, `mkfs.ext4 -q -L data ${BY_ID} && mkdir -p /srv/data && echo 'LABEL=data /srv/data ext4 defaults,nofail 0 2' >> /etc/fstab && mount /srv/data`);
    await guest(401, 'echo kept > /srv/data/hello && sync');
    await run('POST', '/nodes/pve/qemu/401/snapshot', { snapname: 'before' });
    await guest(401, 'echo later > /srv/data/later && sync');
    await run('POST', '/nodes/pve/qemu/401/snapshot/before/rollback', { start: '1' });
    await booted(401);
    // The fstab entry is on the boot disk's snapshot; the boot mounts the data disk again.
    expect(await guest(401, 'findmnt -n -o SOURCE,FSTYPE /srv/data')).toBe('/dev/sdb ext4');
    expect(await guest(401, 'ls /srv/data')).toBe('hello\nlost+found');
  }, 600_000);

  it('destroying the VM keeps the disk; a new VM re-attaches it by name and reads the same file', async () => {
    await run('POST', '/nodes/pve/qemu/401/status/shutdown', { timeout: '30' });
    expect(await loopsOf(heldFile())).toBe('');
    await run('DELETE', '/nodes/pve/qemu/401', { purge: '1', 'destroy-unreferenced-disks': '0' });
    const held = (await t.data('GET', '/nodes/pve/storage/local-lvm/content', { query: 'vmid=999999999' })).map((v: any) => v.volid);
    expect(held).toEqual([`local-lvm:${HELD}`]);

    await run('POST', '/nodes/pve/qemu', { vmid: '402', name: 'second', scsi0: 'local-lvm:2', scsi1: `local-lvm:${HELD}`, boot: 'order=scsi0' });
    await run('POST', '/nodes/pve/qemu/402/status/start');
    await booted(402);
    // A new boot disk knows nothing of the old fstab: the disk is found by label, not reformatted.
    expect(await guest(402, 'blkid -o value -s LABEL /dev/sdb')).toBe('data');
    await guest(402, "mkdir -p /srv/data && echo 'LABEL=data /srv/data ext4 defaults,nofail 0 2' >> /etc/fstab && mount /srv/data");
    expect(await guest(402, 'cat /srv/data/hello')).toBe('kept');
  }, 600_000);

  it('a full clone copies the data disk', async () => {
    await run('POST', '/nodes/pve/qemu/402/status/stop');
    await run('POST', '/nodes/pve/qemu/402/clone', { newid: '403', full: '1', name: 'third' });
    const conf = await t.data('GET', '/nodes/pve/qemu/403/config');
    expect(conf.scsi1).toMatch(/^local-lvm:vm-403-disk-1,/);
    await run('POST', '/nodes/pve/qemu/403/status/start');
    await booted(403);
    expect(await guest(403, 'cat /srv/data/hello')).toBe('kept');
    await run('POST', '/nodes/pve/qemu/403/status/stop');
    await run('DELETE', '/nodes/pve/qemu/403', { purge: '1' });
  }, 600_000);
});
