import { createPveClient, type PveClient } from '@lab/pve';
import type { LayerContext } from './adapter.js';

/**
 * The one way a Proxmox client is made from lab.yaml: on the session's endpoint (the embedded
 * simulator or the cluster lab.yaml names, with its pinned certificate) and the lab's token,
 * reporting through the session, closed when the session closes, with lab.yaml's pool width and
 * task silence limit (`proxmox.connections`, `proxmox.taskSilenceTimeout`). (L0 alone chooses between the
 * administrator's and the lab's credentials and builds its own.)
 */
export async function pveClientOf(ctx: Pick<LayerContext, 'proxmox' | 'reporter' | 'onClose'>): Promise<PveClient> {
  const ep = await ctx.proxmox();
  const client = createPveClient({ ...ep.tuning, url: ep.url, ...(ep.fingerprint ? { fingerprint: ep.fingerprint } : {}), auth: { kind: 'token', tokenId: ep.tokenId, secret: ep.tokenSecret }, reporter: ctx.reporter });
  ctx.onClose(() => client.close());
  return client;
}
