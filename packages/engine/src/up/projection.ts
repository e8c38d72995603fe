import { parseAddress, type Change, type Diagnostic, type Layer, type Plan } from '@lab/core';
import type { LoadedPersona, Site } from '@lab/intent';
import { poolName } from '@lab/l0-host';
import { projectVms, vmAddress } from '@lab/l2-vm';
import { projectOs as projectOsOf } from '@lab/l3-os';
import { projectWorkloads as projectWorkloadsOf } from '@lab/l4-workload';

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

/** Which persona and layer a note of `note()` is about (its summary starts `<persona> (<layer>):`). */
export function noteScope(d: Diagnostic): { readonly persona: string; readonly layer: string } | undefined {
  const m = /^(\S+) \((l\d)\): /.exec(d.summary);
  return m ? { persona: m[1]!, layer: m[2]! } : undefined;
}

export function note(code: string, layer: Layer, persona: string, summary: string, hint?: string): Diagnostic {
  return { severity: 'info', code, summary: `${persona} (${layer}): ${summary}`, ...(hint ? { hint } : {}) };
}

/**
 * L2's projection for the combined plan: the image versions this run's L1 plan builds are handed
 * to `projectVms` of @lab/l2-vm, which turns a VM waiting on one of them into a projected create.
 */
export function projectVmCreates(l1: Plan | undefined, l2: Plan, personas: readonly LoadedPersona[], site: Site, labVersion: string): { plan: Plan; projected: string[] } {
  const building = new Set(
    (l1?.changes ?? []).filter((c) => c.action === 'create' || c.action === 'update').flatMap((c) => {
      const key = parseAddress(c.address).key;
      return key === undefined ? [] : [key];
    }),
  );
  return projectVms(l2, personas, site, { labVersion, building, poolOf: (stage) => poolName(site, stage) });
}

export interface ProjectionInput {
  readonly persona: LoadedPersona;
  readonly root: string;
  readonly secrets: { get(name: string): Promise<import('@lab/core').Secret<string>> };
  readonly labVersion: string;
  /** lab.yaml `workloads.imageOverrides`. */
  readonly imageOverrides?: Readonly<Record<string, string>>;
  /** lab.yaml `workloads.imageDelivery` and `allowStandIns` (adr/0150, adr/0151). */
  readonly imageDelivery?: 'registry' | 'push';
  readonly allowStandIns?: boolean;
}

/** L3 of a guest that does not exist: @lab/l3-os's projection, marked as planned from intent. */
export async function projectOs(input: ProjectionInput): Promise<Plan> {
  return mark(await projectOsOf({ persona: input.persona.persona, root: input.root, secrets: input.secrets, labVersion: input.labVersion }));
}

/** L4 of a guest that does not exist: @lab/l4-workload's projection, marked as planned from intent. */
export async function projectWorkloads(input: ProjectionInput): Promise<Plan> {
  return mark(
    await projectWorkloadsOf({
      persona: input.persona,
      root: input.root,
      secrets: input.secrets,
      labVersion: input.labVersion,
      ...(input.imageOverrides ? { imageOverrides: input.imageOverrides } : {}),
      ...(input.imageDelivery ? { imageDelivery: input.imageDelivery } : {}),
      ...(input.allowStandIns !== undefined ? { allowStandIns: input.allowStandIns } : {}),
    }),
  );
}
