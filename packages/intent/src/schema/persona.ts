import { z } from 'zod';
import { build, type Build, type Mode } from './_build.js';
import { dnsLabel, duration, msg, obj, oneOf, relPath, text } from './_leaf.js';
import { captureSchema, workloadsSchema } from './persona-workloads.js';
import { osSchema } from './persona-os.js';
import { checkVm, vmSchema } from './persona-vm.js';

function lifecycle() {
  return obj({
    stage: oneOf(['stable', 'experimental'])
      .default('stable')
      .describe('`stable`: reproducible, pinned images only. `experimental`: may float, may expire.'),
    ttl: duration().optional().describe('Experimental personas only: `lab` reports the persona as expired this long after its VM was created.'),
  });
}

function include() {
  return z
    .array(relPath('_mixins/base.yaml'))
    .describe('Mixin files to compose first, in order, relative to the `personas/` folder. Mixins may include mixins.');
}

function sections(b: Build) {
  return {
    vm: b.req(vmSchema(b)).describe('The virtual machine (layer L2).'),
    os: osSchema(b).prefault({}).describe('Operating system configuration over SSH (layer L3).'),
    workloads: workloadsSchema(b)
      .prefault({})
      .describe('Docker Compose workloads (layer L4).'),
    capture: captureSchema(b).optional().describe('Backups of the persona data (restic) and of the VM.'),
  };
}

function personaShape(b: Build) {
  return {
    name: dnsLabel('media').describe('Persona name; must equal its folder name. Also the default host name.'),
    description: text().default('').describe('What this machine is for, shown by `lab personas` and in the generated docs.'),
    lifecycle: lifecycle().prefault({}).describe('How long-lived this persona is.'),
    ...sections(b),
  };
}

function finalPersona() {
  const b = build('final');
  return obj(personaShape(b))
    .superRefine((p, ctx) => {
      if (p.lifecycle.ttl !== undefined && p.lifecycle.stage !== 'experimental') {
        ctx.addIssue({
          code: 'custom',
          path: ['lifecycle', 'ttl'],
          message: msg('ttl is only allowed on experimental personas', 'remove ttl, or set lifecycle.stage: experimental'),
        });
      }
      checkVm(p.vm, ctx, ['vm']);
      const stacks = new Set(p.workloads.stacks.map((s) => s.name));
      p.workloads.stacks.forEach((s, i) => {
        s.dependsOn.forEach((d, j) => {
          if (d === s.name) ctx.addIssue({ code: 'custom', path: ['workloads', 'stacks', i, 'dependsOn', j], message: 'a stack cannot depend on itself' });
          else if (!stacks.has(d)) ctx.addIssue({ code: 'custom', path: ['workloads', 'stacks', i, 'dependsOn', j], message: msg(`no stack named "${d}" in this persona`, `stacks: ${[...stacks].join(', ') || '(none)'}`) });
        });
      });
      if (p.capture !== undefined) {
        const c = p.capture;
        c.consistency.stacks.forEach((s, j) => {
          if (!stacks.has(s)) ctx.addIssue({ code: 'custom', path: ['capture', 'consistency', 'stacks', j], message: msg(`no stack named "${s}" in this persona`, `stacks: ${[...stacks].join(', ') || '(none)'}`) });
        });
        if (c.consistency.strategy === 'hook' && c.consistency.pre === undefined) {
          ctx.addIssue({ code: 'custom', path: ['capture', 'consistency'], message: msg('strategy hook needs a pre command', 'add pre: <command run before the snapshot>') });
        }
        if (c.consistency.strategy !== 'hook' && (c.consistency.pre !== undefined || c.consistency.post !== undefined)) {
          ctx.addIssue({ code: 'custom', path: ['capture', 'consistency', 'strategy'], message: msg('pre/post commands are set but strategy is not hook', 'set strategy: hook') });
        }
        if (c.enabled && c.paths.length === 0) ctx.addIssue({ code: 'custom', path: ['capture', 'paths'], message: msg('capture is enabled but lists no paths', 'add the data paths, or set enabled: false') });
        const r = c.retention;
        if (r.keepLast + r.daily + r.weekly + r.monthly + r.yearly === 0) {
          ctx.addIssue({ code: 'custom', path: ['capture', 'retention'], message: msg('the retention keeps no snapshot', 'set at least one of keepLast, daily, weekly, monthly, yearly') });
        }
      }
    })
    .transform((p) => ({ ...p, os: { ...p.os, hostname: p.os.hostname ?? p.name } }));
}

/** One YAML file for editors: required fields may come from mixins; `include` and `$remove` allowed. */
function filePersona(mode: Exclude<Mode, 'final'>) {
  const b = build(mode);
  const inc = { include: include().optional() };
  if (mode === 'mixin') {
    return obj({ description: text().optional().describe('What this mixin provides (not merged into personas).'), ...inc, ...sections(b) }).meta({
      title: 'lab mixin',
      description: 'A reusable fragment of a persona, included with `include:`.',
    });
  }
  const { name, description, lifecycle: life, ...rest } = personaShape(b);
  return obj({ name, description, lifecycle: life, ...inc, ...rest }).meta({
    title: 'lab persona',
    description: 'One machine of the lab: VM, operating system, workloads and capture.',
  });
}

let cached: ReturnType<typeof finalPersona> | undefined;

/** The schema a composed persona is parsed with (built on first use, not at import). */
export function personaSchema(): ReturnType<typeof finalPersona> {
  cached ??= finalPersona();
  return cached;
}

export function personaFileSchema(mode: Exclude<Mode, 'final'>): z.ZodType {
  return filePersona(mode);
}

/** Top-level keys of a mixin file, for the composer's early check. */
export const MIXIN_KEYS = ['description', 'include', 'vm', 'os', 'workloads', 'capture'] as const;

export type PersonaSchema = ReturnType<typeof finalPersona>;
