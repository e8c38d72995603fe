import { resolve } from 'node:path';
import type { Persona } from '@lab/intent';
import type { BakePorts } from '@lab/l1-image';
import { snippetStorageOf } from '@lab/l2-vm';
import { applyOs } from '@lab/l3-os';
import type { PveClient } from '@lab/pve';
import type { LayerContext } from './adapter.js';
import { guestConnectionAt } from './guest-ssh.js';
import { labPublicKey, snippetWriter } from './l2.js';

/**
 * The ports L1's bake is handed (adr/0145): SSH to the bake VM through the node's jump host,
 * L3's own converge (apply + re-verify) for the profile, and the node snippets L2 also uses.
 * L1 never imports L3; this wiring is the engine's.
 */
export async function bakePorts(ctx: LayerContext, client: PveClient): Promise<BakePorts | 'records-only'> {
  const site = ctx.lab.site.site;
  if (site.proxmox.mode === 'embedded' && site.proxmox.guests === 'none') return 'records-only';
  const ep = await ctx.proxmox();
  const snippets = snippetWriter(ctx, client.origin, ep.embedded);
  return {
    sshPublicKey: await labPublicKey(ctx),
    sshUser: site.ssh.user,
    knownHostsFile: resolve(ctx.lab.root, site.ssh.knownHosts),
    snippetStorage: snippetStorageOf(site),
    connect: (target) => guestConnectionAt(ctx, target.address),
    placeSnippet: (node, storage, name, content) => snippets.place(node, storage, name, content),
    ...(snippets.remove ? { removeSnippet: (node: string, storage: string, name: string) => snippets.remove!(node, storage, name) } : {}),
    async converge(target, connection) {
      // The profile as a persona L3 knows: its OS section, the bake VM's host name, no stacks.
      const persona = { name: target.hostname, os: { ...target.os, hostname: target.hostname }, workloads: { stacks: [], composeCommand: 'docker-compose' } } as unknown as Persona;
      const result = await applyOs({ persona, root: ctx.lab.root, secrets: { get: (name: string) => ctx.secrets().get(name) }, connection, reporter: ctx.reporter });
      const changed = new Set(result.applied.filter((c) => c.action !== 'noop').map((c) => c.address)).size;
      return { changed, unchanged: Math.max(0, result.plan.changes.length - changed) };
    },
  };
}
