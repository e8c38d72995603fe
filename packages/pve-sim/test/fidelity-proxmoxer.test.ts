import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNoneBackend } from '../src/index.js';
import { startTestSim, type TestSim } from './_helpers.js';

/**
 * Fidelity against a client nobody here wrote: Debian's python3-proxmoxer 1.2.0 (over
 * python3-requests) talks to the simulator over HTTPS with the simulator's certificate as its
 * only CA bundle, with an API token and with a password ticket. The Python side only records
 * what proxmoxer returned or raised; the expectations below come from pve-api.md.
 */

const SCRIPT = fileURLToPath(new URL('./fidelity/proxmoxer_check.py', import.meta.url));
const inCi = process.env.CI === 'true';

/** A python3 that can import proxmoxer (pyenv shims often hide Debian's dist-packages). */
function findPython(): string | undefined {
  const candidates = [process.env['LAB_PYTHON'], '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import proxmoxer, requests; print(proxmoxer.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return undefined;
}

const python = findPython();
if (!python && !inCi) {
  console.warn('fidelity-proxmoxer.test: python3-proxmoxer missing; skipping (run: sudo apt-get install -y python3-proxmoxer python3-requests)');
}

function runScript(py: string, input: unknown): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(py, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(JSON.stringify(input));
  });
}

const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@host';

describe.runIf(python !== undefined || inCi)('proxmoxer 1.2.0 against the simulator', () => {
  let t: TestSim;
  let report: any;

  beforeAll(async () => {
    if (!python) throw new Error('python3 with proxmoxer is missing (CI=true); run: sudo apt-get install -y python3-proxmoxer python3-requests');
    t = await startTestSim({ guests: createNoneBackend() });
    const ca = path.join(t.dir, 'ca.pem');
    await writeFile(ca, t.sim.certificatePem!);
    const iso = path.join(t.dir, 'disk.iso');
    await writeFile(iso, Buffer.alloc(8192, 7));
    const [user, token] = t.sim.adminToken.id.split('!') as [string, string];
    const out = await runScript(python, {
      host: `127.0.0.1:${t.sim.port}`,
      ca,
      token_user: user,
      token_name: token,
      token_value: t.sim.adminToken.secret,
      password: t.sim.rootPassword,
      node: 'pve',
      upload_file: iso,
    });
    if (out.code !== 0) throw new Error(`proxmoxer script failed (exit ${out.code}):\n${out.stderr}`);
    report = JSON.parse(out.stdout);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  for (const auth of ['token', 'ticket'] as const) {
    describe(`${auth} auth`, () => {
      const vmid = auth === 'token' ? 100 : 101;
      const r = (): any => report[auth];

      it('lists nodes, storages and the next id (a string)', () => {
        expect(r().version).toEqual({ version: '8.4.1', release: '8.4', repoid: '2a5fa54a8503f96d' });
        expect(r().nodes).toEqual([{ node: 'pve', status: 'online' }]);
        expect(r().storages).toEqual([
          { storage: 'local', type: 'dir', content: ['backup', 'iso', 'vztmpl'] },
          { storage: 'local-lvm', type: 'lvmthin', content: ['images', 'rootdir'] },
        ]);
        // The token run destroyed VM 100 before the ticket run asks: the id is free again.
        expect(r().nextid).toEqual({ value: '100', type: 'str' });
      });

      it('creates through a task and refuses a duplicate', () => {
        const user = auth === 'token' ? 'root@pam!lab-admin' : 'root@pam';
        expect(r().create_upid).toMatch(new RegExp(`^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmcreate:${vmid}:${user.replace('!', '\\!')}:$`));
        expect(r().create_task).toMatchObject({ status: 'stopped', exitstatus: 'OK', type: 'qmcreate', id: String(vmid), user: 'root@pam' });
        if (auth === 'token') expect(r().create_task.tokenid).toBe('lab-admin');
        else expect(r().create_task.tokenid).toBeUndefined();
        expect(r().create_taken).toEqual({ status: 500, reason: `unable to create VM ${vmid} - VM ${vmid} already exists on node 'pve'`, errors: null });
        // proxmoxer reads `data` (null) for the errors map: only the reason phrase reaches it.
        expect(r().nextid_taken).toEqual({ status: 400, reason: 'Parameter verification failed.', errors: null });
        expect(r().tags_at_create).toBe('zeta;alpha');
      });

      it('round-trips ;/= values, urlencoded sshkeys and tags through form encoding', () => {
        const c = r().config;
        expect(r().put_config).toBeNull();
        expect(c.boot).toBe('order=scsi0;net0');
        expect(c.description).toBe('owner=ops; line two & more + plus');
        expect(c.net1).toMatch(/^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0,trunks=10;20-30$/);
        expect(c.tags).toBe('alpha;beta;zeta');
        expect(c.sshkeys).toBe(encodeURIComponent(`${SSH_KEY}\n`));
        expect(c.ide2).toBe(`local-lvm:vm-${vmid}-cloudinit,media=cdrom`);
        expect(c.scsi0).toBe(`local-lvm:vm-${vmid}-disk-0,discard=on,iothread=1,size=1G`);
        expect(c.memory).toBe('512');
        expect(c.cores).toBe(1);
        expect(c.digest).toMatch(/^[0-9a-f]{40}$/);
        expect(c.digest).not.toBe(r().digest_before);
        expect(r().user_data).toContain(`ssh_authorized_keys:\n  - ${SSH_KEY}\n`);
        expect(r().user_data).toContain(`hostname: fid-${vmid}\n`);
      });

      it('reports PVE errors in the reason phrase', () => {
        expect(r().stale_digest).toEqual({ status: 500, reason: 'checksum mismatch (file change by other user?)', errors: null });
        // Python's True is sent as "True": rejected like on PVE (booleans are 1/0 on the wire).
        expect(r().python_bool).toMatchObject({ status: 400, reason: 'Parameter verification failed.' });
        expect(r().no_options).toMatchObject({ status: 500, reason: 'no options specified' });
        expect(r().post_config_task).toMatchObject({ type: 'qmconfig', exitstatus: 'OK' });
        expect(r().pending).toContain('digest');
        expect(r().bad_upid).toMatchObject({ status: 400, reason: 'Parameter verification failed.' });
      });

      it('starts and stops through tasks waited on via tasks/{upid}/status', () => {
        expect(r().start_task).toMatchObject({ type: 'qmstart', exitstatus: 'OK' });
        expect(r().status_running).toMatchObject({ vmid, status: 'running', qmpstatus: 'running', cpus: 2, maxmem: 512 * 1024 ** 2, agent: 1, ha: { managed: 0 } });
        expect(r().resources).toEqual([expect.objectContaining({ id: `qemu/${vmid}`, type: 'qemu', node: 'pve' })]);
        expect(r().start_again_task.exitstatus).toBe(`VM ${vmid} already running`);
        expect(r().agent_ping_running).toEqual({ result: {} });
        expect(r().agent_ifaces.result[0]).toMatchObject({ name: 'eth0', 'ip-addresses': expect.arrayContaining([{ 'ip-address-type': 'ipv4', 'ip-address': '10.30.0.5', prefix: 24 }]) });
        expect(r().destroy_running).toMatchObject({ status: 500, reason: `VM ${vmid} is running - destroy failed` });
        expect(r().stop_task).toMatchObject({ type: 'qmstop', exitstatus: 'OK' });
        expect(r().status_stopped).toMatchObject({ status: 'stopped', qmpstatus: 'stopped', mem: 0, uptime: 0 });
        expect(r().status_stopped.pid).toBeUndefined();
        expect(r().status_stopped.diskread).toBeUndefined();
        expect(r().stop_again_task.exitstatus).toBe('OK');
        expect(r().reboot_stopped).toMatchObject({ status: 500, reason: `VM ${vmid} not running` });
      });

      it('snapshots and destroys; the task list is newest first', () => {
        expect(r().snapshot_task).toMatchObject({ type: 'qmsnapshot', exitstatus: 'OK' });
        expect(r().snapshots.map((s: { name: string }) => s.name)).toEqual(['pre_change', 'current']);
        expect(r().snapshots[0]).toMatchObject({ description: 'before; x=y', vmstate: 0 });
        expect(r().snapshots[1]).toMatchObject({ description: 'You are here!', parent: 'pre_change', running: 0 });
        expect(r().snapshot_reserved).toMatchObject({ status: 500, reason: "unable to use snapshot name 'current' (reserved name)" });
        expect(r().snapshot_config).toMatchObject({ cores: 2, boot: 'order=scsi0;net0', snaptime: expect.any(Number) });
        expect(r().destroy_task).toMatchObject({ type: 'qmdestroy', exitstatus: 'OK' });
        expect(r().destroy_log.at(-1)).toEqual({ n: r().destroy_log.length, t: 'TASK OK' });
        expect(r().gone).toEqual({ status: 500, reason: `Configuration file 'nodes/pve/qemu-server/${vmid}.conf' does not exist`, errors: null });
        expect(r().tasks_newest_first).toEqual(['qmdestroy', 'qmsnapshot', 'qmstop']);
      });
    });
  }

  it('uploads multipart and deletes storage content', () => {
    const u = report.upload;
    expect(u.upload_task).toMatchObject({ type: 'imgcopy', exitstatus: 'OK' });
    expect(u.iso_list).toEqual(['local:iso/disk.iso']);
    expect(u.iso_info).toEqual({ path: '/var/lib/vz/template/iso/disk.iso', size: 8192, used: 8192, format: 'iso' });
    expect(u.delete_task).toMatchObject({ type: 'imgdel', exitstatus: 'OK' });
  });

  it('logs in with a password, renews with the ticket, refuses bad credentials and foreign CAs', () => {
    expect(report.ticket_login.ticket).toMatch(/^PVE:root@pam:[0-9A-F]{8}::[A-Za-z0-9+/=]+$/);
    expect(report.ticket_login.csrf).toMatch(/^[0-9A-F]{8}:[A-Za-z0-9+/=]+$/);
    expect(report.renewed_version.release).toBe('8.4');
    expect(report.renewed_ticket).toMatch(/^PVE:root@pam:[0-9A-F]{8}::/);
    expect(report.renewed_ticket).not.toBe(report.ticket_login.ticket);
    expect(report.bad_password).toMatch(/^Couldn't authenticate user: root@pam/);
    expect(report.bad_token).toMatchObject({ status: 401, reason: 'invalid token value!' });
    expect(report.system_ca).toBe('SSLError');
  });
});
