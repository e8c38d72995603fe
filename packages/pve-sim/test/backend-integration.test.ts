import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNoneBackend } from '../src/index.js';
import { startTestSim, type TestSim } from './_helpers.js';

/** The simulator with the shipped record-only backend (not the test double). */
let t: TestSim;
let now = 1_760_000_000_000;
beforeAll(async () => {
  const guests = createNoneBackend({ bootMs: 5_000, clock: () => now });
  t = await startTestSim({ guests });
});
afterAll(async () => {
  await t.close();
});

describe('engine + none backend', () => {
  it('boots, answers the agent once booted, and exposes the declared address', async () => {
    await t.wait(
      await t.data('POST', '/nodes/pve/qemu', {
        body: new URLSearchParams({ vmid: '100', name: 'n1', scsi0: 'local-lvm:1', ide2: 'local-lvm:cloudinit', net0: 'virtio,bridge=vmbr0', ipconfig0: 'ip=10.40.0.5/24,gw=10.40.0.1', agent: '1' }),
      }),
    );
    expect((await t.wait(await t.data('POST', '/nodes/pve/qemu/100/status/start'))).exitstatus).toBe('OK');
    const early = await t.call('POST', '/nodes/pve/qemu/100/agent/ping');
    expect(early.reason).toBe('QEMU guest agent is not running');
    now += 6_000;
    expect(await t.data('POST', '/nodes/pve/qemu/100/agent/ping')).toEqual({ result: {} });
    const ifs = (await t.data('GET', '/nodes/pve/qemu/100/agent/network-get-interfaces')).result;
    expect(JSON.stringify(ifs)).toContain('10.40.0.5');
    expect((await t.wait(await t.data('POST', '/nodes/pve/qemu/100/status/shutdown'))).exitstatus).toBe('OK');
    expect((await t.data('GET', '/nodes/pve/qemu/100/status/current')).status).toBe('stopped');
    expect((await t.wait(await t.data('DELETE', '/nodes/pve/qemu/100'))).exitstatus).toBe('OK');
  });
});
