import { describe, expect, it } from 'vitest';
import type { Site } from '@lab/intent';
import { sameValue, snippetFile, storagePathOf } from '../src/index.js';

const site = (storages: Site['storages']): Site => ({ storages } as unknown as Site);

describe('remote snippet paths (adr/0087)', () => {
  it('takes a dir storage path from lab.yaml, /var/lib/vz for local, and refuses storages without one', () => {
    expect(storagePathOf(site([{ name: 'snip', type: 'dir', content: ['snippets'], path: '/srv/pve', shared: false }]), 'snip')).toBe('/srv/pve');
    expect(storagePathOf(site([]), 'local')).toBe('/var/lib/vz');
    expect(() => storagePathOf(site([{ name: 'nas', type: 'nfs', content: ['snippets'], shared: true }]), 'nas')).toThrow(expect.objectContaining({ code: 'LAB_L2_SNIPPETS_STORAGE' }));
    expect(snippetFile('/var/lib/vz/', 'lab-web-hostkey.yaml')).toBe('/var/lib/vz/snippets/lab-web-hostkey.yaml');
  });
});

describe('keys PVE leaves out at their default', () => {
  it('an absent protection, onboot, numa is 0 and an absent sockets is 1', () => {
    expect(sameValue('protection', '0', undefined)).toBe(true);
    expect(sameValue('onboot', '1', undefined)).toBe(false);
    expect(sameValue('sockets', '1', undefined)).toBe(true);
    expect(sameValue('cores', '1', undefined)).toBe(false);
  });
});
