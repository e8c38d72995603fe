import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';
import { isLabError, type LabError } from '@lab/core';

/** A minimal valid lab.yaml for fixture labs. */
export const SITE = `name: test
proxmox: { mode: embedded, nodes: 1 }
nodes:
  - { name: pve1, cores: 4, memory: 16GiB }
storages:
  - { name: local, type: dir, path: /var/lib/vz, content: [iso, import, backup, snippets] }
  - { name: local-lvm, type: lvmthin, content: [images, rootdir] }
bridges:
  - name: vmbr0
    vlanAware: true
    vlans:
      - { id: 10, cidr: 10.0.10.0/24, gateway: 10.0.10.1 }
secrets:
  recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]
images:
  - name: debian-12
    os: debian
    stable: "1"
    versions:
      - version: "1"
        url: https://cloud.debian.org/images/cloud/bookworm/1/debian-12-genericcloud-amd64-1.qcow2
        checksum: { algorithm: sha256, value: ${'a'.repeat(64)} }
    storage: local
repositories:
  - { name: local, type: local, path: .lab/restic, password: { secret: site/restic } }
`;

/** The smallest valid persona body (after `name:`). */
export const VM = `vm:
  image: debian-12@stable
  memory: 1GiB
  disks:
    - { name: root, size: 8G, storage: local-lvm }
  nics:
    - { bridge: vmbr0 }
`;

export function persona(name: string, body = VM): string {
  return `name: ${name}\n${body}`;
}

/** Write a throwaway lab; files are relative to its root. lab.yaml defaults to SITE. */
export function makeLab(files: Readonly<Record<string, string>>): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'lab-intent-'));
  for (const [path, text] of Object.entries({ 'lab.yaml': SITE, ...files })) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Run `fn`, expect a LabError, return it. */
export async function labError(fn: () => Promise<unknown>): Promise<LabError> {
  try {
    await fn();
  } catch (e) {
    if (isLabError(e)) return e;
    throw e;
  }
  throw new Error('expected a LabError, got success');
}

/** `file:line:col path: summary` + `  hint: …` lines, as the CLI prints them. */
export function lines(e: LabError): string[] {
  return e.diagnostics.map((d) => {
    const where = d.source ? `${d.source.file}:${d.source.line}:${d.source.column} ` : '';
    const head = `${where}${d.path ? `${d.path}: ` : ''}${d.summary}`;
    return d.hint ? `${head}\n  hint: ${d.hint}` : head;
  });
}

/**
 * Labs made by a test file's tests and removed after each test: `lab(files)` makes one (lab.yaml
 * plus `files`) and returns its root; `onCleanup` removes anything else a test made.
 */
export function tempLabs(): { lab(files: Record<string, string>): string; onCleanup(fn: () => void): void } {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });
  return {
    lab(files) {
      const l = makeLab(files);
      cleanups.push(l.cleanup);
      return l.root;
    },
    onCleanup: (fn) => void cleanups.push(fn),
  };
}
