import type { Change } from '@lab/core';
import type { PveFeatures } from '@lab/pve';
import { gib, item, l0, type HostItem } from './item.js';
import { isObservedError, type HostObservation, type ObservedStorageConfig } from './observe.js';
import type { HostRequirements, StorageNeed } from './requirements.js';

/** Content types each storage type can hold (PVE storage plugins' `plugindata`). */
const CONTENT_BY_TYPE: Readonly<Record<string, readonly string[]>> = {
  dir: ['images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import'],
  nfs: ['images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import'],
  cifs: ['images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import'],
  cephfs: ['vztmpl', 'iso', 'backup', 'snippets', 'import'],
  btrfs: ['images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import'],
  lvm: ['images', 'rootdir'],
  lvmthin: ['images', 'rootdir'],
  zfspool: ['images', 'rootdir'],
  rbd: ['images', 'rootdir'],
  pbs: ['backup'],
};

export function checkApi(obs: HostObservation, features: PveFeatures | undefined): HostItem {
  const at = l0('api');
  if (obs.reachable !== true) {
    const e = obs.reachable.error;
    return item({ address: at, kind: 'api', status: 'fail', code: e.code, summary: `Proxmox API at ${obs.url}: ${e.summary}`, ...(e.hint ? { hint: e.hint } : {}) });
  }
  const v = obs.version!;
  if (!features?.supported) {
    return item({
      address: at,
      kind: 'api',
      status: 'fail',
      code: 'LAB_L0_VERSION',
      summary: `Proxmox VE ${v.version} is not supported (lab supports 8.0 to 9.x)`,
      hint: v.major < 8 ? 'upgrade the cluster to Proxmox VE 8 (`pve7to8`, then the upgrade guide)' : 'use a lab release that supports this Proxmox version',
    });
  }
  const note = v.major >= 9 ? ' (PVE 9: guest-agent calls need VM.GuestAgent.Audit)' : !features.importDiskImages ? ' (before 8.4 cloud images cannot be imported with an API token; L1 reports how to work around it)' : '';
  return item({ address: at, kind: 'api', status: 'ok', code: 'LAB_L0_OK', summary: `Proxmox VE ${v.version} at ${obs.url}, as ${obs.observer}${note}` });
}

export function checkNodes(req: HostRequirements, obs: HostObservation, declared: ReadonlyMap<string, { cores: number; memory: number }>): HostItem[] {
  const seen = new Map((obs.nodes ?? []).map((n) => [n.name, n]));
  return req.nodes.map((name) => {
    const at = l0('node', name);
    const n = seen.get(name);
    if (!n) {
      return item({ address: at, kind: 'node', status: 'fail', code: 'LAB_L0_NODE_MISSING', summary: `node ${name} is not part of the cluster`, detail: `cluster nodes: ${[...seen.keys()].join(', ') || '(none visible)'}`, hint: 'fix nodes[].name in lab.yaml to match `pvecm nodes`' });
    }
    if (n.status !== 'online') {
      return item({ address: at, kind: 'node', status: 'fail', code: 'LAB_L0_NODE_DOWN', summary: `node ${name} is ${n.status}`, detail: 'its storages, bridges and capacity cannot be checked, and personas placed on it cannot run', hint: `power on ${name} and check the cluster (\`pvecm status\`), then run \`lab check --layer l0\` again` });
    }
    const d = declared.get(name);
    const facts = n.maxcpu !== undefined && n.maxmem !== undefined ? `, ${n.maxcpu} CPUs, ${gib(n.maxmem)}` : '';
    if (d && n.maxmem !== undefined && d.memory > n.maxmem) {
      return item({ address: at, kind: 'node', status: 'warn', code: 'LAB_L0_CAPACITY_MEMORY', summary: `node ${name}: lab.yaml declares ${gib(d.memory)} for guests but the node has ${gib(n.maxmem)}`, hint: `lower nodes[${name}].memory in lab.yaml` });
    }
    return item({ address: at, kind: 'node', status: 'ok', code: 'LAB_L0_OK', summary: `node ${name} is online${facts}` });
  });
}

function visibleStorage(obs: HostObservation, name: string): boolean {
  if (obs.observer !== obs.subject) return true;
  const perms = obs.permissions?.[`/storage/${name}`];
  return perms === undefined || perms.includes('Datastore.Audit') || perms.includes('Datastore.AllocateSpace');
}

export function checkStorages(req: HostRequirements, obs: HostObservation, features: PveFeatures, online: ReadonlySet<string>): HostItem[] {
  if (obs.storageConfig === undefined || isObservedError(obs.storageConfig)) {
    const why = obs.storageConfig?.error.summary ?? 'not read';
    return req.storages.map((s) => item({ address: l0('storage', s.name), kind: 'storage', status: 'skip', code: 'LAB_L0_UNKNOWN', summary: `storage ${s.name} not checked: ${why}` }));
  }
  const config = new Map(obs.storageConfig.map((c) => [c.name, c]));
  return req.storages.map((need) => checkStorage(need, config.get(need.name), obs, features, online));
}

function checkStorage(need: StorageNeed, cfg: ObservedStorageConfig | undefined, obs: HostObservation, features: PveFeatures, online: ReadonlySet<string>): HostItem {
  const at = l0('storage', need.name);
  const base = { address: at, kind: 'storage' as const };
  const used = need.usedBy.length > 0 ? ` (for ${need.usedBy.join(', ')})` : '';
  if (!cfg) {
    if (!visibleStorage(obs, need.name)) return item({ ...base, status: 'skip', code: 'LAB_L0_UNKNOWN', summary: `storage ${need.name} is not visible to ${obs.observer}`, detail: 'it needs Datastore.Audit on the storage to see it', fixedBy: l0('acl', `/storage/${need.name}`) });
    return item({ ...base, status: 'fail', code: 'LAB_L0_STORAGE_MISSING', summary: `storage ${need.name}${used} does not exist`, hint: `create it (Datastore → Storage → Add, or \`pvesm add ${need.type} ${need.name} …\`) or fix storages[].name in lab.yaml` });
  }
  if (cfg.type !== need.type) {
    return item({ ...base, status: 'fail', code: 'LAB_L0_STORAGE_TYPE', summary: `storage ${need.name} is of type ${cfg.type}, lab.yaml says ${need.type}`, hint: `set type: ${cfg.type} for ${need.name} in lab.yaml` });
  }
  const problems: string[] = [];
  for (const node of need.nodes) {
    if (cfg.nodes && !cfg.nodes.includes(node)) {
      problems.push(`not configured for node ${node} (storage nodes: ${cfg.nodes.join(', ')})`);
      continue;
    }
    if (!online.has(node)) continue;
    const rows = obs.storageStatus[node];
    if (rows === undefined || isObservedError(rows)) continue;
    const row = rows.find((r) => r.name === need.name);
    if (cfg.disabled || !row || !row.enabled) problems.push(`disabled on ${node}`);
    else if (!row.active) problems.push(`not active on ${node}`);
  }
  if (problems.length > 0) {
    return item({ ...base, status: 'fail', code: 'LAB_L0_STORAGE_UNAVAILABLE', summary: `storage ${need.name}${used} is unusable: ${problems.join('; ')}`, hint: `enable it for those nodes (\`pvesm set ${need.name} --disable 0\`, \`--nodes …\`) and check \`pvesm status\` on them` });
  }
  const allowed = CONTENT_BY_TYPE[cfg.type] ?? [];
  const missing = need.content.filter((c) => !cfg.content.includes(c));
  const impossible = missing.filter((c) => !allowed.includes(c) || (c === 'import' && !features.importContent));
  if (impossible.length > 0) {
    const why = impossible.includes('import') && !features.importContent ? 'the import content type needs Proxmox VE 8.3 or later' : `a ${cfg.type} storage cannot hold ${impossible.join(', ')}`;
    return item({ ...base, status: 'fail', code: 'LAB_L0_STORAGE_CONTENT_UNSUPPORTED', summary: `storage ${need.name} cannot get content ${impossible.join(', ')}: ${why}`, hint: 'move that content to a dir storage in lab.yaml (e.g. local)' });
  }
  if (missing.length > 0) {
    const content = [...new Set([...cfg.content, ...need.content])].sort();
    const change: Change = {
      address: at,
      layer: 'l0',
      kind: 'storage',
      action: 'update',
      impact: 'none',
      before: { storage: need.name, content: cfg.content },
      after: { storage: need.name, content, ...(cfg.digest ? { digest: cfg.digest } : {}) },
      diff: [{ path: 'content', before: cfg.content.join(','), after: content.join(',') }],
      sensitivePaths: [],
      steps: [{ kind: 'api', description: `PUT /storage/${need.name} content=${content.join(',')}` }],
      reason: `enable ${missing.join(', ')}${used}`,
    };
    return item({ ...base, status: 'fail', code: 'LAB_L0_STORAGE_CONTENT', summary: `storage ${need.name} lacks content ${missing.join(', ')}${used}`, hint: '`lab apply --layer l0` enables it (admin credentials)', change });
  }
  const noop: Change = { address: at, layer: 'l0', kind: 'storage', action: 'noop', impact: 'none', before: { content: cfg.content }, after: { content: cfg.content }, diff: [], sensitivePaths: [], steps: [], reason: `${cfg.type}, content ${cfg.content.join(',')}` };
  return item({ ...base, status: 'ok', code: 'LAB_L0_OK', summary: `storage ${need.name} (${cfg.type}) has ${need.content.join(', ')}${used}`, change: noop });
}

export function checkBridges(req: HostRequirements, obs: HostObservation, online: ReadonlySet<string>): HostItem[] {
  const out: HostItem[] = [];
  for (const need of req.bridges) {
    const at = l0('bridge', need.name);
    const missing: string[] = [];
    const notAware: string[] = [];
    const unknown: string[] = [];
    let checked = 0;
    for (const node of need.nodes) {
      if (!online.has(node)) continue;
      const rows = obs.networks[node];
      if (rows === undefined || isObservedError(rows)) {
        unknown.push(node);
        continue;
      }
      const br = rows.find((r) => r.name === need.name);
      if (!br) {
        if (obs.networkVisible[node]) missing.push(node);
        else unknown.push(node);
        continue;
      }
      checked++;
      if (need.vlanAware && !br.vlanAware) notAware.push(node);
    }
    const users = need.usedBy.length > 0 ? ` (used by ${need.usedBy.join(', ')})` : '';
    if (missing.length > 0) {
      out.push(item({ address: at, kind: 'bridge', status: 'fail', code: 'LAB_L0_BRIDGE_MISSING', summary: `bridge ${need.name}${users} does not exist on ${missing.join(', ')}`, hint: `create ${need.name} on ${missing.join(', ')} (node → System → Network → Create → Linux Bridge), or limit bridges[${need.name}].nodes in lab.yaml` }));
    }
    if (notAware.length > 0) {
      const why = need.tags.length > 0 ? `personas use VLAN ${need.tags.join(', ')} on it` : 'lab.yaml declares it VLAN-aware';
      out.push(item({ address: at, kind: 'bridge', status: 'fail', code: 'LAB_L0_BRIDGE_VLAN', summary: `bridge ${need.name} is not VLAN-aware on ${notAware.join(', ')} but ${why}`, hint: `add \`bridge-vlan-aware yes\` to ${need.name} in /etc/network/interfaces on ${notAware.join(', ')} and run \`ifreload -a\`` }));
    }
    if (unknown.length > 0 && missing.length + notAware.length === 0) {
      out.push(item({ address: at, kind: 'bridge', status: 'skip', code: 'LAB_L0_UNKNOWN', summary: `bridge ${need.name} not checked on ${unknown.join(', ')}: ${obs.observer} cannot see the node's bridges`, detail: 'seeing them needs Sys.Audit on the node or SDN.Use on the bridge', fixedBy: l0('acl', `/nodes/${unknown[0]}`) }));
    }
    if (missing.length + notAware.length + unknown.length === 0 && checked > 0) {
      out.push(item({ address: at, kind: 'bridge', status: 'ok', code: 'LAB_L0_OK', summary: `bridge ${need.name}${need.vlanAware ? ' (VLAN-aware)' : ''} exists on ${checked} node${checked === 1 ? '' : 's'}${users}` }));
    }
  }
  return out;
}

/** One item per privilege the lab token lacks, pointing at the ACL change that grants it. */
export function checkPrivileges(req: HostRequirements, obs: HostObservation): HostItem[] {
  if (obs.permissions === undefined) {
    return [item({ address: l0('privilege'), kind: 'privilege', status: 'skip', code: 'LAB_L0_UNKNOWN', summary: `privileges of ${obs.subject} not checked: ${obs.observer} cannot read them`, hint: 'check with admin credentials (LAB_PVE_ADMIN_TOKEN) or with the lab token itself' })];
  }
  if (obs.token?.exists === false) {
    // One line instead of every privilege: the token itself is what is missing.
    return [item({ address: l0('privilege'), kind: 'privilege', status: 'fail', code: 'LAB_L0_PRIVILEGE', summary: `${obs.subject} does not exist yet, so it holds none of the ${req.privileges.length} privileges the lab needs`, hint: '`lab apply --layer l0` creates it with its ACLs', fixedBy: l0('token', obs.subject) })];
  }
  const out: HostItem[] = [];
  for (const need of req.privileges) {
    const have = obs.permissions[need.path] ?? [];
    if (have.includes(need.privilege)) continue;
    out.push(
      item({
        address: l0('privilege', `${need.path}:${need.privilege}`),
        kind: 'privilege',
        status: 'fail',
        code: 'LAB_L0_PRIVILEGE',
        summary: `${obs.subject} lacks ${need.privilege} on ${need.path} (${need.why})`,
        hint: `\`lab apply --layer l0\` grants it (ACL on ${need.grantedBy})`,
        fixedBy: l0('acl', need.grantedBy),
      }),
    );
  }
  if (out.length === 0) out.push(item({ address: l0('privilege'), kind: 'privilege', status: 'ok', code: 'LAB_L0_OK', summary: `${obs.subject} holds all ${req.privileges.length} privileges the lab needs` }));
  return out;
}
