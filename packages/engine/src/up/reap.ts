import { address, createPlan, mergePlans, type Change, type Diagnostic, type Plan } from '@lab/core';
import type { LoadedPersona } from '@lab/intent';
import type { LayerAdapter } from '../layers/adapter.js';
import type { LayerSession } from '../layers/context.js';
import type { Prepared } from '../layers/run.js';
import { LAB_VERSION } from '../version.js';
import { planDown, runningVm, type DownPlan } from './down.js';
import type { GuestReach } from './guests.js';
import { layerTitle } from './plan.js';

/** How a reap captures a persona before its VM goes (the capture commands' session functions). */
export interface ReapCapturePorts {
  captureData(session: LayerSession, persona: LoadedPersona): Promise<{ readonly snapshot: string }>;
  captureVm(session: LayerSession, persona: LoadedPersona): Promise<{ readonly archive: string }>;
}

const lazyPorts: ReapCapturePorts = {
  captureData: async (session, persona) => (await import('../capture/data.js')).captureDataFor(session, persona),
  captureVm: async (session, persona) => (await import('../capture/vm.js')).captureVmInSession(session, persona),
};

type CaptureKind = 'data' | 'vm';

/** What a persona's `capture:` asks to keep: its data paths (restic), its whole VM (vzdump). */
export function capturesAsked(p: LoadedPersona): CaptureKind[] {
  const c = p.persona.capture;
  if (!c) return [];
  return [...(c.enabled && c.paths.length > 0 ? ['data' as const] : []), ...(c.vm?.enabled ? ['vm' as const] : [])];
}

function captureChange(p: LoadedPersona, kind: CaptureKind): Change {
  const c = p.persona.capture!;
  return {
    address: address(p.name, 'capture', `${kind}.backup`),
    layer: 'capture',
    kind: `capture.${kind}`,
    action: 'create',
    impact: 'none',
    after: kind === 'data' ? { repository: c.repository, paths: c.paths } : { storage: c.vm!.storage },
    diff: [],
    sensitivePaths: [],
    steps: [{ kind: kind === 'data' ? 'shell' : 'api', description: kind === 'data' ? `restic backup of ${c.paths.join(', ')} to ${c.repository}` : `vzdump of the VM to ${c.vm!.storage}` }],
    reason: 'the persona asks for it (capture:), taken before its VM is destroyed',
  };
}

/**
 * The captures of a reap, between stacks down and VMs destroyed: only for personas whose VM is
 * there to destroy. A data backup needs the guest running and reachable; when it is not, the
 * plan has an error rather than a reap that silently loses what the persona asked to keep.
 */
export function planReapCaptures(personas: readonly LoadedPersona[], l2: Plan, reach: GuestReach): Plan {
  const changes: Change[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const p of personas) {
    if (!l2.changes.some((c) => c.address === `${p.name}/l2/vm` && c.action === 'delete')) continue;
    for (const kind of capturesAsked(p)) {
      if (kind === 'data' && !(reach.ok && runningVm(l2, p.name))) {
        diagnostics.push({
          severity: 'error',
          code: 'LAB_REAP_CAPTURE_UNREACHABLE',
          summary: `${p.name} asks for a data capture before it goes, but its guest cannot be reached (${reach.ok ? 'the VM is not running' : (reach.reason ?? 'no guests to reach')})`,
          address: address(p.name, 'capture', 'data.backup'),
          hint: `start it (\`lab apply --layer l2 --persona ${p.name} -y\`) and reap again, or take it down without a capture: \`lab down --persona ${p.name}\``,
        });
        continue;
      }
      changes.push(captureChange(p, kind));
    }
  }
  return createPlan({ labVersion: LAB_VERSION, personas: personas.map((p) => p.name), layers: ['capture'], mode: 'normal', changes, diagnostics });
}

/**
 * `lab reap` is a teardown (adr/0180): the stacks of each expired persona come down (L4), then
 * what the persona's `capture:` asks for is taken, then L2 destroys the VM, data disks kept
 * unless --destroy-data. Nothing is converged on the way: no L3, no pending L4 update, no L0/L1.
 */
export async function planReap(p: Prepared, l2Adapter: LayerAdapter, reach: GuestReach, ports: ReapCapturePorts = lazyPorts): Promise<DownPlan> {
  const down = await planDown(p, l2Adapter, reach);
  const l2 = down.preview.layers.find((l) => l.layer === 'l2')!.plan;
  const capture = planReapCaptures(p.session.personas, l2, reach);
  if (capture.changes.length === 0 && capture.diagnostics.length === 0) return down;
  const byName = new Map(p.session.personas.map((x) => [x.name, x]));
  const step = {
    layer: 'capture' as const,
    description: layerTitle('capture'),
    plan: async () => capture,
    apply: async (plan: Plan) => {
      for (const c of plan.changes) {
        const persona = byName.get(c.address.split('/')[0]!)!;
        if (c.kind === 'capture.data') {
          const r = await ports.captureData(p.session, persona);
          p.session.reporter.emit({ type: 'log', level: 'info', message: `${persona.name}: data captured in restic snapshot ${r.snapshot}`, group: persona.name });
        } else {
          const r = await ports.captureVm(p.session, persona);
          p.session.reporter.emit({ type: 'log', level: 'info', message: `${persona.name}: VM captured as ${r.archive}`, group: persona.name });
        }
      }
    },
  };
  const at = down.steps.findIndex((s) => s.layer === 'l2');
  const steps = [...down.steps.slice(0, at), step, ...down.steps.slice(at)];
  const layerAt = down.preview.layers.findIndex((l) => l.layer === 'l2');
  const layers = [...down.preview.layers.slice(0, layerAt), { layer: 'capture' as const, description: layerTitle('capture'), plan: capture, projected: [] }, ...down.preview.layers.slice(layerAt)];
  const merged = mergePlans(LAB_VERSION, layers.map((l) => l.plan), 'destroy');
  const notes = down.preview.plan.diagnostics.filter((d) => !layers.some((l) => l.plan.diagnostics.includes(d)));
  return { preview: { plan: { ...merged, diagnostics: [...merged.diagnostics, ...notes] }, layers, skipped: down.preview.skipped }, steps };
}
