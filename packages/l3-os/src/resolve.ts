import { isLabError, LabError, Secret } from '@lab/core';
import { diskSlots, effectiveFileMode, guestDiskPath, isSecretRef, readLabFile, worldAccessible, type Persona } from '@lab/intent';
import { renderTemplate, type TemplateValue } from './_template.js';
import type { L3File, L3Intent } from './intent.js';
import type { RepositorySpec } from './ops/apt.js';
import type { DataDiskSpec } from './ops/data-disks.js';

/** Where secret values come from: `@lab/secrets`' store fits. */
export interface SecretSource {
  get(name: string): Promise<Secret<string>>;
}

export interface ResolveOptions {
  /** The lab root: `source:` files and repository key files are relative to it. */
  readonly root: string;
  readonly secrets?: SecretSource;
  /** Fetch a repository key by URL (default: `fetch`). Runs on the machine running lab. */
  readonly fetchKey?: (url: string) => Promise<Buffer>;
}

type Ref = { readonly secret: string };

async function secretOf(ref: Ref, options: ResolveOptions, where: string): Promise<Secret<string>> {
  if (!options.secrets) {
    throw new LabError({
      code: 'LAB_L3_SECRET',
      summary: `${where} references secret ${ref.secret} but no secret store is open`,
      hint: 'run with the lab age key available (LAB_AGE_KEY_FILE or ~/.config/lab/age.key)',
    });
  }
  return options.secrets.get(ref.secret);
}

async function readSource(root: string, path: string, where: string): Promise<string> {
  try {
    // Only a regular file inside the repository: never a link out to the age key or ~/.ssh.
    return (await readLabFile(root, path, `${where} source`)).toString('utf8');
  } catch (cause) {
    if (isLabError(cause) && cause.code === 'LAB_INTENT_INVALID') throw new LabError({ code: 'LAB_L3_SOURCE_REFUSED', summary: cause.summary, hint: cause.hint ?? 'use a regular file inside the repository', cause });
    throw new LabError({ code: 'LAB_L3_SOURCE_MISSING', summary: `${where}: cannot read ${path}`, hint: 'the path is relative to the YAML file that declares it; run `lab validate`', cause });
  }
}

/**
 * Key material a `source:` file may hold though no `{ secret: … }` marks it: such a file is
 * handled as a secret (masked in every diff, written 0600 by default).
 */
const SECRET_MATERIAL = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|AGE-SECRET-KEY-1|PuTTY-User-Key-File-|-----BEGIN PGP PRIVATE KEY BLOCK-----/;

export function holdsKeyMaterial(text: string): boolean {
  return SECRET_MATERIAL.test(text);
}

type OsFile = Persona['os']['files'][number];

async function resolveFile(f: OsFile, index: number, options: ResolveOptions): Promise<L3File> {
  const where = `os.files[${index}] (${f.path})`;
  const base = { path: f.path, state: f.state, owner: f.owner, group: f.group };
  if (f.state === 'absent') return { ...base, mode: effectiveFileMode(f.mode, false) };
  let content: string | Secret<string>;
  if (f.content !== undefined) content = isSecretRef(f.content) ? await secretOf(f.content, options, where) : (f.content as string);
  else if (f.source !== undefined) {
    const text = await readSource(options.root, f.source, where);
    content = holdsKeyMaterial(text) ? new Secret(text) : text;
  } else content = '';
  if (f.template) {
    const vars: Record<string, TemplateValue> = {};
    for (const [k, v] of Object.entries(f.variables)) vars[k] = isSecretRef(v) ? await secretOf(v, options, `${where} variable ${k}`) : (v as string | number | boolean);
    const text = content instanceof Secret ? content.reveal() : content;
    const rendered = renderTemplate(text, vars, where);
    content = content instanceof Secret && !(rendered instanceof Secret) ? new Secret(rendered) : rendered;
  }
  const secret = content instanceof Secret;
  if (secret && f.mode !== undefined && worldAccessible(f.mode) && f.allowWorldReadableSecret !== true) {
    // The schema catches `{ secret: … }`; a key found inside a source file is caught here.
    throw new LabError({
      code: 'LAB_L3_SECRET_MODE',
      summary: `${where}: mode ${f.mode} lets every user of the guest read a file that holds a private key`,
      hint: 'use mode: "0600" (or "0640" and a group), or set allowWorldReadableSecret: true if that is really meant',
    });
  }
  return { ...base, mode: effectiveFileMode(f.mode, secret), content };
}

async function defaultFetch(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

type OsRepo = Persona['os']['apt']['repositories'][number];

/** Read or fetch a repository's signing key and check it carries the pinned fingerprint. */
export async function resolveRepository(r: OsRepo, options: ResolveOptions): Promise<RepositorySpec> {
  const where = `os.apt.repositories "${r.name}"`;
  let content: Buffer;
  try {
    content = r.signedBy.file !== undefined ? await readLabFile(options.root, r.signedBy.file, `${where} key file`) : await (options.fetchKey ?? defaultFetch)(r.signedBy.url!);
  } catch (cause) {
    throw new LabError({ code: 'LAB_L3_KEY_UNAVAILABLE', summary: `${where}: cannot get the signing key from ${r.signedBy.file ?? r.signedBy.url}`, cause, hint: 'check the path (relative to the lab root) or the URL' });
  }
  const armored = content.subarray(0, 64).toString('latin1').includes('-----BEGIN PGP');
  if (r.signedBy.fingerprint !== undefined) {
    // Loaded only for a pinned key: openpgp is the largest module L3 uses (adr/0186).
    const { readKeys } = await import('openpgp');
    const keys = await (armored ? readKeys({ armoredKeys: content.toString('utf8') }) : readKeys({ binaryKeys: new Uint8Array(content) })).catch((cause: unknown) => {
      throw new LabError({ code: 'LAB_L3_KEY_INVALID', summary: `${where}: the signing key is not an OpenPGP public key`, cause, hint: 'point signedBy at the repository\'s published key (ASCII-armoured or binary)' });
    });
    const found = keys.map((k) => k.getFingerprint().toUpperCase());
    if (!found.includes(r.signedBy.fingerprint)) {
      throw new LabError({
        code: 'LAB_L3_KEY_FINGERPRINT',
        summary: `${where}: the signing key does not have the pinned fingerprint`,
        detail: `pinned ${r.signedBy.fingerprint}; the key holds ${found.join(', ') || 'no key'}`,
        hint: 'someone may have swapped the key: verify it out of band before updating `fingerprint`',
      });
    }
  }
  return {
    name: r.name,
    uris: r.uris,
    suites: r.suites,
    components: r.components,
    ...(r.architectures ? { architectures: r.architectures } : {}),
    key: { content, armored },
  };
}

/**
 * The persona's `os:` section (and the bits of `workloads:` L3 prepares for) with every input
 * read: secrets from the store, `source:` files, rendered templates, verified repository keys.
 */
export async function resolveOs(persona: Persona, options: ResolveOptions): Promise<L3Intent> {
  const os = persona.os;
  const files = await Promise.all(os.files.map((f, i) => resolveFile(f, i, options)));
  const users = await Promise.all(
    os.users.map(async (u, i) => ({
      name: u.name,
      ...(u.uid === undefined ? {} : { uid: u.uid }),
      ...(u.comment === undefined ? {} : { comment: u.comment }),
      groups: u.groups,
      shell: u.shell,
      home: u.home ?? (u.name === 'root' ? '/root' : `/home/${u.name}`),
      ...(u.passwordHash ? { passwordHash: await secretOf(u.passwordHash, options, `os.users[${i}].passwordHash`) } : {}),
      system: u.system,
      state: u.state,
      sudo: u.sudo,
      sshKeys: u.sshKeys,
    })),
  );
  const mounts = await Promise.all(
    os.mounts.map(async (m, i) => ({
      path: m.path,
      device: m.device,
      type: m.type,
      options: m.options,
      dump: m.dump,
      pass: m.pass,
      state: m.state,
      ...(m.credentials ? { credentials: await secretOf(m.credentials, options, `os.mounts[${i}].credentials`) } : {}),
    })),
  );
  const repositories = await Promise.all(os.apt.repositories.map((r) => resolveRepository(r, options)));
  return {
    persona: persona.name,
    hostname: os.hostname ?? persona.name,
    ...(os.domain ? { domain: os.domain } : {}),
    timezone: os.timezone,
    locale: os.locale,
    packages: os.packages.map((p) => ({ name: p.name, state: p.state, ...(p.version ? { version: p.version } : {}), ...(p.recommends ? { recommends: true } : {}) })),
    ...(os.apt.proxy ? { aptProxy: os.apt.proxy } : {}),
    repositories,
    groups: os.groups,
    users,
    files,
    directories: os.directories,
    lines: os.lines.map((l) => ({ path: l.path, line: l.line, ...(l.match ? { match: l.match } : {}), state: l.state, create: l.create })),
    blocks: os.blocks,
    sysctl: os.sysctl as Readonly<Record<string, string | number | boolean>>,
    modules: os.modules,
    units: os.systemd.units,
    services: os.systemd.services,
    firewall: { enabled: os.firewall.enabled, policy: os.firewall.policy, allowPing: os.firewall.allowPing, allow: os.firewall.allow },
    mounts,
    dataDisks: dataDisksOf(persona),
    hosts: os.hosts,
    ...(os.ntp?.servers.length ? { ntpServers: os.ntp.servers } : {}),
    ...(os.journald ? { journald: { ...(os.journald.maxUse !== undefined ? { maxUseBytes: os.journald.maxUse } : {}), ...(os.journald.maxRetention !== undefined ? { maxRetentionSeconds: os.journald.maxRetention } : {}) } } : {}),
    ...(os.swap ? { swap: { sizeBytes: os.swap.size, swappiness: os.swap.swappiness } } : {}),
    ...(os.unattendedUpgrades ? { unattendedUpgrades: os.unattendedUpgrades } : {}),
    ...(persona.workloads.stacks.length > 0 ? { docker: { composeCommand: persona.workloads.composeCommand } } : {}),
  };
}

/** `vm.disks[]` with a mount point, found in the guest where L2 attached them. */
function dataDisksOf(persona: Persona): DataDiskSpec[] {
  // An OS spec without a VM (a bake profile, a library caller's L3-only persona) has no data disks.
  const disks = (persona as { readonly vm?: Persona['vm'] }).vm?.disks ?? [];
  const slots = diskSlots(disks);
  return disks
    .filter((d) => d.name !== 'root' && d.mount !== undefined)
    .map((d) => ({ name: d.name, device: guestDiskPath(slots.get(d.name)!), filesystem: d.filesystem, mount: d.mount! }));
}
