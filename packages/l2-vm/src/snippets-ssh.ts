import { LabError } from '@lab/core';
import type { Site } from '@lab/intent';
import { shq, type SshConnection } from '@lab/ssh';
import type { SnippetWriter } from './hostkey.js';

/** PVE's own default: the `local` dir storage lives at /var/lib/vz on every node. */
const LOCAL_PATH = '/var/lib/vz';

/**
 * The directory of a dir storage on the node, from lab.yaml `storages[].path` (`local` defaults
 * to /var/lib/vz as in PVE). Snippets live in `<path>/snippets/` (PVE's `get_subdir`).
 */
export function storagePathOf(site: Site, storage: string): string {
  const st = site.storages.find((s) => s.name === storage);
  if (st?.path) return st.path;
  if (storage === 'local') return LOCAL_PATH;
  throw new LabError({
    code: 'LAB_L2_SNIPPETS_STORAGE',
    summary: `cannot write snippets to storage ${storage}: lab.yaml gives it no directory path`,
    hint: `give storages[${storage}] type: dir and path: /var/lib/vz (or list snippets on a dir storage)`,
  });
}

export interface SshSnippetOptions {
  /** An SSH connection to the node as root (or a sudoer), host key checked against known_hosts. */
  readonly connect: (node: string) => Promise<SshConnection>;
  /** Directory of a dir storage on the node (see storagePathOf). */
  readonly storagePath: (storage: string) => string;
}

export function snippetFile(storagePath: string, name: string): string {
  return `${storagePath.replace(/\/+$/, '')}/snippets/${name}`;
}

/**
 * Snippets on a real Proxmox node: PVE has no API to upload them (pve-api.md §7.23), so L2 writes
 * the file over SSH, atomically and 0600 root-only (it carries the guest's private host key),
 * and removes it on destroy (adr/0087).
 */
export function sshSnippetWriter(options: SshSnippetOptions): SnippetWriter {
  return {
    async place(node, storage, name, content) {
      const conn = await options.connect(node);
      await conn.upload(snippetFile(options.storagePath(storage), name), content, { mode: '0600', owner: 'root', group: 'root', mkdirs: true });
      return `${storage}:snippets/${name}`;
    },
    async remove(node, storage, name) {
      const conn = await options.connect(node);
      const r = await conn.script(`rm -f ${shq(snippetFile(options.storagePath(storage), name))}`, { sudo: true });
      if (r.code !== 0) throw new LabError({ code: 'LAB_L2_SNIPPET', summary: `cannot remove snippet ${name} on ${node}: ${r.stderr.trim()}` });
    },
  };
}
