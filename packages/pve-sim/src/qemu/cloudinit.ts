import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Sim } from '../engine/sim.js';
import type { ConfigSection } from '../state/model.js';
import type { CloudInitSeed } from '../guests/backend.js';
import { tryParsePropertyString } from '../schema/property-string.js';
import { CICUSTOM_FORMAT } from './formats.js';
import { parseNet } from './vmconf.js';
import { parseIpconfig } from './vmconf.js';
import { uriUnescape } from '../util/_list.js';
import { findVolume, parseVolid } from '../storage/volumes.js';
import type { HostDns } from '../options.js';

const WINDOWS = new Set(['wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11']);

export type CloudInitFormat = 'nocloud' | 'configdrive2' | 'opennebula';

export function cloudinitFormat(conf: ConfigSection): CloudInitFormat {
  const t = conf['citype'];
  if (t === 'nocloud' || t === 'configdrive2' || t === 'opennebula') return t;
  if (conf['ostype'] && WINDOWS.has(conf['ostype'])) return 'configdrive2';
  return 'nocloud';
}

export function hostnameFqdn(conf: ConfigSection, vmid: number): { hostname: string; fqdn: string } {
  let hostname = conf['name'] ?? `VM${vmid}`;
  let fqdn: string;
  if (hostname.includes('.')) {
    fqdn = hostname;
    hostname = hostname.replace(/\..*$/, '');
  } else if (conf['searchdomain']) {
    fqdn = `${hostname}.${conf['searchdomain']}`;
  } else {
    fqdn = hostname;
  }
  return { hostname, fqdn };
}

function dnsConf(conf: ConfigSection, host: HostDns): { search: string[]; servers: string[] } {
  const search = (conf['searchdomain'] ?? host.search ?? '').split(/\s+/).filter(Boolean);
  const servers = conf['nameserver'] !== undefined ? conf['nameserver'].split(/\s+/).filter(Boolean) : [...host.servers];
  return { search, servers };
}

function sshKeys(conf: ConfigSection): string[] | undefined {
  const raw = conf['sshkeys'];
  if (raw === undefined) return undefined;
  return uriUnescape(raw)
    .split('\n')
    .map((k) => k.replace(/\r$/, ''))
    .filter((k) => /\S/.test(k));
}

/** `cloudinit_userdata`. */
export function renderUserData(conf: ConfigSection, vmid: number, maskPassword = false): string {
  const { hostname, fqdn } = hostnameFqdn(conf, vmid);
  let c = '#cloud-config\n';
  c += `hostname: ${hostname}\n`;
  c += 'manage_etc_hosts: true\n';
  c += `fqdn: ${fqdn}\n`;
  const user = conf['ciuser'];
  const password = conf['cipassword'];
  if (user !== undefined) c += `user: ${user}\n`;
  if (user === 'root') c += 'disable_root: False\n';
  if (password !== undefined) c += maskPassword ? 'password: **********\n' : `password: ${password}\n`;
  const keys = sshKeys(conf);
  if (keys) {
    c += 'ssh_authorized_keys:\n';
    for (const k of keys) c += `  - ${k}\n`;
  }
  c += 'chpasswd:\n';
  c += '  expire: False\n';
  if (user === undefined || user !== 'root') c += 'users:\n  - default\n';
  if (conf['ciupgrade'] === undefined || conf['ciupgrade'] === '1') c += 'package_upgrade: true\n';
  return c;
}

function netmask(bits: number): string {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [24, 16, 8, 0].map((s) => (mask >>> s) & 0xff).join('.');
}

function splitIp4(ip: string): { addr: string; mask: string } {
  const [addr, bits] = ip.split('/');
  if (bits === undefined) throw new Error(`not a CIDR: ${ip}\n`);
  return { addr: addr!, mask: netmask(Number(bits)) };
}

interface Iface {
  readonly id: string;
  readonly mac: string;
  readonly ip?: string;
  readonly gw?: string;
  readonly ip6?: string;
  readonly gw6?: string;
}

/** NICs that have an `ipconfigN`, in PVE's (lexical) order, with `parse_ipconfig` defaults. */
function ifaces(conf: ConfigSection): Iface[] {
  const out: Iface[] = [];
  for (const key of Object.keys(conf).filter((k) => /^net\d+$/.test(k)).sort()) {
    const id = key.slice(3);
    const ipc = conf[`ipconfig${id}`];
    if (!ipc) continue;
    const net = parseNet(conf[key]!);
    let ip = parseIpconfig(ipc) ?? {};
    if (!ip['ip'] && !ip['ip6']) ip = { ip: 'dhcp', ip6: 'dhcp' };
    out.push({
      id,
      mac: net?.['macaddr'] ?? '',
      ...(ip['ip'] ? { ip: ip['ip'] } : {}),
      ...(ip['gw'] ? { gw: ip['gw'] } : {}),
      ...(ip['ip6'] ? { ip6: ip['ip6'] } : {}),
      ...(ip['gw6'] ? { gw6: ip['gw6'] } : {}),
    });
  }
  return out;
}

/** `nocloud_network`: network-config version 1, MAC-matched. */
export function renderNocloudNetwork(conf: ConfigSection, host: HostDns): string {
  let c = 'version: 1\nconfig:\n';
  const i = '    ';
  for (const f of ifaces(conf)) {
    c += `${i}- type: physical\n${i}  name: eth${f.id}\n${i}  mac_address: '${f.mac.toLowerCase()}'\n${i}  subnets:\n`;
    const j = `${i}  `;
    if (f.ip !== undefined) {
      if (f.ip === 'dhcp') c += `${j}- type: dhcp4\n`;
      else {
        const { addr, mask } = splitIp4(f.ip);
        c += `${j}- type: static\n${j}  address: '${addr}'\n${j}  netmask: '${mask}'\n`;
        if (f.gw !== undefined) c += `${j}  gateway: '${f.gw}'\n`;
      }
    }
    if (f.ip6 !== undefined) {
      if (f.ip6 === 'dhcp') c += `${j}- type: dhcp6\n`;
      else if (f.ip6 === 'auto') c += `${j}- type: ipv6_slaac\n`;
      else {
        c += `${j}- type: static6\n${j}  address: '${f.ip6}'\n`;
        if (f.gw6 !== undefined) c += `${j}  gateway: '${f.gw6}'\n`;
      }
    }
  }
  const { search, servers } = dnsConf(conf, host);
  c += `${i}- type: nameserver\n`;
  if (servers.length > 0) {
    c += `${i}  address:\n`;
    for (const s of servers) c += `${i}  - '${s}'\n`;
  }
  if (search.length > 0) {
    c += `${i}  search:\n`;
    for (const s of search) c += `${i}  - '${s}'\n`;
  }
  return c;
}

/** `configdrive2_network`: Debian ENI syntax. */
export function renderConfigdrive2Network(conf: ConfigSection, host: HostDns): string {
  let c = 'auto lo\niface lo inet loopback\n\n';
  const { search, servers } = dnsConf(conf, host);
  if (servers.length > 0) c += `        dns_nameservers ${servers.join(' ')}\n`;
  if (search.length > 0) c += `        dns_search ${search.join(' ')}\n`;
  for (const f of ifaces(conf)) {
    const id = `eth${f.id}`;
    c += `auto ${id}\n`;
    if (f.ip) {
      if (f.ip === 'dhcp') c += `iface ${id} inet dhcp\n`;
      else {
        const { addr, mask } = splitIp4(f.ip);
        c += `iface ${id} inet static\n        address ${addr}\n        netmask ${mask}\n`;
        if (f.gw) c += `        gateway ${f.gw}\n`;
      }
    }
    if (f.ip6) {
      if (f.ip6 === 'auto' || f.ip6 === 'dhcp') c += `iface ${id} inet6 ${f.ip6}\n`;
      else {
        const [addr, mask] = f.ip6.split('/');
        c += `iface ${id} inet6 static\n        address ${addr}\n        netmask ${mask}\n`;
        if (f.gw6) c += `        gateway ${f.gw6}\n`;
      }
    }
  }
  return c;
}

function instanceId(user: string, network: string): string {
  return createHash('sha1').update(user + network).digest('hex');
}

/** `GET …/cloudinit/dump?type=…`, generated from the given config (no cicustom). */
export function dumpCloudinit(conf: ConfigSection, vmid: number, type: 'user' | 'network' | 'meta', host: HostDns, maskPassword: boolean): string {
  const fmt = cloudinitFormat(conf);
  const network = (): string => (fmt === 'nocloud' ? renderNocloudNetwork(conf, host) : renderConfigdrive2Network(conf, host));
  if (type === 'user') return renderUserData(conf, vmid, maskPassword);
  if (type === 'network') return network();
  const id = instanceId(renderUserData(conf, vmid), network());
  if (fmt === 'nocloud') return `instance-id: ${id}\n`;
  return `{\n     "uuid": "${id}",\n     "network_config": { "content_path": "/content/0000" }\n}\n`;
}

async function readSnippet(sim: Sim, node: string, volid: string): Promise<string> {
  const { parsed } = parseVolid(sim, volid);
  if (parsed.vtype !== 'snippets') throw new Error(`${volid} is not in the snippets directory`);
  const vol = findVolume(sim, node, volid);
  if (!vol?.file) throw new Error(`volume '${volid}' does not exist`);
  return readFile(sim.store.resolve(vol.file), 'utf8');
}

/**
 * The NoCloud seed a guest gets at start: generated parts unless `cicustom` replaces them.
 * `networkConfig` is omitted when no NIC has an ipconfig (the backend contract).
 */
export async function buildSeed(sim: Sim, node: string, conf: ConfigSection, vmid: number): Promise<CloudInitSeed> {
  const host = sim.options.hostDns;
  const custom = conf['cicustom'] ? (tryParsePropertyString(CICUSTOM_FORMAT, conf['cicustom']) ?? {}) : {};
  const userData = custom['user'] ? await readSnippet(sim, node, custom['user']) : renderUserData(conf, vmid);
  const network = custom['network'] ? await readSnippet(sim, node, custom['network']) : renderNocloudNetwork(conf, host);
  const vendor = custom['vendor'] ? await readSnippet(sim, node, custom['vendor']) : '';
  const meta = custom['meta'] ? await readSnippet(sim, node, custom['meta']) : `instance-id: ${instanceId(userData, network)}\n`;
  if (userData.length + network.length + meta.length + vendor.length > 3 * 1024 * 1024) throw new Error('Cloud-Init sum of snippets too big (> 3 MiB)');
  const hasNet = custom['network'] !== undefined || ifaces(conf).length > 0;
  return {
    metaData: meta,
    userData,
    ...(hasNet ? { networkConfig: network } : {}),
    ...(vendor ? { vendorData: vendor } : {}),
  };
}
