import { LabError, LAYERS, type Layer } from '@lab/core';
import type { Lab, LoadedPersona } from '@lab/intent';
import { availableLayers } from './registry.js';

/** `--layer l0,l2` → the layers in run order; default: every layer lab has. */
export function selectLayers(flag: string | undefined): Layer[] {
  const available = availableLayers();
  if (!flag) return available;
  const wanted = flag.split(',').map((s) => s.trim().toLowerCase());
  for (const w of wanted) {
    if (!(LAYERS as readonly string[]).includes(w)) {
      throw new LabError({ code: 'LAB_CLI_USAGE', summary: `unknown layer '${w}'`, hint: `layers: ${LAYERS.join(', ')}` });
    }
    if (!available.includes(w as Layer)) {
      throw new LabError({
        code: 'LAB_LAYER_UNAVAILABLE',
        summary: `layer ${w} is not part of this version of lab yet`,
        hint: `available layers: ${available.join(', ') || '(none)'}`,
      });
    }
  }
  return available.filter((l) => wanted.includes(l));
}

/** `--persona a,b` or `--all`; site-only layers (L0, L1) run without either. */
export function selectPersonas(lab: Lab, persona: string | undefined, all: boolean, required: boolean): LoadedPersona[] {
  if (persona && all) throw new LabError({ code: 'LAB_CLI_USAGE', summary: '--persona and --all exclude each other', hint: 'pass one of them' });
  if (all) return [...lab.personas];
  if (!persona) {
    if (!required) return [...lab.personas];
    throw new LabError({
      code: 'LAB_CLI_USAGE',
      summary: 'which persona? pass --persona <name> or --all',
      hint: `personas: ${lab.personas.map((p) => p.name).join(', ')}`,
    });
  }
  const names = persona.split(',').map((s) => s.trim());
  const byName = new Map(lab.personas.map((p) => [p.name, p]));
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length > 0) {
    throw new LabError({
      code: 'LAB_PERSONA_NOT_FOUND',
      summary: `no persona named ${missing.map((n) => `"${n}"`).join(', ')}`,
      hint: `personas: ${[...byName.keys()].join(', ')} (see \`lab personas\`)`,
    });
  }
  return names.map((n) => byName.get(n)!);
}
