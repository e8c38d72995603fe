import type { Route } from '../http/_router.js';
import { fail, paramError, permError } from '../http/_errors.js';
import { bool, int, opt, std, str } from '../schema/std.js';
import { p, pBool, pInt, req } from './_helpers.js';
import type { Sim } from '../engine/sim.js';
import type { ContentType, VolumeRecord } from '../state/model.js';
import { findVolume, removeVolume, storageAvailableOn, storageConfig, usedBytes, volid, parseVolid, allocImage } from '../storage/volumes.js';
import { parseVolumeId, volumePath } from '../storage/volname.js';
import { compareCaseless, splitList } from '../util/_list.js';
import { parseSize } from '../util/_size.js';
import { ROOT } from '../access/acl.js';

/** `storage_info` row for one storage on one node. */
export function storageRow(sim: Sim, node: string, id: string): Record<string, unknown> {
  const cfg = storageConfig(sim, id);
  const enabled = storageAvailableOn(cfg, node) ? 1 : 0;
  const used = usedBytes(sim, node, id);
  const total = cfg.capacity;
  return {
    storage: id,
    type: cfg.type,
    content: cfg.content.join(','),
    active: enabled && !sim.state.nodes[node]?.down ? 1 : 0,
    enabled,
    shared: cfg.shared ? 1 : 0,
    total,
    used,
    avail: total - used,
    used_fraction: total > 0 ? used / total : 0,
  };
}

function contentRow(sim: Sim, v: VolumeRecord): Record<string, unknown> {
  const row: Record<string, unknown> = { volid: volid(v), content: v.content, format: v.format, size: v.size, ctime: v.ctime };
  if (v.vmid !== undefined) row['vmid'] = v.vmid;
  if (v.content === 'backup') {
    row['subtype'] = 'qemu';
    if (v.notes) row['notes'] = v.notes.split('\n')[0];
    if (v.protected) row['protected'] = 1;
  }
  // Only file-based plugins report a linked clone's base (qcow2 backing file); LvmThinPlugin's
  // list_images never sets `parent`, though the thin volume is a snapshot of the base.
  if (v.content === 'images' && v.parent && sim.state.storage[v.storage]?.type !== 'lvmthin') row['parent'] = v.parent;
  return row;
}

/** `check_volume_access` for listing and reading volumes. */
export function canAccessVolume(sim: Sim, principal: string, vol: string, ownerVmid?: number): boolean {
  try {
    checkVolumeAccess(sim, principal, vol, ownerVmid);
    return true;
  } catch {
    return false;
  }
}

export function checkVolumeAccess(sim: Sim, principal: string, vol: string, vmid?: number, type?: ContentType): void {
  const parts = parseVolumeId(vol);
  if (!parts) {
    if (principal !== ROOT) fail('Only root can pass arbitrary filesystem paths. at /usr/share/perl5/PVE/Storage.pm line 581.');
    return;
  }
  const { parsed } = parseVolid(sim, vol);
  if (type && parsed.vtype !== type && !(type === 'rootdir' && parsed.vtype === 'images')) {
    fail(`unable to use volume ${vol} - content type needs to be '${type}'`);
  }
  if (sim.access.has(principal, `/storage/${parts.storage}`, ['Datastore.Allocate'])) return;
  if (parsed.vtype === 'iso' || parsed.vtype === 'vztmpl' || parsed.vtype === 'import') {
    sim.access.checkAny(principal, `/storage/${parts.storage}`, ['Datastore.AllocateSpace', 'Datastore.Audit']);
  } else if (parsed.vmid !== undefined && vmid !== undefined && parsed.vmid === vmid) {
    return;
  } else if (parsed.vtype === 'backup' && parsed.vmid) {
    sim.access.check(principal, `/storage/${parts.storage}`, ['Datastore.AllocateSpace']);
    sim.access.check(principal, `/vms/${parsed.vmid}`, ['VM.Backup']);
  } else if ((parsed.vtype === 'images' || parsed.vtype === 'rootdir') && parsed.vmid) {
    sim.access.check(principal, `/storage/${parts.storage}`, ['Datastore.Audit']);
    sim.access.check(principal, `/vms/${parsed.vmid}`, ['VM.Config.Disk']);
  } else {
    fail(`missing privileges to access ${vol}`);
  }
}

function mustEnabled(sim: Sim, node: string, storage: string): ReturnType<typeof storageConfig> {
  const cfg = storageConfig(sim, storage);
  if (!storageAvailableOn(cfg, node)) fail(`storage '${storage}' is not available on node '${node}'`);
  return cfg;
}


export const nodeStorageRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/storage',
    permissions: { user: 'all' },
    params: {
      node: std.node,
      content: opt(str({ format: 'pve-storage-content-list' })),
      enabled: opt(bool({ default: 0 })),
      format: opt(bool({ default: 0 })),
      storage: opt(std.storage),
      target: opt(std.node),
    },
    handler: ({ sim, node, principal, params }) => {
      const wanted = splitList(p(params, 'content'));
      const only = p(params, 'storage');
      return Object.entries(sim.state.storage)
        .filter(([id, cfg]) => {
          if (only && id !== only) return false;
          if (cfg.nodes && !cfg.nodes.includes(node)) return false;
          if (pBool(params, 'enabled') && cfg.disable) return false;
          if (wanted.length > 0 && !wanted.some((c) => cfg.content.includes(c))) return false;
          return sim.access.has(principal, `/storage/${id}`, ['Datastore.Audit', 'Datastore.AllocateSpace'], true);
        })
        .map(([id]) => {
          const row = storageRow(sim, node, id);
          if (pBool(params, 'format')) row['format'] = [{ raw: 1 }, 'raw'];
          return row;
        });
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/storage/{storage}',
    permissions: { check: ['perm', '/storage/{storage}', ['Datastore.Audit', 'Datastore.AllocateSpace'], { any: true }] },
    params: { node: std.node, storage: std.storage },
    handler: () => ['content', 'download-url', 'file-restore', 'import-metadata', 'prunebackups', 'rrd', 'rrddata', 'status', 'upload'].map((subdir) => ({ subdir })),
  },
  {
    method: 'GET',
    path: '/nodes/{node}/storage/{storage}/status',
    permissions: { check: ['perm', '/storage/{storage}', ['Datastore.Audit', 'Datastore.AllocateSpace'], { any: true }] },
    params: { node: std.node, storage: std.storage },
    handler: ({ sim, node, params }) => {
      const id = req(params, 'storage');
      const cfg = sim.state.storage[id];
      if (!cfg || (cfg.nodes && !cfg.nodes.includes(node))) paramError({ storage: 'No such storage.' });
      const row = storageRow(sim, node, id);
      delete row['storage'];
      delete row['used_fraction'];
      return row;
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/storage/{storage}/content',
    permissions: { check: ['perm', '/storage/{storage}', ['Datastore.Audit', 'Datastore.AllocateSpace'], { any: true }] },
    params: { node: std.node, storage: std.storage, content: opt(str({ format: 'pve-storage-content' })), vmid: opt(std.vmid) },
    handler: ({ sim, node, principal, params }) => {
      const id = req(params, 'storage');
      const cfg = mustEnabled(sim, node, id);
      const content = p(params, 'content');
      const vmid = pInt(params, 'vmid');
      return sim.state.volumes
        .filter((v) => v.storage === id && (cfg.shared || v.node === node))
        .filter((v) => cfg.content.includes(v.content) || (v.content === 'images' && cfg.content.includes('rootdir')))
        .filter((v) => !content || v.content === content)
        .filter((v) => vmid === undefined || v.vmid === vmid)
        .filter((v) => canAccessVolume(sim, principal, volid(v)))
        .sort((a, b) => compareCaseless(volid(a), volid(b)))
        .map((v) => contentRow(sim, v));
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/storage/{storage}/content',
    permissions: { check: ['perm', '/storage/{storage}', ['Datastore.AllocateSpace']] },
    params: {
      node: std.node,
      storage: std.storage,
      filename: str(),
      size: str({ pattern: /\d+[MG]?/ }),
      vmid: std.vmid,
      format: opt(str({ enum: ['raw', 'qcow2', 'subvol', 'vmdk'], requires: 'size' })),
    },
    handler: ({ sim, node, principal, params }) => {
      const id = req(params, 'storage');
      const cfg = mustEnabled(sim, node, id);
      const vmid = Number(req(params, 'vmid'));
      sim.access.check(principal, `/vms/${vmid}`, ['VM.Config.Disk']);
      if (!cfg.content.includes('images')) fail(`storage '${id}' does not support vm images`);
      const name = req(params, 'filename').replace(/\.(raw|qcow2|vmdk|subvol)$/, '');
      if (!new RegExp(`^vm-${vmid}-`).test(name)) paramError({ filename: "illegal name - should be 'vm-" + vmid + "-*'" });
      const sizeText = req(params, 'size');
      const bytes = /G$/.test(sizeText) ? parseSize(sizeText)! : /M$/.test(sizeText) ? parseSize(sizeText)! : Number(sizeText) * 1024;
      const v = allocImage(sim, { node, storage: id, vmid, size: bytes, name, ...(p(params, 'format') ? { format: p(params, 'format')! } : {}) });
      return volid(v);
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/storage/{storage}/content/{volume}',
    greedy: 'volume',
    permissions: { user: 'all' },
    params: { node: std.node, storage: opt(std.storage), volume: str() },
    handler: ({ sim, node, principal, params }) => {
      const vol = fullVolid(req(params, 'volume'), p(params, 'storage'));
      checkVolumeAccess(sim, principal, vol);
      const v = findVolume(sim, node, vol);
      if (!v) fail(`volume '${vol}' does not exist`);
      const cfg = storageConfig(sim, v.storage);
      const out: Record<string, unknown> = {
        path: volumePath(cfg.type, cfg.path, cfg.vgname, v.volname),
        size: v.virtualSize ?? v.size,
        used: v.size,
        format: v.format,
      };
      if (v.notes) out['notes'] = v.notes;
      if (v.protected) out['protected'] = 1;
      return out;
    },
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/storage/{storage}/content/{volume}',
    greedy: 'volume',
    permissions: { user: 'all' },
    params: { node: std.node, storage: opt(std.storage), volume: str(), notes: opt(str()), protected: opt(bool()) },
    handler: ({ sim, node, principal, params }) => {
      const vol = fullVolid(req(params, 'volume'), p(params, 'storage'));
      checkVolumeAccess(sim, principal, vol);
      const v = findVolume(sim, node, vol);
      if (!v) fail(`volume '${vol}' does not exist`);
      if (p(params, 'notes') !== undefined) v.notes = p(params, 'notes')!;
      if (p(params, 'protected') !== undefined) v.protected = pBool(params, 'protected') ? 1 : 0;
      return null;
    },
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/storage/{storage}/content/{volume}',
    greedy: 'volume',
    permissions: { user: 'all' },
    params: { node: std.node, storage: opt(std.storage), volume: str(), delay: opt(int({ minimum: 1, maximum: 30 })) },
    handler: async ({ sim, node, principal, params }) => {
      const vol = fullVolid(req(params, 'volume'), p(params, 'storage'));
      const { storage, parsed } = parseVolid(sim, vol);
      if (parsed.vtype === 'backup' && parsed.vmid) {
        sim.access.check(principal, `/storage/${storage}`, ['Datastore.AllocateSpace']);
        sim.access.check(principal, `/vms/${parsed.vmid}`, ['VM.Backup']);
      } else {
        sim.access.check(principal, `/storage/${storage}`, ['Datastore.Allocate']);
      }
      const v = findVolume(sim, node, vol);
      if (v?.protected) fail(`volume '${vol}' is protected`);
      if (parsed.vmid !== undefined && parsed.vtype === 'images') {
        const owner = sim.vm(parsed.vmid);
        if (owner && Object.values(owner.conf).some((x) => x.split(',')[0] === vol)) {
          fail(`unable to delete volume '${vol}' - volume is still in use by guest ${parsed.vmid}`);
        }
      }
      const upid = sim.tasks.start({
        node,
        type: 'imgdel',
        id: parsed.vmid !== undefined ? `${parsed.vmid}@${storage}` : storage,
        user: principal,
        work: async (t) => {
          if (!(await removeVolume(sim, node, vol))) throw new Error(`volume '${vol}' does not exist`);
          const cfg = storageConfig(sim, storage);
          if (cfg.type === 'lvmthin') t.log(`  Logical volume "${parsed.name}" successfully removed.`);
          else t.log(`Removed volume '${vol}'`);
        },
      });
      const delay = pInt(params, 'delay');
      if (delay !== undefined) {
        const finished = await Promise.race([sim.tasks.wait(upid), new Promise((r) => setTimeout(r, delay * 1000))]);
        const task = sim.tasks.get(upid);
        if (finished && task?.status === 'stopped' && task.exitstatus === 'OK') return null;
      }
      return upid;
    },
  },

];

/** A `{volume}` path value may be a full volid or a volname with `storage` given. */
function fullVolid(volume: string, storage: string | undefined): string {
  if (parseVolumeId(volume)) return volume;
  if (!storage) permError();
  return `${storage}:${volume}`;
}
