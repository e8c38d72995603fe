import type { Diagnostic } from '@lab/core';
import { inSubnet } from './schema/persona-vm.js';
import { suggestion } from './_suggest.js';
import type { LoadedPersona, Site } from './types.js';

/**
 * Checks between files: what a persona names must exist in lab.yaml (node, image, storage,
 * bridge, VLAN, repository), and what must be unique across personas is (vmid, address).
 */
export function crossCheck(site: Site, personas: readonly LoadedPersona[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const nodes = site.nodes.map((n) => n.name);
  const storages = new Map(site.storages.map((s) => [s.name, s]));
  const bridges = new Map(site.bridges.map((b) => [b.name, b]));
  const images = new Map(site.images.map((i) => [i.name, i]));
  const repos = site.repositories.map((r) => r.name);
  const vmids = new Map<number, string>();
  const addresses = new Map<string, string>();
  const hostnames = new Map<string, string>();

  for (const lp of personas) {
    const p = lp.persona;
    const report = (path: (string | number)[], summary: string, hint?: string): void => {
      const at = lp.locate(path);
      out.push({ severity: 'error', code: 'LAB_INTENT_INVALID', summary, path: at?.path ?? path.join('.'), ...(at ? { source: at.source } : {}), ...(hint === undefined ? {} : { hint }) });
    };
    const vm = p.vm;
    if (vm.node !== 'auto' && !nodes.includes(vm.node)) report(['vm', 'node'], `no node "${vm.node}" in lab.yaml`, `${suggestion(vm.node, nodes, 'nodes')}; or use auto`);
    const image = images.get(vm.image.name);
    if (image === undefined) {
      report(['vm', 'image'], `no image "${vm.image.name}" in the catalogue of lab.yaml`, suggestion(vm.image.name, [...images.keys()], 'images'));
    } else if (vm.image.version !== 'stable' && !image.versions.some((v) => v.version === vm.image.version)) {
      report(['vm', 'image'], `image ${vm.image.name} has no version "${vm.image.version}"`, `versions: ${image.versions.map((v) => v.version).join(', ')}; or use ${vm.image.name}@stable`);
    }
    vm.disks.forEach((d, i) => {
      const st = storages.get(d.storage);
      if (st === undefined) report(['vm', 'disks', i, 'storage'], `no storage "${d.storage}" in lab.yaml`, suggestion(d.storage, [...storages.keys()], 'storages'));
      else if (!st.content.includes('images')) report(['vm', 'disks', i, 'storage'], `storage "${d.storage}" does not hold VM disks (content: ${st.content.join(', ')})`, 'use a storage with images content, e.g. local-lvm');
      else if (vm.node !== 'auto' && st.nodes !== undefined && !st.nodes.includes(vm.node)) report(['vm', 'disks', i, 'storage'], `storage "${d.storage}" is not available on node ${vm.node}`, `use a storage whose nodes: in lab.yaml include ${vm.node}, or set vm.node: auto`);
    });
    vm.nics.forEach((n, i) => {
      const br = bridges.get(n.bridge);
      if (br === undefined) {
        report(['vm', 'nics', i, 'bridge'], `no bridge "${n.bridge}" in lab.yaml`, suggestion(n.bridge, [...bridges.keys()], 'bridges'));
        return;
      }
      let cidr = br.cidr;
      if (n.vlan !== undefined) {
        if (!br.vlanAware) report(['vm', 'nics', i, 'vlan'], `bridge ${br.name} is not VLAN-aware`, `set vlanAware: true on ${br.name} in lab.yaml, or remove vlan`);
        const vlan = br.vlans.find((v) => v.id === n.vlan);
        if (br.vlans.length > 0 && vlan === undefined) report(['vm', 'nics', i, 'vlan'], `VLAN ${n.vlan} is not declared on ${br.name}`, `VLANs: ${br.vlans.map((v) => v.id).join(', ')}`);
        cidr = vlan?.cidr;
      }
      if (n.ip !== 'dhcp') {
        const address = n.ip.split('/')[0] ?? n.ip;
        if (cidr !== undefined && !inSubnet(address, cidr)) report(['vm', 'nics', i, 'ip'], `${address} is outside ${cidr}, the network of ${n.vlan === undefined ? br.name : `VLAN ${n.vlan}`}`, `choose an address inside ${cidr}, or another bridge or VLAN`);
        const other = addresses.get(address);
        const bake = site.images.find((im) => Object.values(im.baked?.network.addresses ?? {}).some((a) => a.replace(/\/\d+$/, '') === address));
        if (bake !== undefined) report(['vm', 'nics', i, 'ip'], `address ${address} is the scratch address image ${bake.name} is baked at`, `pick another address, or give images[${bake.name}].bake.network.address another one in lab.yaml`);
        if (other !== undefined) report(['vm', 'nics', i, 'ip'], `address ${address} is already used by persona ${other}`, 'give each persona its own address, or use ip: dhcp');
        else addresses.set(address, lp.name);
      }
    });
    if (vm.vmid !== undefined) {
      const other = vmids.get(vm.vmid);
      if (other !== undefined) report(['vm', 'vmid'], `vmid ${vm.vmid} is already used by persona ${other}`, 'give each persona its own vmid, or omit it to allocate one');
      else vmids.set(vm.vmid, lp.name);
    }
    const fqdn = `${p.os.hostname}.${p.os.domain ?? site.domain ?? ''}`;
    const otherHost = hostnames.get(fqdn);
    if (otherHost !== undefined) report(['os', 'hostname'], `host name ${p.os.hostname} is already used by persona ${otherHost}`, 'give each persona its own os.hostname');
    else hostnames.set(fqdn, lp.name);
    const c = p.capture;
    if (c !== undefined) {
      if (!repos.includes(c.repository)) report(['capture', 'repository'], `no backup repository "${c.repository}" in lab.yaml`, suggestion(c.repository, repos, 'repositories'));
      if (c.replicate !== undefined) {
        if (!repos.includes(c.replicate.repository)) report(['capture', 'replicate', 'repository'], `no backup repository "${c.replicate.repository}" in lab.yaml`, suggestion(c.replicate.repository, repos, 'repositories'));
        else if (c.replicate.repository === c.repository) report(['capture', 'replicate', 'repository'], 'replication goes to the repository it copies from', 'name a second repository');
      }
      if (c.vm !== undefined) {
        const st = storages.get(c.vm.storage);
        if (st === undefined) report(['capture', 'vm', 'storage'], `no storage "${c.vm.storage}" in lab.yaml`, suggestion(c.vm.storage, [...storages.keys()], 'storages'));
        else if (!st.content.includes('backup')) report(['capture', 'vm', 'storage'], `storage "${c.vm.storage}" does not hold backups`, 'add backup to its content, or choose another storage');
      }
    }
  }
  out.push(...dataVolumeClashes(personas));
  return out;
}

/**
 * Persistent data disks must stay unambiguous across the lab (adr/0163). L2 now names their
 * volumes `lab_<persona>_<disk>`, which cannot collide, but labs made before named them
 * `lab-<persona>-<disk>` and L2 still finds volumes by that name: persona `coll` with disk `a-b`
 * and persona `coll-a` with disk `b` would both claim `lab-coll-a-b`, and one persona's
 * `--destroy-data` could free the other's data. Such a pair is refused here.
 */
function dataVolumeClashes(personas: readonly LoadedPersona[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Map<string, { persona: string; disk: string }>();
  for (const lp of personas) {
    lp.persona.vm.disks.forEach((d, i) => {
      if (!d.persistent) return;
      const legacy = `${lp.name}-${d.name}`;
      const other = seen.get(legacy);
      if (other === undefined) {
        seen.set(legacy, { persona: lp.name, disk: d.name });
        return;
      }
      if (other.persona === lp.name) return;
      const at = lp.locate(['vm', 'disks', i, 'name']);
      out.push({
        severity: 'error',
        code: 'LAB_INTENT_DATA_DISK_CLASH',
        summary: `persistent disk "${d.name}" of persona ${lp.name} and disk "${other.disk}" of persona ${other.persona} both read "${legacy}": existing labs name data volumes lab-<persona>-<disk> (vm-999999999-lab-${legacy}), so the two would claim one volume and could take each other's data`,
        path: at?.path ?? `vm.disks.${i}.name`,
        ...(at ? { source: at.source } : {}),
        hint: `rename one of the two disks (e.g. vm.disks[${i}].name: ${d.name}2 in personas/${lp.name}/persona.yaml), or one of the personas`,
      });
    });
  }
  return out;
}
