import { createPlan, LabError, type Change, type Diagnostic, type Plan } from '@lab/core';
import type { LoadedPersona, Site } from '@lab/intent';
import type { PveClient } from '@lab/pve';
import { templateAddress, vmAddress } from './_addresses.js';
import { driveVolume, isDriveKey } from './archive-config.js';
import { imageTag, manifestPath, readCapturedManifest, templateName } from './manifest.js';
import { readCluster, requirePersonaVm, type PersonaVm } from './persona-vm.js';

/** Templates live in L1's VMID range (adr/0081); L2 allocates outside it. */
export const TEMPLATE_VMIDS = { min: 9000, max: 9999 } as const;

/** Config keys that describe the persona's machine, not the appliance: stripped from the template. */
export const PERSONA_KEYS = ['cicustom', 'sshkeys', 'nameserver', 'searchdomain', 'cipassword', 'startup', 'onboot', 'protection', 'hookscript'] as const;

export interface TemplateCaptureIntent {
  readonly persona: string;
  readonly vmid?: number;
  readonly image: string;
  readonly version: string;
  readonly os: string;
  readonly cloudInitUser: string;
  /** `10.0.20.250/24`: where the clone boots once to be cleaned. */
  readonly address: string;
  readonly gateway?: string;
  /** Addresses of every persona: the clone must not take one. */
  readonly taken: readonly string[];
  /** lab.yaml declares this version: L1 would rebuild it from its URL. */
  readonly declared: boolean;
}

const CIDR_RE = /^((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})\/(\d|[12]\d|3[0-2])$/;

/**
 * A template capture request, checked against lab.yaml: the image must be in the catalogue
 * (L2 clones only catalogued images), the version new, the scratch address a free CIDR.
 */
export function templateCaptureIntent(p: LoadedPersona, site: Site, request: { image: string; version: string; address: string; gateway?: string }, personas: readonly LoadedPersona[] = []): TemplateCaptureIntent {
  const entry = site.images.find((i) => i.name === request.image);
  if (!entry) {
    throw new LabError({ code: 'LAB_CAPTURE_TEMPLATE_IMAGE', summary: `no image "${request.image}" in the catalogue of lab.yaml`, hint: `capture into a catalogued image: ${site.images.map((i) => i.name).join(', ') || '(none)'}`, address: vmAddress(p.name) });
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(request.version) || request.version === 'stable' || request.version === 'canary') {
    throw new LabError({ code: 'LAB_CLI_USAGE', summary: `'${request.version}' is not a version name`, hint: 'letters, digits, ".", "_" and "-", e.g. --version media-2025.06' });
  }
  if (!CIDR_RE.test(request.address)) {
    throw new LabError({ code: 'LAB_CLI_USAGE', summary: `--address ${request.address} is not an IPv4 address with a prefix`, hint: 'a free address on the persona\'s network, e.g. --address 10.0.20.250/24' });
  }
  const gateway = request.gateway ?? p.persona.vm.nics[0]?.gateway;
  return {
    persona: p.name,
    ...(p.persona.vm.vmid !== undefined ? { vmid: p.persona.vm.vmid } : {}),
    image: request.image,
    version: request.version,
    os: entry.os,
    cloudInitUser: entry.cloudInit.user,
    address: request.address,
    ...(gateway ? { gateway } : {}),
    taken: personas.flatMap((q) => q.persona.vm.nics.map((n) => n.ip).filter((ip): ip is string => !!ip && ip !== 'dhcp').map((ip) => ip.replace(/\/\d+$/, ''))),
    declared: entry.versions.some((v) => v.version === request.version),
  };
}

export interface TemplateCaptureObservation {
  readonly vm: PersonaVm;
  readonly usedVmids: readonly number[];
  /** VMs (templates or not) already carrying the version's tag. */
  readonly tagged: readonly { readonly vmid: number; readonly name: string }[];
  readonly manifestExists: boolean;
}

export async function observeTemplateCapture(client: PveClient, root: string, intent: TemplateCaptureIntent): Promise<TemplateCaptureObservation> {
  const cluster = await readCluster(client);
  const vm = await requirePersonaVm(client, intent.persona, { ...(intent.vmid !== undefined ? { vmid: intent.vmid } : {}), cluster });
  const tag = imageTag(intent.image, intent.version);
  return {
    vm,
    usedVmids: cluster.vms.map((v) => v.vmid),
    tagged: cluster.vms.filter((v) => v.tags.map((t) => t.toLowerCase()).includes(tag)).map((v) => ({ vmid: v.vmid, name: v.name })),
    manifestExists: (await readCapturedManifest(root, intent.image, intent.version)) !== undefined,
  };
}

/** The `after` of a template capture: what apply does, step by step. */
export interface TemplateCall {
  readonly node: string;
  readonly source: number;
  readonly vmid: number;
  readonly name: string;
  readonly tags: readonly string[];
  /** The boot disk, kept. */
  readonly rootDisk: string;
  /** The clone's copies of the persona's data disks: deleted before templating. */
  readonly dataDisks: readonly string[];
  readonly ipconfig0: string;
  readonly address: string;
  readonly manifest: string;
  readonly sourceDigest: string;
}

/** The boot disk: first disk of `boot: order=…`, else the first disk drive. */
export function bootDiskOf(config: Readonly<Record<string, string>>): string | undefined {
  const disks = Object.keys(config).filter((k) => isDriveKey(k) && !driveVolume(config[k]!).media).sort();
  const order = /(?:^|,)order=([^,]+)/.exec(config['boot'] ?? '')?.[1]?.split(';') ?? [];
  return order.find((d) => disks.includes(d)) ?? disks[0];
}

function allocate(used: readonly number[]): number | undefined {
  const taken = new Set(used);
  for (let id: number = TEMPLATE_VMIDS.min; id <= TEMPLATE_VMIDS.max; id++) if (!taken.has(id)) return id;
  return undefined;
}

/**
 * The capture as one `create` of `<persona>/capture/template[<image>@<version>]` with impact
 * `none`: everything happens on a full clone, the persona's VM is only read. Pure.
 */
export function planTemplateCapture(intent: TemplateCaptureIntent, obs: TemplateCaptureObservation, options: { labVersion: string; createdAt?: Date }): Plan {
  const address = templateAddress(intent.persona, intent.image, intent.version);
  const ref = `${intent.image}@${intent.version}`;
  const diags: Diagnostic[] = [];
  const { vm } = obs;
  if (intent.declared) diags.push({ severity: 'error', code: 'LAB_CAPTURE_TEMPLATE_DECLARED', address, summary: `lab.yaml declares ${ref}: L1 builds that version from its URL and would replace a captured template`, hint: 'capture under a version lab.yaml does not list, e.g. --version <persona>-<date>' });
  if (obs.manifestExists) diags.push({ severity: 'error', code: 'LAB_CAPTURE_TEMPLATE_EXISTS', address, summary: `${manifestPath(intent.image, intent.version)} already exists: a published version is immutable`, hint: 'capture under a new --version' });
  if (obs.tagged.length > 0) diags.push({ severity: 'error', code: 'LAB_CAPTURE_TEMPLATE_EXISTS', address, summary: `VMs already carry ${imageTag(intent.image, intent.version)}: ${obs.tagged.map((t) => `${t.name} (${t.vmid})`).join(', ')}`, hint: 'capture under a new --version' });
  if (vm.lock) diags.push({ severity: 'error', code: 'LAB_CAPTURE_VM_LOCKED', address, summary: `VM ${vm.vmid} is locked (${vm.lock})`, hint: `wait for the task holding it; a stale lock is cleared with \`qm unlock ${vm.vmid}\` on ${vm.node}` });
  const ip = intent.address.replace(/\/\d+$/, '');
  if (intent.taken.includes(ip)) diags.push({ severity: 'error', code: 'LAB_CAPTURE_TEMPLATE_ADDRESS', address, summary: `--address ${ip} belongs to a persona; the clone would take it over while it boots`, hint: 'pick an address no machine uses on the persona\'s network' });
  const rootDisk = bootDiskOf(vm.config);
  if (!rootDisk) diags.push({ severity: 'error', code: 'LAB_CAPTURE_TEMPLATE_NO_DISK', address, summary: `VM ${vm.vmid} has no boot disk` });
  const vmid = allocate(obs.usedVmids);
  if (vmid === undefined) diags.push({ severity: 'error', code: 'LAB_CAPTURE_TEMPLATE_VMID', address, summary: `no free VMID in ${TEMPLATE_VMIDS.min}–${TEMPLATE_VMIDS.max} for the template`, hint: 'prune unused image versions: lab image prune' });
  const dataDisks = Object.keys(vm.config).filter((k) => isDriveKey(k) && k !== rootDisk && !driveVolume(vm.config[k]!).media).sort();
  if (dataDisks.length > 0) diags.push({ severity: 'warning', code: 'LAB_CAPTURE_TEMPLATE_DATA_DISKS', address, summary: `the full clone copies the data disks ${dataDisks.join(', ')} too; lab deletes the copies before templating (only ${rootDisk ?? 'the boot disk'} is kept)` });
  if (vm.status === 'running') diags.push({ severity: 'info', code: 'LAB_CAPTURE_TEMPLATE_LIVE', address, summary: `VM ${vm.vmid} keeps running: Proxmox clones its disks live (crash-consistent)` });
  const call: TemplateCall = {
    node: vm.node,
    source: vm.vmid,
    vmid: vmid ?? 0,
    name: templateName(intent.image, intent.version),
    tags: ['lab-template', imageTag(intent.image, intent.version)],
    rootDisk: rootDisk ?? '',
    dataDisks,
    ipconfig0: `ip=${intent.address}${intent.gateway ? `,gw=${intent.gateway}` : ''}`,
    address: ip,
    manifest: manifestPath(intent.image, intent.version),
    sourceDigest: vm.digest,
  };
  const change: Change = {
    address,
    layer: 'capture',
    kind: 'template',
    action: 'create',
    impact: 'none',
    after: call,
    diff: [
      { path: 'template', after: `${call.name} (${call.vmid}) on ${call.node}` },
      { path: 'source', after: `VM ${vm.vmid} (${intent.persona})` },
      { path: 'tags', after: call.tags.join(';') },
    ],
    sensitivePaths: [],
    steps: [
      { kind: 'api', description: `full clone of VM ${vm.vmid} to ${call.vmid} ${call.name} on ${vm.node}` },
      { kind: 'api', description: `boot the clone once at ${intent.address}` },
      { kind: 'shell', description: 'clean it over SSH: cloud-init clean, empty /etc/machine-id, remove SSH host keys; verify' },
      { kind: 'api', description: `shut it down, delete ${dataDisks.length > 0 ? `the copies of ${dataDisks.join(', ')} and ` : ''}its persona settings (${['ipconfig0', ...PERSONA_KEYS].join(', ')})` },
      { kind: 'wait', description: `convert VM ${call.vmid} to a template` },
      { kind: 'other', description: `write ${call.manifest}` },
    ],
    reason: `appliance image ${ref} from persona ${intent.persona}; the persona's VM is only read`,
  };
  return createPlan({
    labVersion: options.labVersion,
    personas: [intent.persona],
    layers: ['capture'],
    ...(options.createdAt ? { createdAt: options.createdAt } : {}),
    basis: { [`capture/template:${intent.persona}`]: `${vm.vmid}:${vm.digest}` },
    changes: [change],
    diagnostics: diags,
  });
}
