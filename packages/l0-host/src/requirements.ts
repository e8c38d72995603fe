import type { LoadedPersona, Site } from '@lab/intent';
import type { PveFeatures } from '@lab/pve';
import { poolName, rolePrivileges, STAGES, type LabRole, type Stage } from './identity.js';

/** Intent L0 checks the site against: lab.yaml and the personas in scope. */
export interface HostIntent {
  readonly site: Site;
  readonly personas: readonly LoadedPersona[];
}

export interface StorageNeed {
  readonly name: string;
  readonly type: string;
  /** Content types lab.yaml declares for it (all must be enabled). */
  readonly content: readonly string[];
  /** Nodes it must be usable on. */
  readonly nodes: readonly string[];
  readonly shared: boolean;
  /** Why lab needs it, for messages: `disks of media`, `images`, `backups of edge`. */
  readonly usedBy: readonly string[];
}

export interface BridgeNeed {
  readonly name: string;
  readonly nodes: readonly string[];
  readonly vlanAware: boolean;
  /** VLAN tags personas use on it. */
  readonly tags: readonly number[];
  readonly usedBy: readonly string[];
}

/** One ACL lab grants: roles on a path, to the lab user and its token. */
export interface AclNeed {
  readonly path: string;
  readonly roles: readonly LabRole[];
  readonly propagate: boolean;
}

/** One privilege lab needs on one path, and the ACL that grants it. */
export interface PrivilegeNeed {
  readonly path: string;
  readonly privilege: string;
  readonly grantedBy: string;
  readonly why: string;
}

export interface VmNeed {
  readonly persona: string;
  /** A node name, or `auto`. */
  readonly node: string;
  readonly vcpus: number;
  readonly memory: number;
  readonly disks: readonly { readonly storage: string; readonly size: number }[];
  readonly stage: Stage;
}

export interface HostRequirements {
  readonly nodes: readonly string[];
  readonly storages: readonly StorageNeed[];
  readonly bridges: readonly BridgeNeed[];
  readonly pools: readonly string[];
  readonly roles: ReadonlyMap<LabRole, readonly string[]>;
  readonly acls: readonly AclNeed[];
  readonly privileges: readonly PrivilegeNeed[];
  readonly vms: readonly VmNeed[];
}

const STORE_PATH = (s: string): string => `/storage/${s}`;
const BRIDGE_PATH = (b: string): string => `/sdn/zones/localnetwork/${b}`;

/**
 * Everything the lab will need from Proxmox, derived from intent alone (plus the version's
 * feature flags): which storages with which content, bridges, pools, the roles and ACLs of the
 * lab token, and the resources each VM asks for. Pure.
 */
export function hostRequirements(intent: HostIntent, features: PveFeatures): HostRequirements {
  const { site, personas } = intent;
  const allNodes = site.nodes.map((n) => n.name);
  const uses = new Map<string, Set<string>>();
  const use = (storage: string, why: string): void => {
    let s = uses.get(storage);
    if (!s) uses.set(storage, (s = new Set()));
    s.add(why);
  };
  const storeRoles = new Map<string, Set<LabRole>>();
  const grantStore = (storage: string, role: LabRole): void => {
    let s = storeRoles.get(storage);
    if (!s) storeRoles.set(storage, (s = new Set()));
    s.add(role);
  };

  for (const image of site.images) {
    use(image.storage, `image ${image.name}`);
    grantStore(image.storage, 'LabImageStore');
  }
  const vms: VmNeed[] = [];
  const tags = new Map<string, Set<number>>();
  const bridgeUse = new Map<string, Set<string>>();
  for (const lp of personas) {
    const vm = lp.persona.vm;
    for (const d of vm.disks) {
      use(d.storage, `disks of ${lp.name}`);
      grantStore(d.storage, d.persistent ? 'LabDataStore' : 'LabDiskStore');
    }
    const backup = lp.persona.capture?.vm;
    if (backup?.enabled) {
      use(backup.storage, `backups of ${lp.name}`);
      grantStore(backup.storage, 'LabBackupStore');
    }
    for (const nic of vm.nics) {
      if (!bridgeUse.has(nic.bridge)) bridgeUse.set(nic.bridge, new Set());
      bridgeUse.get(nic.bridge)!.add(lp.name);
      if (nic.vlan !== undefined) {
        if (!tags.has(nic.bridge)) tags.set(nic.bridge, new Set());
        tags.get(nic.bridge)!.add(nic.vlan);
      }
    }
    vms.push({
      persona: lp.name,
      node: vm.node,
      vcpus: vm.cores * vm.sockets,
      memory: vm.memory,
      disks: vm.disks.map((d) => ({ storage: d.storage, size: d.size })),
      stage: lp.persona.lifecycle.stage,
    });
  }

  // L2 pins each VM's SSH host key through a cloud-init vendor snippet on a snippets storage.
  if (personas.length > 0) {
    for (const st of site.storages.filter((x) => x.content.includes('snippets'))) {
      use(st.name, 'cloud-init snippets');
      grantStore(st.name, 'LabDiskStore');
    }
  }

  const storages: StorageNeed[] = site.storages.map((st) => ({
    name: st.name,
    type: st.type,
    content: [...st.content].sort(),
    nodes: st.nodes ? [...st.nodes] : allNodes,
    shared: st.shared,
    usedBy: [...(uses.get(st.name) ?? [])].sort(),
  }));
  const bridges: BridgeNeed[] = site.bridges.map((br) => {
    const used = [...(tags.get(br.name) ?? [])].sort((a, b) => a - b);
    return { name: br.name, nodes: br.nodes ? [...br.nodes] : allNodes, vlanAware: br.vlanAware || used.length > 0, tags: used, usedBy: [...(bridgeUse.get(br.name) ?? [])].sort() };
  });
  const pools = STAGES.map((s) => poolName(site, s));

  const acls: AclNeed[] = [{ path: '/vms', roles: ['LabVM'], propagate: true }];
  for (const p of pools) acls.push({ path: `/pool/${p}`, roles: ['LabVM'], propagate: true });
  if (personas.length > 0) acls.push({ path: '/pool', roles: ['LabLock'], propagate: true });
  // Only when a persona sets a boot order: Sys.Modify on / is broad, so it is never granted idly.
  if (personas.some((p) => p.persona.vm.startup !== undefined)) acls.push({ path: '/', roles: ['LabStartup'], propagate: false });
  for (const [s, roles] of [...storeRoles].sort(([a], [b]) => (a < b ? -1 : 1))) acls.push({ path: STORE_PATH(s), roles: [...roles].sort(), propagate: true });
  for (const n of allNodes) acls.push({ path: `/nodes/${n}`, roles: ['LabNode'], propagate: true });
  for (const b of [...bridgeUse.keys()].sort()) acls.push({ path: BRIDGE_PATH(b), roles: ['LabNetwork'], propagate: true });
  if (!features.downloadWithAccessNetwork && site.images.length > 0) acls.push({ path: '/', roles: ['LabDownload'], propagate: false });

  mergeSamePath(acls);
  const roles = new Map<LabRole, readonly string[]>();
  for (const a of acls) for (const r of a.roles) roles.set(r, rolePrivileges(r, features));

  const privileges: PrivilegeNeed[] = [];
  for (const a of acls) {
    const privs = new Set(a.roles.flatMap((r) => roles.get(r) ?? []));
    const why = a.path === '/vms' ? 'VM lifecycle' : a.path === '/pool' ? 'per-persona apply locks' : a.path === '/' && a.roles.includes('LabStartup') ? `VM boot order (vm.startup of ${personas.filter((p) => p.persona.vm.startup !== undefined).map((p) => p.name).join(', ')})` : a.path.startsWith('/pool/') ? 'VMs in the lab pool' : a.path.startsWith('/storage/') ? (uses.get(a.path.slice(9)) ? [...uses.get(a.path.slice(9))!].join(', ') : 'storage') : a.path.startsWith('/nodes/') ? 'node status and downloads' : a.path.startsWith('/sdn/') ? 'NICs on this bridge' : 'image downloads (PVE < 8.1)';
    for (const p of [...privs].sort()) privileges.push({ path: a.path, privilege: p, grantedBy: a.path, why });
    // A tagged NIC is checked on `<bridge>/<tag>`; the bridge ACL propagates to it.
    if (a.path.startsWith('/sdn/')) {
      const bridge = a.path.slice(BRIDGE_PATH('').length);
      for (const t of [...(tags.get(bridge) ?? [])].sort((x, y) => x - y)) privileges.push({ path: `${a.path}/${t}`, privilege: 'SDN.Use', grantedBy: a.path, why: `VLAN ${t} on ${bridge}` });
    }
  }

  return { nodes: allNodes, storages, bridges, pools, roles, acls, privileges, vms };
}

/** One ACL entry per path: Proxmox keys ACLs by path, so roles for the same path are combined. */
function mergeSamePath(acls: AclNeed[]): void {
  for (let i = 0; i < acls.length; i++) {
    for (let j = acls.length - 1; j > i; j--) {
      if (acls[j]!.path !== acls[i]!.path) continue;
      acls[i] = { ...acls[i]!, roles: [...new Set([...acls[i]!.roles, ...acls[j]!.roles])].sort(), propagate: acls[i]!.propagate || acls[j]!.propagate };
      acls.splice(j, 1);
    }
  }
}
