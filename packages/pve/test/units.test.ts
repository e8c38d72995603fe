import { describe, expect, it } from 'vitest';
import {
  assertSupportedVersion,
  encodeParams,
  errorFromResponse,
  isTaskSuccess,
  isSafeToResend,
  isTransient,
  parsePermissionMessage,
  parsePveVersion,
  parseUpid,
  pveBool,
  pveFeatures,
  pveInt,
  pveList,
  pveNumber,
  pvePrivileges,
} from '../src/index.js';

const v = (text: string) => parsePveVersion(text)!;

describe('version gates (pve-api.md §9)', () => {
  it.each([
    ['8.0.4', { importContent: false, importDiskImages: false, memoryIsString: false, downloadWithAccessNetwork: false, isoNeedsMediaCdrom: false }],
    ['8.1.3', { importContent: false, memoryIsString: true, downloadWithAccessNetwork: true }],
    ['8.3.2', { importContent: true, importDiskImages: false, isoNeedsMediaCdrom: false }],
    ['8.4.1', { importDiskImages: true, isoNeedsMediaCdrom: true, unifiedAuthFailure: false, guestAgentPrivilege: 'VM.Monitor' }],
    ['8.4.17', { unifiedAuthFailure: true }],
    ['9.0.3', { guestAgentPrivilege: 'VM.GuestAgent.Audit', tagsNormalisedAtCreate: true, supported: true }],
  ])('%s', (text, expected) => {
    expect(pveFeatures(v(text))).toMatchObject(expected);
  });

  it('parses pveversion strings and refuses PVE 7 and 10', () => {
    expect(v('pve-manager/8.4.1/2a5fa54a8503f96d')).toMatchObject({ major: 8, minor: 4, patch: 1, release: '8.4' });
    expect(() => assertSupportedVersion(v('7.4.3'))).toThrow(/not supported/);
    expect(() => assertSupportedVersion(v('10.0'))).toThrow(/not supported/);
    expect(() => assertSupportedVersion(v('8.0.0'))).not.toThrow();
  });

  it('knows the privilege names per release', () => {
    expect(pvePrivileges(v('8.4.1')).has('VM.Monitor')).toBe(true);
    expect(pvePrivileges(v('9.0.0')).has('VM.Monitor')).toBe(false);
    expect(pvePrivileges(v('9.0.0')).has('VM.GuestAgent.Audit')).toBe(true);
  });
});

describe('coercion (§6.8)', () => {
  it('reads numbers, integers, booleans and lists leniently', () => {
    expect([pveNumber('1.5'), pveNumber(2), pveNumber(''), pveNumber('x')]).toEqual([1.5, 2, undefined, undefined]);
    expect([pveInt('2048'), pveInt('1.5')]).toEqual([2048, undefined]);
    expect([pveBool(1), pveBool('0'), pveBool('yes'), pveBool(true), pveBool('maybe')]).toEqual([true, false, true, true, undefined]);
    expect(pveList('iso,vztmpl;backup images')).toEqual(['iso', 'vztmpl', 'backup', 'images']);
  });
});

describe('form encoding (§1, §7.11)', () => {
  it('percent-encodes separators, sends booleans as 1/0, repeats arrays and drops absent values', () => {
    const body = encodeParams({ boot: 'order=scsi0;net0', tags: 'a;b', full: false, start: true, vms: [1, 2], gone: undefined, none: null }).toString();
    expect(body).toBe('boot=order%3Dscsi0%3Bnet0&full=0&start=1&tags=a%3Bb&vms=1&vms=2');
  });
});

describe('UPIDs (§4.1)', () => {
  it('parses token UPIDs and recognises success', () => {
    const u = parseUpid('UPID:pve:0012A3B4:01C2D3E4:66A1B2C3:qmclone:9000:automation@pve!tf:')!;
    expect(u).toMatchObject({ node: 'pve', type: 'qmclone', id: '9000', user: 'automation@pve!tf', pid: 0x12a3b4 });
    expect(parseUpid('UPID:pve:bad')).toBeUndefined();
    expect([isTaskSuccess('OK'), isTaskSuccess('WARNINGS: 2'), isTaskSuccess('job errors')]).toEqual([true, true, false]);
  });
});

describe('error mapping (§3)', () => {
  const err = (status: number, message: string, method = 'POST') => errorFromResponse({ method, path: '/x', status, message }, 'lab@pve!lab');

  it('parses permission messages with alternatives', () => {
    expect(parsePermissionMessage('Permission check failed (/vms/101, VM.Snapshot|VM.Snapshot.Rollback)')).toEqual({ path: '/vms/101', privileges: ['VM.Snapshot', 'VM.Snapshot.Rollback'] });
    expect(parsePermissionMessage("Permission check failed (pool 'x' does not exist)")).toEqual({ privileges: [] });
  });

  it.each([
    [401, 'Authentication failed!', 'LAB_PVE_AUTH'],
    [401, 'permission denied - invalid PVE ticket', 'LAB_PVE_AUTH'],
    [403, 'Permission check failed (/vms/101, VM.Allocate)', 'LAB_PVE_PERMISSION'],
    [500, 'VM is locked (clone)', 'LAB_PVE_LOCKED'],
    [500, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout", 'LAB_PVE_LOCKED'],
    [500, "Configuration file 'nodes/pve/qemu-server/123.conf' does not exist", 'LAB_PVE_NOT_FOUND'],
    [500, "unable to create VM 100 - VM 100 already exists on node 'pve'", 'LAB_PVE_CONFLICT'],
    [400, 'Parameter verification failed.', 'LAB_PVE_INVALID'],
    [595, 'Errors during connection establishment, proxy handshake: No route to host', 'LAB_PVE_UNREACHABLE'],
    [501, "Method 'GET /nodes/pve/foo' not implemented", 'LAB_PVE_UNSUPPORTED'],
    [500, 'something else', 'LAB_PVE_API'],
  ])('%i %s → %s', (status, message, code) => {
    expect(err(status, message).code).toBe(code);
  });

  it('retries only what is transient, and resends a write only when PVE did nothing', () => {
    const flock = err(500, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout");
    expect([isTransient(flock), isSafeToResend(flock)]).toEqual([true, true]);
    const proxy = err(596, 'Broken pipe');
    expect([isTransient(proxy), isSafeToResend(proxy)]).toEqual([true, false]);
    const refused = err(595, 'Errors during connection establishment');
    expect(isSafeToResend(refused)).toBe(true);
    expect(isTransient(err(500, "Configuration file 'x' does not exist"))).toBe(false);
    expect(isTransient(err(403, 'Permission check failed (/, Sys.Audit)'))).toBe(false);
  });
});

describe('what is not retried', () => {
  it('treats not-found, conflicts and held VM locks as answers', () => {
    const err = (status: number, message: string) => errorFromResponse({ method: 'GET', path: '/x', status, message }, 'a@pve!b');
    expect(isTransient(err(500, "no such user ('lab@pve')"))).toBe(false);
    expect(isTransient(err(500, 'create pool failed: pool x already exists'))).toBe(false);
    expect(isTransient(err(500, 'VM is locked (backup)'))).toBe(false);
    expect(isTransient(err(500, 'got no worker upid - unable to fork worker'))).toBe(true);
    expect(isTransient(err(599, 'Too many redirections'))).toBe(true);
  });
});
