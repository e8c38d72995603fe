import { LabError, type Change } from '@lab/core';
import { parseProps, parsePveSize } from './_props.js';
import { sameValue } from './compare.js';
import type { Observation } from './observe.js';
import type { VmAfter } from './plan.js';

/** One thing the cluster does not show after apply. */
export interface Unconverged {
  readonly persona: string;
  readonly vmid: number | undefined;
  readonly key: string;
  readonly want: string;
  readonly have: string | undefined;
}

/**
 * Re-verify after apply (adr/0161): read the cluster again and compare with what each applied
 * change set out to do — every owned key, every declared disk (present, big enough, the data
 * volume attached), removed disks gone, the VM running when it was to be started, gone when it
 * was destroyed. Pure over a fresh observation.
 */
export function unconverged(changes: readonly Change[], obs: Observation): Unconverged[] {
  const out: Unconverged[] = [];
  for (const c of changes) {
    const persona = c.address.split('/')[0]!;
    const a = c.after as VmAfter;
    const o = obs.managed.get(persona);
    if (c.action === 'delete') {
      if (o) out.push({ persona, vmid: o.vmid, key: 'vm', want: 'destroyed', have: `VM ${o.vmid} on ${o.node}` });
      for (const v of a.freeVolumes ?? []) if (obs.dataVolumes.some((x) => x.volid === v.volid && x.node === v.node)) out.push({ persona, vmid: undefined, key: v.volid, want: 'deleted', have: 'present' });
      continue;
    }
    if (!o) {
      out.push({ persona, vmid: a.vmid, key: 'vm', want: 'exists', have: undefined });
      continue;
    }
    for (const [key, want] of Object.entries(a.config)) {
      if (!sameValue(key, want, o.config[key])) out.push({ persona, vmid: o.vmid, key, want, have: o.config[key] });
    }
    for (const disk of a.disks) {
      const have = o.config[disk.slot];
      if (have === undefined) {
        out.push({ persona, vmid: o.vmid, key: disk.slot, want: `disk ${disk.name}`, have: undefined });
        continue;
      }
      const size = parsePveSize(parseProps(have).get('size'));
      if (size !== undefined && size < disk.size) out.push({ persona, vmid: o.vmid, key: `${disk.slot}.size`, want: String(disk.size), have: String(size) });
      const planned = a.attach?.[disk.slot];
      if (planned && have.split(',')[0] !== planned) out.push({ persona, vmid: o.vmid, key: disk.slot, want: planned, have: have.split(',')[0] });
    }
    for (const r of a.remove ?? []) {
      if ((o.config[r.slot] ?? '').split(',')[0] === r.volid) out.push({ persona, vmid: o.vmid, key: r.slot, want: 'detached', have: r.volid });
    }
    const started = c.action === 'create' || a.start || a.reboot;
    if (started && o.status !== 'running') out.push({ persona, vmid: o.vmid, key: 'status', want: 'running', have: o.status });
  }
  return out;
}

export function notConvergedError(list: readonly Unconverged[]): LabError {
  const first = list[0]!;
  const vm = (u: Unconverged): string => `${u.persona}${u.vmid === undefined ? '' : ` (VM ${u.vmid})`}`;
  return new LabError({
    code: 'LAB_L2_NOT_CONVERGED',
    summary: `after apply the cluster does not show what was applied: ${vm(first)} ${first.key} is ${first.have ?? 'absent'}, expected ${first.want}${list.length > 1 ? ` (and ${list.length - 1} more)` : ''}`,
    detail: list.map((u) => `${vm(u)}: ${u.key}: expected ${u.want}, cluster shows ${u.have ?? 'nothing'}`).join('\n'),
    hint: `something changed the VM while lab applied, or Proxmox ignored a value; see what differs: lab plan --layer l2 --persona ${first.persona}`,
  });
}
