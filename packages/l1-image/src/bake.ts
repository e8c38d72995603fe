import { LabError, runStep, toLabError, type Address, type Reporter } from '@lab/core';
import type { Os } from '@lab/intent';
import { cloneVm, configureVm, convertToTemplate, destroyVm, shutdownVm, startVm, type PveClient, type VmRef } from '@lab/pve';
import { cleanForTemplate, forgetHost, generateKeyPair, pinHostKey, waitForGuest, type CleanReport, type SshConnection } from '@lab/ssh';
import { checksumText, type DesiredTemplate } from './intent.js';
import { renderProvenance, TEMPLATE_TAG } from './naming.js';
import { buildVmsOf } from './assess.js';
import type { ImageObservation } from './observe.js';

/**
 * Baking one version on one node (adr/0145): full clone of the base template → boot once at
 * the profile's scratch address with a host key lab generated and pinned → converge the
 * profile with L3 (through the `converge` port: L1 never imports L3) → record the installed
 * packages → clean for templating (@lab/ssh, shared with capture) → shut down, drop the boot
 * settings → template. Any failure after the clone removes the VM and its snippet: a failed
 * bake leaves no template and no stray VM. An interrupted one is an unfinished build VM the
 * next plan rebuilds (same VMID, same name).
 */

/** What the bake VM is, for the ports. */
export interface BakeTarget {
  readonly image: string;
  readonly version: string;
  readonly node: string;
  readonly vmid: number;
  /** Scratch address, without prefix. */
  readonly address: string;
  /** Host name the converge gives the bake VM. */
  readonly hostname: string;
  /** The resolved profile (a persona's `os:`). */
  readonly os: Os;
  /** Address of the bake's L1 change, for events. */
  readonly change: Address;
  readonly progress: (message: string) => void;
}

export interface ConvergeResult {
  /** Operations that changed something. */
  readonly changed: number;
  /** Operations already in place. */
  readonly unchanged: number;
}

/** What L1 is handed to bake: the engine wires L3, SSH and snippets. */
export interface BakePorts {
  /** An SSH connection to the bake VM at its scratch address (through the jump host). */
  connect(target: BakeTarget): Promise<SshConnection>;
  /** Converge the profile on the connected VM with L3 (apply, then re-verify). */
  converge(target: BakeTarget, connection: SshConnection): Promise<ConvergeResult>;
  /** Place a cloud-init vendor-data snippet on a node; returns its volid (`local:snippets/x.yaml`). */
  placeSnippet(node: string, storage: string, name: string, content: string): Promise<string>;
  removeSnippet?(node: string, storage: string, name: string): Promise<void>;
  /** The lab's SSH public key (installed for `user`). */
  readonly sshPublicKey: string;
  /** `ssh.user` of lab.yaml. */
  readonly sshUser: string;
  /** The lab's known_hosts file (the bake VM's key is pinned there while it runs). */
  readonly knownHostsFile: string;
  /** Storage with `snippets` content. */
  readonly snippetStorage: string;
  /** How long the bake VM may take to answer on SSH (default 5 min). */
  readonly bootTimeoutMs?: number;
}

export interface BakeOutcome {
  readonly packages: readonly string[];
  readonly converge: ConvergeResult;
  readonly clean: CleanReport;
}

/** Config keys the bake VM gets for its one boot and loses before it becomes a template. */
const BOOT_KEYS = ['cicustom', 'sshkeys', 'ipconfig0', 'net0', 'ciupgrade', 'onboot'] as const;

export function bakeSnippetName(d: Pick<DesiredTemplate, 'name'>): string {
  return `lab-bake-${d.name}.yaml`;
}

/** The bake VM's own host key as cloud-init vendor data (same shape as L2's: only this key, none generated). */
function vendorData(privateKey: string, publicKey: string): string {
  return [
    '#cloud-config',
    'ssh_deletekeys: true',
    'ssh_genkeytypes: []',
    'ssh_keys:',
    '  ed25519_private: |',
    ...privateKey.trim().split('\n').map((l) => `    ${l}`),
    `  ed25519_public: ${publicKey}`,
    '',
  ].join('\n');
}

/** The base's template on the node, from an observation made after plain images were built. */
export function baseTemplateOn(obs: ImageObservation, d: DesiredTemplate): VmRef | undefined {
  const b = d.bake!;
  const vm = buildVmsOf(obs, b.base.image, b.base.version, d.node).find((v) => v.template && v.lock === undefined);
  return vm ? { node: vm.node, vmid: vm.vmid } : undefined;
}

export function bakeHostname(image: string): string {
  return `bake-${image}`.replace(/[^a-z0-9-]/g, '-').slice(0, 63).replace(/-+$/, '');
}

function failed(stage: string, d: DesiredTemplate, address: Address, err: unknown): LabError {
  const e = toLabError(err);
  return new LabError({
    code: 'LAB_L1_BAKE_FAILED',
    summary: `baking ${d.image}@${d.version} on ${d.node} failed at ${stage}: ${e.summary}`,
    ...(e.detail ? { detail: e.detail } : {}),
    hint: e.hint ?? `fix the profile (images[${d.image}].bake in lab.yaml or its mixins), then run \`lab apply --layer l1 --image ${d.image}\``,
    address: e.address ?? address,
    diagnostics: [e.toDiagnostic()],
    cause: err,
  });
}

export interface BakeContext {
  readonly client: PveClient;
  readonly reporter: Reporter;
  readonly pollMs: number;
  readonly ports: BakePorts;
}

/** Bake one version on one node; the VMID is the plan's (`w.vmid`). */
export async function bakeTemplate(ctx: BakeContext, d: DesiredTemplate, vmid: number, base: VmRef, address: Address): Promise<BakeOutcome> {
  const b = d.bake!;
  const { client, ports, reporter, pollMs } = ctx;
  const vm: VmRef = { node: d.node, vmid };
  const step = { reporter, address, pollMs };
  const net = b.profile.network;
  const cidr = net.addresses[d.node] ?? net.address;
  const ip = cidr.replace(/\/\d+$/, '');
  const snippet = bakeSnippetName(d);
  const description = renderProvenance({ image: d.image, version: d.version, url: d.url, checksum: checksumText(d), build: d.build });
  let stage = `cloning ${b.base.image}@${b.base.version} (VM ${base.vmid})`;
  // The clone carries the base's tags and our provenance from its first instant: an interrupted
  // bake is an unfinished L1 build VM that the next plan rebuilds, never a stray.
  await cloneVm(client, base, { ...step, newid: vmid, name: d.name, full: true, storage: d.diskStorage, description, title: `full clone of ${b.base.image}@${b.base.version} (VM ${base.vmid}) to ${vmid} ${d.name}` });
  try {
    stage = 'configuring the bake VM';
    const key = generateKeyPair(`root@${bakeHostname(d.image)}`);
    const volid = await ports.placeSnippet(d.node, ports.snippetStorage, snippet, vendorData(key.privateKey.reveal(), key.publicKey));
    await configureVm(client, vm, {
      tags: [TEMPLATE_TAG, d.tag].sort().join(';'),
      ciuser: ports.sshUser,
      sshkeys: encodeURIComponent(ports.sshPublicKey.trim()),
      ipconfig0: `ip=${cidr}${net.gateway ? `,gw=${net.gateway}` : ''}`,
      net0: `virtio,bridge=${net.bridge}${net.vlan !== undefined ? `,tag=${net.vlan}` : ''}`,
      cicustom: `vendor=${volid}`,
      ciupgrade: 0,
      onboot: 0,
    });
    await forgetHost(ports.knownHostsFile, ip);
    await pinHostKey(ports.knownHostsFile, ip, 22, key.publicKey);
    stage = 'booting the bake VM';
    await startVm(client, vm, { ...step, title: `boot ${d.name} (${vmid}) at ${cidr}` });
    const target = (progress: (m: string) => void): BakeTarget => ({ image: d.image, version: d.version, node: d.node, vmid, address: ip, hostname: bakeHostname(d.image), os: b.profile.os, change: address, progress });
    stage = 'reaching the bake VM over SSH';
    const conn = await runStep(reporter, `wait for ${d.name} on SSH`, (progress) => waitForGuest(() => ports.connect(target(progress)), { label: 'the bake VM', onProgress: progress, ...(ports.bootTimeoutMs !== undefined ? { bootTimeoutMs: ports.bootTimeoutMs } : {}) }), { address });
    stage = 'converging the profile with L3';
    const converge = await ports.converge(target(() => undefined), conn);
    stage = 'listing the installed packages';
    const listed = await conn.exec("dpkg-query -W -f='${Package} ${Version}\\n'", { sudo: false });
    if (listed.code !== 0) throw new LabError({ code: 'LAB_L1_BAKE_FAILED', summary: `dpkg-query failed (exit ${String(listed.code)})`, detail: listed.stderr.trim() });
    const packages = listed.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
    stage = 'cleaning for templating';
    const clean = await runStep(reporter, `clean ${d.name} for templating`, (progress) => cleanForTemplate(conn, { label: 'the bake VM', onProgress: progress }), { address });
    stage = 'shutting the bake VM down';
    await shutdownVm(client, vm, { ...step, title: `shut down ${d.name} (${vmid})` });
    stage = 'converting to a template';
    await configureVm(client, vm, { delete: BOOT_KEYS.join(','), ciuser: d.cloudInit.user });
    await convertToTemplate(client, vm, { ...step, title: `convert VM ${vmid} to a template` });
    await forgetHost(ports.knownHostsFile, ip);
    await ports.removeSnippet?.(d.node, ports.snippetStorage, snippet).catch(() => undefined);
    return { packages, converge, clean };
  } catch (err) {
    const error = failed(stage, d, address, err);
    await destroyVm(client, vm, { ...step, onlyIfName: d.name, title: `remove the failed bake VM ${vmid}` }).catch((e: unknown) => {
      reporter.emit({ type: 'log', level: 'warn', address, message: `could not remove the failed bake VM ${vmid} on ${d.node}: ${(e as Error).message}; remove it by hand (qm destroy ${vmid} --purge)` });
    });
    await forgetHost(ports.knownHostsFile, ip).catch(() => undefined);
    await ports.removeSnippet?.(d.node, ports.snippetStorage, snippet).catch(() => undefined);
    throw error;
  }
}
