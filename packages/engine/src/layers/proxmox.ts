import { existsSync, readFileSync } from 'node:fs';
import { expandHome } from './guest-ssh.js';
import { request } from 'node:https';
import { resolve } from 'node:path';
import { LabError, Secret } from '@lab/core';
import type { LayerContext, ProxmoxEndpoint } from './adapter.js';
import { startEmbedded, type EmbeddedSim } from '../sim/embedded.js';
import { standInsFor } from '../sim/stand-ins.js';

/**
 * The simulator's state may have been reset since L0 stored the token (a fresh clone, a removed
 * .lab/); asking with the admin token avoids a confusing 401 on every later call.
 */
async function tokenExists(sim: EmbeddedSim, tokenId: string): Promise<boolean> {
  const [user, token] = tokenId.split('!') as [string, string];
  return new Promise((done) => {
    const req = request(
      `${sim.url}/api2/json/access/users/${encodeURIComponent(user)}/token/${encodeURIComponent(token)}`,
      { ...(sim.certificatePem ? { ca: sim.certificatePem } : {}), headers: { Authorization: `PVEAPIToken=${sim.adminToken.id}=${sim.adminToken.secret}` } },
      (res) => {
        res.resume();
        done(res.statusCode === 200);
      },
    );
    req.on('error', () => done(false));
    req.end();
  });
}

/** The public half of the lab's SSH identity, allowed through the embedded jump host. */
function operatorPublicKeys(root: string, identityFile: string): string[] {
  try {
    return readFileSync(`${expandHome(root, identityFile)}.pub`, 'utf8').split('\n').filter((l) => l.trim() !== '');
  } catch {
    return [];
  }
}

/** One embedded simulator per session (keyed by the session's onClose, shared by scoped copies). */
const sims = new WeakMap<object, Promise<EmbeddedSim>>();

/**
 * The session's embedded simulator: attached to the one `lab sim start` serves, else started
 * in-process, once per session. Commands that only reach guests (L3, L4) stop here: they need
 * the jump host, not the Proxmox token (no API round trip, no secret decrypted; adr/0186).
 */
export function embeddedSimOf(ctx: Pick<LayerContext, 'lab' | 'reporter' | 'onClose'>): Promise<EmbeddedSim> {
  let sim = sims.get(ctx.onClose);
  if (!sim) {
    const site = ctx.lab.site.site;
    const px = site.proxmox;
    if (px.mode !== 'embedded') throw new LabError({ code: 'LAB_SIM_NOT_EMBEDDED', summary: 'lab.yaml does not use the embedded simulator', hint: 'set proxmox.mode: embedded in lab.yaml' });
    sim = startEmbedded({
      stateDir: resolve(ctx.lab.root, px.stateDir),
      nodes: site.nodes.map((n) => ({ name: n.name, cpus: n.cores, memory: n.memory })),
      guests: px.guests,
      ...(px.version === undefined ? {} : { pve: px.version }),
      reporter: ctx.reporter,
      standInImages: standInsFor(site),
      authorizedKeys: operatorPublicKeys(ctx.lab.root, site.ssh.identityFile),
      expectedGuests: ctx.lab.personas.length,
    }).then((started) => {
      ctx.onClose(() => started.close());
      return started;
    });
    sims.set(ctx.onClose, sim);
  }
  return sim;
}

/** The embedded simulator's jump host, as guest connections use it (root, pinned host key). */
export async function embeddedJumpHost(ctx: Pick<LayerContext, 'lab' | 'reporter' | 'onClose'>): Promise<NonNullable<ProxmoxEndpoint['jumpHost']>> {
  const sim = await embeddedSimOf(ctx);
  return { host: sim.jumpHost.host, port: sim.jumpHost.port, username: 'root', hostPublicKey: sim.jumpHost.hostPublicKey };
}

/** The least-privilege token `lab apply --layer l0` creates; its secret lives in the store. */
export const LAB_TOKEN_ID = 'lab@pve!lab';
export const LAB_TOKEN_SECRET = 'site/pve-token';

/**
 * Resolve the Proxmox endpoint of lab.yaml. `remote`: URL, pinned fingerprint, token id, and
 * the token secret decrypted from the store. `embedded`: the bundled simulator, started
 * in-process on the lab's state dir (or reused when `lab sim start` already serves it); the
 * lab's own token once L0 created it, the simulator's admin token before that.
 */
export async function resolveProxmox(ctx: LayerContext): Promise<ProxmoxEndpoint> {
  const site = ctx.lab.site.site;
  const px = site.proxmox;
  const tuning = { connections: px.connections, taskWait: { silenceMs: px.taskSilenceTimeout * 1000 } };
  if (px.mode === 'remote') {
    return {
      url: px.url,
      fingerprint: px.fingerprint,
      tokenId: px.tokenId,
      tokenSecret: await ctx.secrets().get(px.tokenSecret.secret),
      embedded: false,
      tuning,
    };
  }
  const sim = await embeddedSimOf(ctx);
  const store = ctx.secrets();
  let tokenId = sim.adminToken.id;
  let tokenSecret = new Secret(sim.adminToken.secret);
  if (existsSync(store.fileOf(LAB_TOKEN_SECRET)) && (await tokenExists(sim, LAB_TOKEN_ID))) {
    try {
      tokenSecret = await store.get(LAB_TOKEN_SECRET);
      tokenId = LAB_TOKEN_ID;
    } catch (error) {
      throw new LabError({
        code: 'LAB_PVE_TOKEN',
        summary: `cannot read the lab's Proxmox token (${LAB_TOKEN_SECRET})`,
        hint: 'check LAB_AGE_KEY_FILE points at an identity the secrets are encrypted to',
        cause: error,
      });
    }
  }
  return {
    url: sim.url,
    fingerprint: sim.fingerprint,
    tokenId,
    tokenSecret,
    embedded: true,
    tuning,
    jumpHost: { host: sim.jumpHost.host, port: sim.jumpHost.port, username: 'root', hostPublicKey: sim.jumpHost.hostPublicKey },
    admin: { tokenId: sim.adminToken.id, tokenSecret: new Secret(sim.adminToken.secret) } };
}
