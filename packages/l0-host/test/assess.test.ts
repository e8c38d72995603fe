import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePveVersion } from '@lab/pve';
import type { LoadedPersona } from '@lab/intent';
import { assessHost, hostRequirements, observeHost, planHost, type HostIntent, type HostObservation } from '../src/index.js';
import { pveFeatures } from '@lab/pve';
import { startFixture, type Fixture } from './_fixture.js';

const GIB = 2 ** 30;
let f: Fixture;
let intent: HostIntent;
let fresh: HostObservation;

beforeAll(async () => {
  f = await startFixture();
  intent = { site: f.lab.site.site, personas: f.lab.personas };
  fresh = await observeHost(f.admin(), intent, { subject: 'lab@pve!lab' });
});
afterAll(() => f.close());

function withVm(name: string, vm: Partial<LoadedPersona['persona']['vm']>): HostIntent {
  return {
    site: intent.site,
    personas: intent.personas.map((lp) => (lp.name === name ? { ...lp, persona: { ...lp.persona, vm: { ...lp.persona.vm, ...vm } } } : lp)),
  };
}

const failed = (i: HostIntent, obs: HostObservation = fresh) => assessHost(i, obs).items.filter((x) => x.status === 'fail' && x.kind === 'capacity');

describe('capacity (pure, on an observation of the simulator)', () => {
  it('refuses memory over a node budget and names the personas', () => {
    const items = failed(withVm('alpha', { memory: 40 * GIB }));
    expect(items.map((i) => [i.address, i.code, i.summary])).toEqual([
      ['_site/l0/capacity[pve1]', 'LAB_L0_CAPACITY_MEMORY', 'pve1: personas need 40 GiB of memory, 32 GiB available (over by 8 GiB)'],
    ]);
    expect(items[0]!.detail).toBe('alpha 40 GiB');
  });

  it('warns about vCPU over-commit and refuses a VM larger than its node', () => {
    const over = assessHost(withVm('alpha', { cores: 6, sockets: 2 }), fresh).items.filter((i) => i.kind === 'capacity' && i.status !== 'ok');
    expect(over.map((i) => [i.status, i.summary])).toEqual([
      ['fail', 'pve1: alpha needs 12 vCPUs but the node has 8 cores'],
      ['warn', 'pve1: 12 vCPUs on 8 cores (over-committed 1.5×)'],
    ]);
  });

  it('places auto personas on the node with most free memory and fails when none has room', () => {
    const ok = assessHost(intent, fresh).items.find((i) => i.address === '_site/l0/capacity[pve2]')!;
    expect(ok.summary).toContain('incl. auto-placed');
    const items = failed(withVm('beta', { memory: 33 * GIB }));
    expect(items.map((i) => [i.address, i.code])).toEqual([['_site/l0/capacity[cluster]', 'LAB_L0_CAPACITY_PLACEMENT']]);
    expect(items[0]!.detail).toBe('pve1: 28 GiB free, pve2: 32 GiB free, pve3: 16 GiB free');
  });

  it('does not count a node that is down for auto placement', () => {
    const down: HostObservation = { ...fresh, nodes: fresh.nodes!.map((n) => (n.name === 'pve2' ? { ...n, status: 'offline' } : n)) };
    const items = failed(withVm('beta', { memory: 30 * GIB }), down);
    expect(items.map((i) => i.code)).toEqual(['LAB_L0_CAPACITY_PLACEMENT']);
  });

  it('warns when disks over-commit thin storage', () => {
    const big = withVm('alpha', { disks: [{ ...intent.personas[0]!.persona.vm.disks[0]!, size: 500 * GIB }] });
    const warn = assessHost(big, fresh).items.filter((i) => i.code === 'LAB_L0_CAPACITY_DISK');
    expect(warn.map((i) => [i.status, i.address])).toEqual([['warn', '_site/l0/capacity[local-lvm@pve1]']]);
  });
});

describe('storages and versions', () => {
  it('reports a missing storage and a wrong type as errors in the plan', () => {
    const site = {
      ...intent.site,
      storages: [...intent.site.storages.map((s) => (s.name === 'local-lvm' ? { ...s, type: 'zfspool' as const } : s)), { name: 'tank', type: 'nfs' as const, content: ['backup' as const], shared: true }],
    };
    const plan = planHost({ site, personas: intent.personas }, fresh, { mode: 'normal', labVersion: 't' });
    const errors = plan.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.address, d.code]);
    expect(errors).toEqual([
      ['_site/l0/storage[local-lvm]', 'LAB_L0_STORAGE_TYPE'],
      ['_site/l0/storage[tank]', 'LAB_L0_STORAGE_MISSING'],
    ]);
  });

  it('PVE 8.0: import content is impossible, downloads need Sys.Modify on / without propagation', () => {
    const old: HostObservation = { ...fresh, version: parsePveVersion('8.0.4')! };
    const items = assessHost(intent, old).items;
    expect(items.find((i) => i.address === '_site/l0/storage[local]')).toMatchObject({ status: 'fail', code: 'LAB_L0_STORAGE_CONTENT_UNSUPPORTED' });
    const req = hostRequirements(intent, pveFeatures(old.version!));
    expect(req.acls.find((a) => a.path === '/')).toEqual({ path: '/', roles: ['LabDownload'], propagate: false });
    expect(req.roles.get('LabNode')).toEqual(['Sys.Audit']);
  });

  it('PVE 9: the guest agent privilege is VM.GuestAgent.Audit; PVE 7 is refused', () => {
    const v9 = hostRequirements(intent, pveFeatures(parsePveVersion('9.0.3')!));
    expect(v9.roles.get('LabVM')).toContain('VM.GuestAgent.Audit');
    expect(v9.roles.get('LabVM')).not.toContain('VM.Monitor');
    const items = assessHost(intent, { ...fresh, version: parsePveVersion('7.4.3')! }).items;
    expect(items.map((i) => [i.address, i.code])).toEqual([['_site/l0/api', 'LAB_L0_VERSION']]);
  });

  it('the plan basis does not depend on the order PVE lists things in', () => {
    const reversed: HostObservation = { ...fresh, roles: Object.fromEntries(Object.entries(fresh.roles!).reverse()) };
    expect(assessHost(intent, reversed).basis).toBe(assessHost(intent, fresh).basis);
  });
});
