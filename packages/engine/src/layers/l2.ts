import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { LabError, Secret, type Plan, type PlanMode } from '@lab/core';
import { assertHostReady, poolName } from '@lab/l0-host';
import { applyVms, desiredVm, observeDesired, planVms, sshSnippetWriter, storagePathOf, type ApplyVmsContext, type SnippetWriter } from '@lab/l2-vm';
import type { PveClient } from '@lab/pve';
import { SshPool, type SshTarget } from '@lab/ssh';
import { expandHome } from './guest-ssh.js';
import { pveClientOf } from './pve-client.js';
import type { LayerAdapter, LayerContext } from './adapter.js';

async function connect(ctx: LayerContext): Promise<{ client: PveClient; embedded: boolean }> {
  const client = await pveClientOf(ctx);
  return { client, embedded: (await ctx.proxmox()).embedded };
}

/** The lab's public key, installed for `ssh.user` by cloud-init. */
export async function labPublicKey(ctx: LayerContext): Promise<string> {
  const file = ctx.lab.site.site.ssh.identityFile.replace(/^~(?=\/)/, homedir());
  const pub = `${resolve(ctx.lab.root, file)}.pub`;
  try {
    return (await readFile(pub, 'utf8')).trim();
  } catch (cause) {
    throw new LabError({ code: 'LAB_L2_NO_SSH_KEY', summary: `cannot read the lab's public key ${pub}`, hint: `create it: ssh-keygen -t ed25519 -f ${file}`, cause });
  }
}

/**
 * Snippets on a real node (adr/0087): over SSH as lab.yaml `ssh.jumpHost` (a Proxmox node, root
 * by default). A node with its own `address` is reached through the jump host. Host keys must
 * already be pinned in the lab's known_hosts; an unknown or changed key is refused by @lab/ssh.
 */
function remoteSnippetWriter(ctx: LayerContext): SnippetWriter {
  const site = ctx.lab.site.site;
  const jh = site.ssh.jumpHost;
  if (!jh) {
    const fail = (name: string, node: string): never => {
      throw new LabError({ code: 'LAB_L2_SNIPPETS_REMOTE', summary: `cannot place the host-key snippet ${name} on ${node}: lab.yaml names no ssh.jumpHost (the Proxmox node lab writes snippets on)`, hint: 'add ssh: { jumpHost: { host: pve1.home.arpa } } to lab.yaml and pin its host key (docs/l2-vm.md)' });
    };
    return { place: async (node, _s, name) => fail(name, node), remove: async (node, _s, name) => fail(name, node) };
  }
  const pool = new SshPool();
  ctx.onClose(() => pool.closeAll());
  const knownHostsFile = resolve(ctx.lab.root, site.ssh.knownHosts);
  const keyFile = expandHome(ctx.lab.root, site.ssh.identityFile);
  return sshSnippetWriter({
    storagePath: (storage) => storagePathOf(site, storage),
    async connect(node) {
      let privateKey: Secret<string>;
      try {
        privateKey = new Secret(await readFile(keyFile, 'utf8'));
      } catch (cause) {
        throw new LabError({ code: 'LAB_SSH_NO_KEY', summary: `cannot read the lab's SSH key ${keyFile}`, hint: `create it: ssh-keygen -t ed25519 -f ${keyFile}`, cause });
      }
      const jump = { host: jh.host, port: jh.port, username: jh.user, privateKey };
      const address = site.nodes.find((n) => n.name === node)?.address;
      const target: SshTarget = address && address !== jh.host ? { host: address, username: jh.user, privateKey, knownHostsFile, jump } : { ...jump, knownHostsFile };
      return pool.get(target);
    },
  });
}

/** Snippets: the embedded simulator takes them through its control endpoint (TLS pinned to its own certificate). */
export function snippetWriter(ctx: LayerContext, url: string, embedded: boolean): SnippetWriter {
  const px = ctx.lab.site.site.proxmox;
  if (!embedded || px.mode !== 'embedded') return remoteSnippetWriter(ctx);
  return {
    async place(node, storage, name, content) {
      const stateDir = resolve(ctx.lab.root, px.stateDir);
      const [token, ca] = await Promise.all([readFile(join(stateDir, 'control-token'), 'utf8'), readFile(join(stateDir, 'tls', 'pve-ssl.pem'), 'utf8')]);
      const body = JSON.stringify({ node, storage, name, content });
      const answer = await new Promise<{ status: number; text: string }>((done, fail) => {
        const req = request(`${url}/_sim/snippets`, { method: 'POST', ca, headers: { Authorization: `Bearer ${token.trim()}`, 'Content-Type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => done({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', fail);
        req.end(body);
      });
      if (answer.status !== 200) throw new LabError({ code: 'LAB_L2_SNIPPET', summary: `the simulator refused snippet ${name}: ${answer.text}` });
      return (JSON.parse(answer.text) as { volid: string }).volid;
    },
  };
}

async function planWith(ctx: LayerContext, client: PveClient, mode: PlanMode): Promise<Plan> {
  const site = ctx.lab.site.site;
  const key = await labPublicKey(ctx);
  const desired = ctx.personas.map((p) => desiredVm(p, site, { sshPublicKeys: [key], poolOf: (stage) => poolName(site, stage) }));
  const obs = await observeDesired(client, desired);
  const reservedVmids = ctx.lab.personas.flatMap((p) => (p.persona.vm.vmid === undefined ? [] : [p.persona.vm.vmid]));
  return planVms(desired, obs, { mode, labVersion: ctx.labVersion, allowReboot: ctx.flags.allowReboot, destroyData: ctx.flags.destroyData, reservedVmids });
}

/** What `applyVms` needs in this session: the client, the lab's known_hosts, the snippet writer. */
export async function l2ApplyContext(ctx: LayerContext): Promise<ApplyVmsContext> {
  const { client, embedded } = await connect(ctx);
  return {
    client,
    reporter: ctx.reporter,
    knownHostsFile: resolve(ctx.lab.root, ctx.lab.site.site.ssh.knownHosts),
    snippets: snippetWriter(ctx, client.origin, embedded),
    parallelism: ctx.lab.site.site.parallelism,
    lock: { breakLock: ctx.flags.breakLock === true },
  };
}

export const l2Adapter: LayerAdapter = {
  layer: 'l2',
  description: 'Persona VMs: full clones of L1 templates, owned keys only, impacts from Proxmox rules, pinned host keys',

  async plan(ctx, mode) {
    const { client } = await connect(ctx);
    // Planning may run before L0 was applied in the same run; apply may not.
    await assertHostReady(client, { site: ctx.lab.site.site, personas: ctx.personas }, { allowPendingSetup: true, reporter: ctx.reporter });
    return planWith(ctx, client, mode);
  },

  async apply(plan, ctx) {
    const applyCtx = await l2ApplyContext(ctx);
    await assertHostReady(applyCtx.client, { site: ctx.lab.site.site, personas: ctx.personas }, { reporter: ctx.reporter });
    await applyVms(plan, applyCtx);
  },
};
