import { z } from 'zod';
import { build } from './_build.js';
import { cidr4, int, ipv4, name, obj, relPath } from './_leaf.js';
import { osSchema } from './persona-os.js';

/** `debian-12`, `debian-12@stable`, `debian-12@20250210-2019`. */
export const IMAGE_REF = /^[a-z0-9][a-z0-9.-]*(?:@[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

/**
 * A bake profile (adr/0145): the L3 OS spec L1 converges on a clone of the base image before
 * templating it. Written like a persona's `os:` (mixins included with `include:`), so the
 * operations that run in the bake are exactly the ones personas run.
 */
export function bakeSchema() {
  // The profile's own `os:` is a fragment like a mixin's; the composed result is checked in full at load.
  const b = build('mixin');
  return obj({
    include: z
      .array(relPath('_mixins/docker.yaml'))
      .default([])
      .describe('Mixin files whose `os:` sections are baked, relative to `personas/` (their `vm:` and `workloads:` are ignored).'),
    os: osSchema(b).optional().describe('OS settings on top of the mixins, as in a persona.'),
    network: obj({
      bridge: name('vmbr0').describe('Bridge the bake VM boots on.'),
      vlan: int(1, 4094, 'a VLAN id (1-4094)').optional().describe('VLAN of that bridge.'),
      address: cidr4('10.0.10.250/24').optional().describe('Scratch address of the bake VM; default: near the top of the network, reachable through the jump host.'),
      gateway: ipv4('10.0.10.1').optional().describe('Gateway of the bake VM; default: the network\'s.'),
    })
      .optional()
      .describe('Where the bake VM boots once; default: the first VLAN (or bridge) with a network in lab.yaml.'),
  });
}
