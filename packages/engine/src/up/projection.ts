import { createPlan, parseAddress, type Change, type Diagnostic, type FieldDiff, type Layer, type Plan } from '@lab/core';
import { formatSize, type LoadedPersona, type Site } from '@lab/intent';
import { poolName } from '@lab/l0-host';
import { desiredVm, vmAddress } from '@lab/l2-vm';
import { FactSet, planL3, requiredFacts, resolveOs } from '@lab/l3-os';
import { planWorkloads, renderWorkloads } from '@lab/l4-workload';

/**
 * The combined plan of `lab up` shows what later layers will do before earlier ones ran. What
 * cannot be observed yet (a VM whose template L1 has still to build, the OS and stacks of a
 * guest that does not exist) is planned from intent against an empty world and marked so;
 * `lab up` plans every layer again, against the real world, right before applying it
 * (adr/0115). Projections never carry a basis: they are never applied.
 */
export const PROJECTED_REASON = 'planned from intent (the VM does not exist yet)';

/** The state of a persona's VM as the L2 plan (or its projection) shows it. */
export type VmState = 'absent' | 'stopped' | 'running' | 'unknown';

export function vmStates(l2: Plan | undefined, personas: readonly string[]): Map<string, VmState> {
  const out = new Map<string, VmState>();
  for (const name of personas) {
    const c = l2?.changes.find((x) => x.address === vmAddress(name));
    if (!c) out.set(name, 'unknown');
    else if (c.action === 'create') out.set(name, 'absent');
    else out.set(name, (c.before as { status?: string } | undefined)?.status === 'running' ? 'running' : 'stopped');
  }
  return out;
}

function mark(plan: Plan): Plan {
  const changes = plan.changes.map((c): Change => (c.action === 'noop' ? c : { ...c, reason: PROJECTED_REASON }));
  return { ...plan, basis: {}, changes };
}

export function note(code: string, layer: Layer, persona: string, summary: string, hint?: string): Diagnostic {
  return { severity: 'info', code, summary: `${persona} (${layer}): ${summary}`, ...(hint ? { hint } : {}) };
}

const show = (key: string, v: string): string => (key === 'memory' || key === 'balloon' ? `${v}MiB` : v);

/**
 * L2 plans `LAB_L2_NO_TEMPLATE` for a persona whose image version L1 has not built yet. When
 * the same combined plan builds exactly that version, the VM is a create waiting on L1, not an
 * error: the diagnostic becomes a projected create (node, template and the owned keys from
 * intent). Any other L2 error stays an error and stops `lab up` before anything is applied.
 */
export function projectVmCreates(l1: Plan | undefined, l2: Plan, personas: readonly LoadedPersona[], site: Site, labVersion: string): { plan: Plan; projected: string[] } {
  const building = new Set(
    (l1?.changes ?? []).filter((c) => c.action === 'create' || c.action === 'update').flatMap((c) => {
      const key = parseAddress(c.address).key;
      return key === undefined ? [] : [key];
    }),
  );
  const changes: Change[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const d of l2.diagnostics) {
    const persona = personas.find((p) => d.address === vmAddress(p.name));
    if (d.code !== 'LAB_L2_NO_TEMPLATE' || !persona) {
      diagnostics.push(d);
      continue;
    }
    const want = desiredVm(persona, site, { sshPublicKeys: [], poolOf: (stage) => poolName(site, stage) });
    const image = `${want.image.name}@${want.image.version}`;
    if (!building.has(image)) {
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
    labVersion,
    mode: l2.mode,
    personas: l2.personas,
    layers: l2.layers,
    basis: l2.basis,
    changes: [...l2.changes, ...changes].sort((a, b) => a.address.localeCompare(b.address)),
    diagnostics,
  });
  return { plan, projected: changes.map((c) => c.address.split('/')[0]!) };
}

export interface ProjectionInput {
  readonly persona: LoadedPersona;
  readonly root: string;
  readonly secrets: { get(name: string): Promise<import('@lab/core').Secret<string>> };
  readonly labVersion: string;
  /** lab.yaml `workloads.imageOverrides`. */
  readonly imageOverrides?: Readonly<Record<string, string>>;
}

/** L3 of a guest that does not exist: every fact at its empty value ("absent"), as on a blank guest. */
export async function projectOs(input: ProjectionInput): Promise<Plan> {
  const intent = await resolveOs(input.persona.persona, { root: input.root, secrets: input.secrets });
  const facts = new FactSet().with(requiredFacts(intent).map((f) => [f, f.empty] as const));
  return mark(planL3(intent, facts, { labVersion: input.labVersion, mode: 'normal' }));
}

/** L4 of a guest that does not exist: no Docker, no stack on the host, so every stack is a create. */
export async function projectWorkloads(input: ProjectionInput): Promise<Plan> {
  const { desired, warnings } = await renderWorkloads({ persona: input.persona, root: input.root, secrets: input.secrets, ...(input.imageOverrides ? { imageOverrides: input.imageOverrides } : {}) });
  return mark(planWorkloads(desired, { docker: false, stacks: [], containers: [] }, { labVersion: input.labVersion, warnings }));
}
