import { createHash } from 'node:crypto';
import type { Sim } from '../engine/sim.js';
import type { ConfigSection, VmRecord } from '../state/model.js';
import { fail } from '../http/_errors.js';
import { parsePropertyString, printPropertyString, tryParsePropertyString, type PropertyValues } from '../schema/property-string.js';
import { driveFormat, IPCONFIG_FORMAT, NET_FORMAT, AGENT_FORMAT, MEMORY_FORMAT, BOOT_FORMAT } from './formats.js';
import { DRIVE_ORDER, jsonValue } from './config-schema.js';
import { splitList } from '../util/_list.js';

export function configPath(node: string, vmid: number | string): string {
  return `nodes/${node}/qemu-server/${vmid}.conf`;
}

/** `load_config`: the VM on `node`, else `Configuration file '…' does not exist`. */
export function loadVm(sim: Sim, node: string, vmid: number | string): VmRecord {
  const vm = sim.vm(vmid);
  if (!vm || vm.node !== node) fail(`Configuration file '${configPath(node, vmid)}' does not exist`);
  return vm;
}

/** `assert_config_exists_on_node` wording used by clone, reboot, stop and shutdown. */
export function loadVmOnNode(sim: Sim, node: string, vmid: number | string): VmRecord {
  const vm = sim.vm(vmid);
  if (!vm || vm.node !== node) fail(`unable to find configuration file for VM ${vmid} on node '${node}'`);
  return vm;
}

/** `check_lock`. */
export function checkLock(conf: ConfigSection): void {
  const lock = conf['lock'];
  if (lock) fail(`VM is locked (${lock})`);
}

/** `check_protection`. */
export function checkProtection(conf: ConfigSection, what: string): void {
  if (conf['protection'] === '1') fail(`${what} - protection mode enabled`);
}

function encodeText(line: string): string {
  return [...Buffer.from(line, 'utf8')]
    .map((b) => (b >= 0x20 && b <= 0x7e && b !== 0x25 && b !== 0x3a ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

function rawSection(section: ConfigSection, pending: boolean): string {
  let raw = '';
  const descr = section['description'];
  if (descr !== undefined) {
    if (descr) for (const line of descr.split('\n')) raw += `#${encodeText(line)}\n`;
    else if (pending) raw += '#\n';
  }
  for (const key of Object.keys(section).sort()) {
    if (key === 'description' || key === 'digest') continue;
    raw += `${key}: ${section[key]}\n`;
  }
  return raw;
}

/** The config file exactly as `write_vm_config` would lay it out. */
export function renderConfigFile(vm: VmRecord): string {
  let raw = rawSection(vm.conf, false);
  if (Object.keys(vm.pending).length > 0) raw += `\n[PENDING]\n${rawSection(vm.pending, true)}`;
  if (Object.keys(vm.cloudinit).length > 0 && hasCloudinitDrive(vm.conf)) raw += `\n[special:cloudinit]\n${rawSection(vm.cloudinit, false)}`;
  for (const name of Object.keys(vm.snapshots).sort()) raw += `\n[${name}]\n${rawSection(vm.snapshots[name]!, false)}`;
  return raw;
}

/** SHA-1 of the config file: changes on every write that changes the file. */
export function digestOf(vm: VmRecord): string {
  return createHash('sha1').update(renderConfigFile(vm)).digest('hex');
}

/** Description as PVE reads it back: trailing whitespace trimmed. */
export function normaliseDescription(text: string): string {
  return text.replace(/\s+$/, '');
}

/** Pending deletes (`delete: a,!b`): key → force flag. */
export function parsePendingDelete(value: string | undefined): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const item of splitList(value)) {
    const force = item.startsWith('!');
    out.set(force ? item.slice(1) : item, force);
  }
  return out;
}

export function printPendingDelete(map: ReadonlyMap<string, boolean>): string {
  return [...map].map(([k, force]) => `${force ? '!' : ''}${k}`).join(',');
}

export function addToPendingDelete(vm: VmRecord, key: string, force: boolean): void {
  const map = parsePendingDelete(vm.pending['delete']);
  map.set(key, force);
  vm.pending['delete'] = printPendingDelete(map);
}

export function removeFromPendingDelete(vm: VmRecord, key: string): void {
  const map = parsePendingDelete(vm.pending['delete']);
  map.delete(key);
  if (map.size === 0) delete vm.pending['delete'];
  else vm.pending['delete'] = printPendingDelete(map);
}

/** Config with pending values applied and pending deletes removed (the default GET view). */
export function pendingAppliedView(vm: VmRecord): ConfigSection {
  const out: ConfigSection = { ...vm.conf };
  const deletes = parsePendingDelete(vm.pending['delete']);
  for (const [k, v] of Object.entries(vm.pending)) if (k !== 'delete') out[k] = v;
  for (const k of deletes.keys()) delete out[k];
  return out;
}

/** A config section as API JSON (§6.8 types), `cipassword` masked. */
export function configJson(section: ConfigSection): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const k of Object.keys(section).sort()) {
    out[k] = k === 'cipassword' ? '**********' : jsonValue(k, section[k]!);
  }
  return out;
}

// ---- drives ----

export type Drive = PropertyValues & { readonly file: string };

export function parseDrive(key: string, value: string): Drive | undefined {
  const fmt = driveFormat(key);
  if (!fmt) return undefined;
  const d = tryParsePropertyString(fmt, value);
  return d && d['file'] !== undefined ? (d as Drive) : undefined;
}

export function printDrive(key: string, drive: PropertyValues): string {
  return printPropertyString(drive, driveFormat(key)!);
}

export function isCdrom(drive: PropertyValues): boolean {
  return drive['media'] === 'cdrom';
}

export function isCloudinitVolume(file: string): boolean {
  return /(^|[:/])vm-\d+-cloudinit(\.(qcow2|raw))?$/.test(file);
}

export function isCloudinitDrive(drive: PropertyValues): boolean {
  return isCloudinitVolume(drive['file'] ?? '');
}

/** Each drive key of a config section in PVE's drive order. */
export function drivesOf(section: ConfigSection): Array<{ key: string; drive: Drive }> {
  const out: Array<{ key: string; drive: Drive }> = [];
  for (const key of DRIVE_ORDER) {
    const v = section[key];
    if (v === undefined) continue;
    const drive = parseDrive(key, v);
    if (drive) out.push({ key, drive });
  }
  return out;
}

export function hasCloudinitDrive(section: ConfigSection): boolean {
  return drivesOf(section).some(({ drive }) => isCloudinitDrive(drive));
}

/** `resolve_first_disk`: first hard disk (cdrom=false) or first cdrom incl. cloud-init (cdrom=true). */
export function firstDisk(section: ConfigSection, cdrom: boolean): string | undefined {
  for (const { key, drive } of drivesOf(section)) {
    if (key === 'efidisk0' || key === 'tpmstate0') continue;
    if (isCdrom(drive) === cdrom) return key;
  }
  return undefined;
}

/** `get_default_bootdevices` joined into `order=…`. */
export function defaultBootOrder(section: ConfigSection): string {
  const devs: string[] = [];
  const disk = firstDisk(section, false);
  if (disk) devs.push(disk);
  const cd = firstDisk(section, true);
  if (cd) devs.push(cd);
  for (let i = 0; i < 32; i++) {
    if (section[`net${i}`] !== undefined) {
      devs.push(`net${i}`);
      break;
    }
  }
  return devs.length > 0 ? `order=${devs.join(';')}` : '';
}

export function bootOrder(section: ConfigSection): string[] {
  const boot = section['boot'];
  if (!boot) return [];
  const parsed = tryParsePropertyString(BOOT_FORMAT, boot);
  return splitList(parsed?.['order']);
}

// ---- nets, memory, agent ----

export function parseNet(value: string): PropertyValues | undefined {
  return tryParsePropertyString(NET_FORMAT, value);
}

export function printNet(net: PropertyValues): string {
  return printPropertyString(net, NET_FORMAT);
}

export function parseIpconfig(value: string): PropertyValues | undefined {
  return tryParsePropertyString(IPCONFIG_FORMAT, value);
}

/** Memory in MiB (`current` of the property string, default 512). */
export function memoryMiB(section: ConfigSection): number {
  const v = section['memory'];
  if (!v) return 512;
  const parsed = tryParsePropertyString(MEMORY_FORMAT, v);
  return Number(parsed?.['current'] ?? 512);
}

export function agentEnabled(section: ConfigSection): boolean {
  const v = section['agent'];
  if (v === undefined) return false;
  const parsed = tryParsePropertyString(AGENT_FORMAT, v);
  return parsed?.['enabled'] === '1';
}

export function parseStrict(format: Parameters<typeof parsePropertyString>[0], value: string): PropertyValues {
  return parsePropertyString(format, value);
}

/** sockets × cores, or vcpus when set. */
export function cpuCount(section: ConfigSection): number {
  const vcpus = Number(section['vcpus'] ?? 0);
  if (vcpus > 0) return vcpus;
  return Number(section['sockets'] ?? 1) * Number(section['cores'] ?? 1);
}
