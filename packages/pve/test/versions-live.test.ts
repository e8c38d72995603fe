import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pveArray, pvePrivileges, pveRecord, pveString } from '../src/index.js';
import { startTestSim, type TestSim } from './_sim.js';

// The version gates of @lab/pve exercised against the simulator speaking each release (issue
// #17 item 2): what the client derives from `/version` must match what that release does.

describe.each(['8.4', '9.1'])('version gates against Proxmox VE %s', (pve) => {
  let t: TestSim;
  beforeAll(async () => {
    t = await startTestSim({ pve });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('reads the release and gates guest-agent privileges and tag normalisation as it behaves', async () => {
    const admin = t.admin();
    const version = await admin.version();
    expect(version.release).toBe(pve);
    const f = await admin.features();
    expect(f.supported).toBe(true);

    // the privilege list the client assumes is exactly the release's (Administrator holds all)
    const roles = pveArray(await admin.get('/access/roles')).map(pveRecord);
    const all = pveString(roles.find((r) => r['roleid'] === 'Administrator')!['privs'])!.split(',').sort();
    expect(all).toEqual([...pvePrivileges(version)].sort());
    expect(all).toContain(f.guestAgentPrivilege);

    const upid = pveString(await admin.post('/nodes/pve/qemu', { vmid: 100, tags: 'Beta,alpha', scsi0: 'local-lvm:1', memory: 1024 }))!;
    await admin.waitForTask(upid);
    const conf = pveRecord(await admin.get('/nodes/pve/qemu/100/config'));
    expect(conf['tags']).toBe(f.tagsNormalisedAtCreate ? 'alpha;beta' : 'Beta,alpha');
    expect(typeof conf['memory']).toBe(f.memoryIsString ? 'string' : 'number');
    const resized = await admin.put('/nodes/pve/qemu/100/resize', { disk: 'scsi0', size: '+1G' });
    expect(typeof resized === 'string' && resized.startsWith('UPID:')).toBe(f.resizeIsTask);
  });
});
