import net from 'node:net';
import type { PropertyFormat } from './_types.js';
import { splitList } from '../util/_list.js';

/** A named format's verifier throws an Error whose message PVE would print (with `\n`). */
export type FormatVerifier = (value: string) => void;

function bad(message: string): never {
  throw new Error(`${message}\n`);
}

const DNS_PART = '([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)';
export const DNS_NAME_RE = new RegExp(`^(${DNS_PART}\\.)*${DNS_PART}$`);
export const CONFIGID_RE = /^[a-z][a-z0-9_-]+$/i;
export const TAG_RE = /^[a-z0-9_][a-z0-9_\-+.]*$/i;
export const STORAGE_ID_RE = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
export const NODE_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
export const REALM_RE = /^[A-Za-z][A-Za-z0-9.\-_]+$/;
export const USER_RE = /^[^\s:/]+$/;
export const USERID_RE = /^([^\s:/]+)@([A-Za-z][A-Za-z0-9.\-_]+)$/;
export const TOKENID_RE = /^([^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$/;

function verifyIpv4(v: string, what = 'IPv4 address'): void {
  if (!net.isIPv4(v)) bad(`value does not look like a valid ${what}`);
}

function cidrV4(v: string): boolean {
  const [addr, mask, extra] = v.split('/');
  if (extra !== undefined || addr === undefined || mask === undefined || !/^\d+$/.test(mask)) return false;
  return net.isIPv4(addr) && Number(mask) >= 0 && Number(mask) <= 32;
}

function cidrV6(v: string): boolean {
  const [addr, mask, extra] = v.split('/');
  if (extra !== undefined || addr === undefined || mask === undefined || !/^\d+$/.test(mask)) return false;
  return net.isIPv6(addr) && Number(mask) >= 0 && Number(mask) <= 128;
}

const verifiers: Record<string, FormatVerifier> = {
  string: () => undefined,
  urlencoded: (v) => {
    if (!/^[-%a-zA-Z0-9_.!~*'()]*$/.test(v)) bad(`invalid urlencoded string: ${v}`);
  },
  'pve-configid': (v) => {
    if (!CONFIGID_RE.test(v)) bad(`invalid configuration ID '${v}'`);
  },
  'pve-storage-id': (v) => {
    if (!STORAGE_ID_RE.test(v)) bad(`storage ID '${v}' contains illegal characters`);
  },
  'pve-poolid': (v) => {
    if (!/^[A-Za-z0-9_\-/]+$/.test(v)) bad(`pool ID '${v}' contains illegal characters`);
  },
  'pve-roleid': (v) => {
    if (!/^[A-Za-z0-9.\-_]+$/.test(v)) bad(`role ID '${v}' contains illegal characters`);
  },
  'pve-groupid': (v) => {
    if (!/^[A-Za-z0-9.\-_]+$/.test(v)) bad(`group ID '${v}' contains illegal characters`);
  },
  'pve-bridge-id': (v) => {
    if (!/^[-_.\w\d]+$/.test(v)) bad(`invalid bridge ID '${v}'`);
  },
  'pve-vmid': (v) => {
    if (!/^[1-9][0-9]{2,8}$/.test(v)) bad('value does not look like a valid VM ID');
  },
  'pve-node': (v) => {
    if (!NODE_RE.test(v)) bad('value does not look like a valid node name');
  },
  'pve-userid': (v) => {
    if (v.length > 64) bad(`value '${v}' does not look like a valid user name`);
    if (!USERID_RE.test(v)) bad(`value '${v}' does not look like a valid user name`);
  },
  'pve-tokenid': (v) => {
    if (!/^[A-Za-z][A-Za-z0-9.\-_]+$/.test(v)) bad(`invalid token ID '${v}'`);
  },
  'pve-tag': (v) => {
    if (!TAG_RE.test(v)) bad('invalid characters in tag');
  },
  'dns-name': (v) => {
    if (!DNS_NAME_RE.test(v)) bad('value does not look like a valid DNS name');
  },
  'mac-addr': (v) => {
    if (!/^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$/i.test(v)) bad('value does not look like a valid unicast MAC address');
  },
  ipv4: (v) => verifyIpv4(v),
  ipv6: (v) => {
    if (!net.isIPv6(v)) bad('value does not look like a valid IPv6 address');
  },
  ip: (v) => {
    if (!net.isIP(v)) bad('value does not look like a valid IP address');
  },
  address: (v) => {
    if (!net.isIP(v) && !DNS_NAME_RE.test(v)) bad(`value does not look like a valid address: ${v}`);
  },
  CIDRv4: (v) => {
    if (!cidrV4(v)) bad('value does not look like a valid IPv4 CIDR network');
  },
  'pve-ipv4-config': (v) => {
    if (v !== 'dhcp' && v !== 'manual' && !cidrV4(v)) bad('value does not look like a valid ipv4 network configuration');
  },
  'pve-ipv6-config': (v) => {
    if (v !== 'dhcp' && v !== 'auto' && v !== 'manual' && !cidrV6(v)) bad('value does not look like a valid ipv6 network configuration');
  },
  'disk-size': (v) => {
    if (!/^(\d+(\.\d+)?)([KMGT])?$/.test(v)) bad(`value does not look like a valid disk size: ${v}`);
  },
  email: (v) => {
    if (!/^[\w+\-~]+(\.[\w+\-~]+)*@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*$/.test(v)) bad('value does not look like a valid email address');
  },
  'pve-storage-content': (v) => {
    if (!/^(images|rootdir|vztmpl|iso|backup|snippets|import|none)$/.test(v)) bad(`invalid content type '${v}'`);
  },
  'pve-task-status-type': (v) => {
    if (!/^(ok|error|warning|unknown)$/i.test(v)) bad(`invalid status '${v}'`);
  },
  'pve-priv': () => undefined,
  'pve-startup-order': (v) => {
    for (const p of v.split(',')) {
      if (!/^(order=\d+|up=\d+|down=\d+)$/.test(p)) bad('unable to parse startup options');
    }
  },
  'pve-volume-id-or-qm-path': () => undefined,
  'pve-volume-id-or-absolute-path': () => undefined,
  'pve-qm-bootdev': (v) => {
    if (!/^(ide[0-3]|scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|sata[0-5]|net([0-9]|[12][0-9]|3[01])|efidisk0|tpmstate0)$/.test(v)) {
      bad(`invalid boot device '${v}'`);
    }
  },
  'pve-hotplug-features': (v) => {
    if (v === '0' || v === '1') return;
    for (const f of v.split(',')) if (!/^(network|disk|cpu|memory|usb|cloudinit)$/.test(f)) bad(`invalid hotplug feature '${f}'`);
  },
  'address-list': () => undefined,
  'pve-iface': (v) => {
    if (!/^[a-zA-Z][a-zA-Z0-9_.]{1,20}([:.]\d+)?$/.test(v)) bad(`invalid network interface name '${v}'`);
  },
  'pve-cpuset': () => undefined,
  'pve-qm-bootdisk': () => undefined,
  'pve-volume-id': (v) => {
    if (!/^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.test(v)) bad(`unable to parse volume ID '${v}'`);
  },
};

const propertyFormats: Record<string, PropertyFormat> = {};

export function registerPropertyFormat(name: string, format: PropertyFormat): void {
  propertyFormats[name] = format;
}

export function lookupPropertyFormat(name: string): PropertyFormat | undefined {
  return propertyFormats[name];
}

/**
 * Verify `value` against a named format the way `check_format` does: `<name>-list` checks each
 * item of a `split_list`, `<name>-opt` allows the empty string.
 */
export function checkNamedFormat(format: string, value: string): void {
  const m = /^(.*?)(?:-(list|opt))?$/.exec(format);
  const name = m?.[1] ?? format;
  const kind = m?.[2];
  const verifier = verifiers[name];
  if (!verifier) {
    if (propertyFormats[format]) return;
    throw new Error(`undefined format '${format}'\n`);
  }
  if (kind === 'list') {
    for (const item of splitList(value)) verifier(item);
  } else if (kind === 'opt') {
    if (value) verifier(value);
  } else {
    verifier(value);
  }
}
