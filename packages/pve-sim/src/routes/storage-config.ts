import { createHash } from 'node:crypto';
import type { Route } from '../http/_router.js';
import { fail } from '../http/_errors.js';
import { bool, opt, std, str } from '../schema/std.js';
import { p, pBool, req } from './_helpers.js';
import type { Sim } from '../engine/sim.js';
import type { StorageConfig, StorageType } from '../state/model.js';
import { splitList } from '../util/_list.js';
import { GiB } from '../util/_size.js';

const VALID_CONTENT: Record<StorageType, readonly string[]> = {
  dir: ['images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import', 'none'],
  lvmthin: ['images', 'rootdir'],
};

/** `storage.cfg` as text, for the section-config digest. */
function renderStorageCfg(sim: Sim): string {
  let out = '';
  for (const [id, c] of Object.entries(sim.state.storage)) {
    out += `${c.type}: ${id}\n`;
    if (c.path) out += `\tpath ${c.path}\n`;
    if (c.vgname) out += `\tvgname ${c.vgname}\n`;
    if (c.thinpool) out += `\tthinpool ${c.thinpool}\n`;
    out += `\tcontent ${c.content.join(',')}\n`;
    if (c.nodes) out += `\tnodes ${c.nodes.join(',')}\n`;
    if (c.disable) out += '\tdisable\n';
    if (c.shared) out += '\tshared 1\n';
    if (c['prune-backups']) out += `\tprune-backups ${c['prune-backups']}\n`;
    out += '\n';
  }
  return out;
}

export function storageDigest(sim: Sim): string {
  return createHash('sha1').update(renderStorageCfg(sim)).digest('hex');
}

function configRow(sim: Sim, id: string, c: StorageConfig): Record<string, unknown> {
  const row: Record<string, unknown> = { storage: id, type: c.type, content: c.content.join(','), digest: storageDigest(sim) };
  if (c.path) row['path'] = c.path;
  if (c.vgname) row['vgname'] = c.vgname;
  if (c.thinpool) row['thinpool'] = c.thinpool;
  if (c.nodes) row['nodes'] = c.nodes.join(',');
  if (c.disable) row['disable'] = 1;
  if (c.shared) row['shared'] = 1;
  if (c['prune-backups']) row['prune-backups'] = c['prune-backups'];
  return row;
}

/** `decode_value('content')`: unsupported types are dropped (PVE only warns). */
function decodeContent(type: StorageType, value: string): string[] {
  const res = splitList(value).filter((c) => VALID_CONTENT[type].includes(c));
  const unique = [...new Set(res)];
  if (unique.includes('none') && unique.length > 1) fail('unable to combine \'none\' with other content types');
  if (unique.length === 0 && !VALID_CONTENT[type].includes('none')) fail("storage does not support content type 'none'");
  return unique.filter((c) => c !== 'none');
}

const common = {
  content: opt(str({ format: 'pve-storage-content-list' })),
  nodes: opt(str({ format: 'pve-node-list' })),
  disable: opt(bool()),
  shared: opt(bool()),
  'prune-backups': opt(str()),
};

export const storageConfigRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/storage',
    permissions: { user: 'all' },
    params: { type: opt(str({ enum: ['dir', 'lvmthin', 'lvm', 'zfspool', 'nfs', 'cifs', 'pbs', 'rbd', 'cephfs'] })) },
    handler: ({ sim, principal, params }) =>
      Object.entries(sim.state.storage)
        .filter(([id, c]) => (!p(params, 'type') || c.type === p(params, 'type')) && sim.access.has(principal, `/storage/${id}`, ['Datastore.Audit', 'Datastore.AllocateSpace'], true))
        .map(([id, c]) => configRow(sim, id, c)),
  },
  {
    method: 'POST',
    path: '/storage',
    permissions: { check: ['perm', '/storage', ['Datastore.Allocate']] },
    params: {
      storage: std.storage,
      type: str({ enum: ['dir', 'lvmthin'] }),
      path: opt(str()),
      vgname: opt(str()),
      thinpool: opt(str()),
      ...common,
    },
    handler: ({ sim, params }) => {
      const id = req(params, 'storage');
      const type = req(params, 'type') as StorageType;
      if (sim.state.storage[id]) fail(`create storage failed: storage ID '${id}' already defined`);
      if (type === 'dir' && !p(params, 'path')) fail("create storage failed: missing value for required option 'path'");
      if (type === 'lvmthin' && (!p(params, 'vgname') || !p(params, 'thinpool'))) {
        fail(`create storage failed: missing value for required option '${p(params, 'vgname') ? 'thinpool' : 'vgname'}'`);
      }
      const cfg: StorageConfig = {
        type,
        content: p(params, 'content') !== undefined ? decodeContent(type, p(params, 'content')!) : type === 'dir' ? ['iso', 'vztmpl', 'backup'] : ['images', 'rootdir'],
        capacity: type === 'dir' ? 100 * GiB : 400 * GiB,
      };
      if (type === 'dir') cfg.path = p(params, 'path')!;
      else {
        cfg.vgname = p(params, 'vgname')!;
        cfg.thinpool = p(params, 'thinpool')!;
      }
      if (p(params, 'nodes')) cfg.nodes = splitList(p(params, 'nodes'));
      if (pBool(params, 'disable')) cfg.disable = 1;
      if (pBool(params, 'shared')) cfg.shared = 1;
      if (p(params, 'prune-backups')) cfg['prune-backups'] = p(params, 'prune-backups')!;
      sim.state.storage[id] = cfg;
      return { storage: id, type };
    },
  },
  {
    method: 'GET',
    path: '/storage/{storage}',
    permissions: { check: ['perm', '/storage/{storage}', ['Datastore.Allocate']] },
    params: { storage: std.storage },
    handler: ({ sim, params }) => {
      const id = req(params, 'storage');
      const c = sim.state.storage[id];
      if (!c) fail(`storage '${id}' does not exist`);
      return configRow(sim, id, c);
    },
  },
  {
    method: 'PUT',
    path: '/storage/{storage}',
    permissions: { check: ['perm', '/storage', ['Datastore.Allocate']] },
    params: { storage: std.storage, digest: std.digest, delete: opt(str({ format: 'pve-configid-list' })), ...common },
    handler: ({ sim, params }) => {
      const id = req(params, 'storage');
      const digest = p(params, 'digest');
      if (digest && digest !== storageDigest(sim)) fail('update storage failed: detected modified configuration - file changed by other user? Try again.');
      const c = sim.state.storage[id];
      if (!c) fail(`update storage failed: storage '${id}' does not exist`);
      for (const k of splitList(p(params, 'delete'))) {
        if (k === 'content' || k === 'path' || k === 'vgname' || k === 'thinpool') fail(`update storage failed: unable to delete required option '${k}'`);
        if (p(params, k) !== undefined) fail(`update storage failed: cannot set and delete property '${k}' at the same time!`);
        if (k === 'nodes') delete c.nodes;
        else if (k === 'disable') delete c.disable;
        else if (k === 'shared') delete c.shared;
        else if (k === 'prune-backups') delete c['prune-backups'];
        else fail(`update storage failed: no such option '${k}'`);
      }
      if (p(params, 'content') !== undefined) c.content = decodeContent(c.type, p(params, 'content')!);
      if (p(params, 'nodes') !== undefined) c.nodes = splitList(p(params, 'nodes'));
      if (p(params, 'disable') !== undefined) {
        if (pBool(params, 'disable')) c.disable = 1;
        else delete c.disable;
      }
      if (p(params, 'shared') !== undefined) c.shared = pBool(params, 'shared') ? 1 : 0;
      if (p(params, 'prune-backups') !== undefined) c['prune-backups'] = p(params, 'prune-backups')!;
      return { storage: id, type: c.type };
    },
  },
  {
    method: 'DELETE',
    path: '/storage/{storage}',
    permissions: { check: ['perm', '/storage', ['Datastore.Allocate']] },
    params: { storage: std.storage },
    handler: ({ sim, params }) => {
      const id = req(params, 'storage');
      if (!sim.state.storage[id]) fail(`delete storage failed: storage '${id}' does not exist`);
      delete sim.state.storage[id];
      for (const pool of Object.values(sim.state.pools)) pool.storage = pool.storage.filter((s) => s !== id);
      return null;
    },
  },
];
