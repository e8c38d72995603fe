import { createPlan, type Change, type Diagnostic, type FieldDiff, type Plan } from '@lab/core';
import { formatSize, type LoadedPersona, type Site } from '@lab/intent';
import { desiredVm, type DesiredOptions } from './desired.js';
import { vmAddress } from './identity.js';

/** What L2 needs to project a plan that an earlier layer of the same run makes possible. */
export interface ProjectVmsOptions {
  readonly labVersion: string;
  /** Image versions (`debian-12@2026.11.0`) that the same run builds before L2 applies. */
  readonly building: ReadonlySet<string>;
  /** The Proxmox pool of a lifecycle stage (L0 names the pools; the caller passes its rule). */
  readonly poolOf: DesiredOptions['poolOf'];
}

const show = (key: string, v: string): string => (key === 'memory' || key === 'balloon' ? `${v}MiB` : v);

/**
 * L2's part of `lab up`'s combined plan (adr/0115). L2 plans `LAB_L2_NO_TEMPLATE` for a persona
 * whose image version L1 has not built yet. When the same run builds exactly that version, the
 * VM is a create waiting on L1, not an error: the diagnostic becomes a projected create (node,
 * template and the owned keys from intent). Any other L2 error stays an error. Resolves to the
 * plan and the personas whose VM was projected.
 */
export function projectVms(l2: Plan, personas: readonly LoadedPersona[], site: Site, options: ProjectVmsOptions): { plan: Plan; projected: string[] } {
  const changes: Change[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const d of l2.diagnostics) {
    const persona = personas.find((p) => d.address === vmAddress(p.name));
    if (d.code !== 'LAB_L2_NO_TEMPLATE' || !persona) {
      diagnostics.push(d);
      continue;
    }
    const want = desiredVm(persona, site, { sshPublicKeys: [], poolOf: options.poolOf });
    const image = `${want.image.name}@${want.image.version}`;
    if (!options.building.has(image)) {
      diagnostics.push(d);
      continue;
    }
    const diff: FieldDiff[] = [
      { path: 'node', after: want.node === 'auto' ? 'auto (picked when L2 is planned)' : want.node },
      { path: 'template', after: `${image} (built by L1 in this run)` },
      ...Object.entries(want.config)
        .filter(([k]) => k !== 'sshkeys')
        .map(([k, v]) => ({ path: k, after: show(k, v) })),
      ...want.disks.map((x) => ({ path: `disk.${x.name}`, after: `${formatSize(x.size)} on ${x.storage}${x.persistent ? ' (persistent)' : ''}` })),
    ];
    changes.push({
      address: vmAddress(persona.name),
      layer: 'l2',
      kind: 'vm',
      action: 'create',
      impact: 'none',
      diff,
      sensitivePaths: [],
      steps: [{ kind: 'api', description: 'full clone of the template L1 builds first, configure, cloud-init with a pinned host key, start, wait for the guest agent' }],
      reason: `planned from intent: the template ${image} does not exist until L1 has built it`,
    });
  }
  const plan = createPlan({
    labVersion: options.labVersion,
    mode: l2.mode,
    personas: l2.personas,
    layers: l2.layers,
    basis: l2.basis,
    changes: [...l2.changes, ...changes].sort((a, b) => a.address.localeCompare(b.address)),
    diagnostics,
  });
  return { plan, projected: changes.map((c) => c.address.split('/')[0]!) };
}
