import { posix } from 'node:path';
import { stringify } from 'yaml';
import { LabError, Secret, hasErrors, type Diagnostic } from '@lab/core';
import { effectiveFileMode, readLabFile, type LoadedPersona, type Stack } from '@lab/intent';
import { labChecks, type CheckedCompose } from './checks.js';
import { imageOverrideNotes, overridesOrThrow } from './_image-notes.js';
import { overrideImages, type ImageOverrides, type ImageOverrideNote } from './image-overrides.js';
import { canonicalJson, contentText, sha256 } from './_digest.js';
import { LABEL_SERVICE_HASH, LABEL_STACK, MANIFEST_FILE, type DesiredWorkloads, type HealthProbe, type ImageDelivery, type ReleaseFile, type ReleaseManifest, type RenderedStack } from './types.js';
import { parseCompose } from './validate.js';

/** Where secret references are resolved (the CLI passes the lab's age store). */
export interface SecretSource {
  get(name: string): Promise<Secret<string>>;
}

export interface RenderOptions {
  readonly persona: LoadedPersona;
  /** Lab root; compose and source paths in the persona are relative to it. */
  readonly root: string;
  readonly secrets: SecretSource;
  /**
   * Run other images than the compose files name (lab.yaml `workloads.imageOverrides`, or the
   * test lane's map): a registry mirror, an air-gapped copy, local builds. adr/0120.
   */
  readonly imageOverrides?: ImageOverrides;
  /** lab.yaml `workloads.imageDelivery` (the persona's own setting wins); default `registry`. */
  readonly imageDelivery?: ImageDelivery;
  /** lab.yaml `workloads.allowStandIns`. */
  readonly allowStandIns?: boolean;
}

export interface RenderResult {
  readonly desired: DesiredWorkloads;
  /**
   * Warnings of lab's checks, and one `info` note per image an override rewrote (so plans show
   * it); errors are thrown as one LAB_L4_COMPOSE_INVALID.
   */
  readonly warnings: readonly Diagnostic[];
}

type Value = string | number | boolean | { readonly secret: string };

async function valueOf(v: Value, secrets: SecretSource): Promise<string | Secret<string>> {
  if (typeof v === 'object') return secrets.get(v.secret);
  return String(v);
}

async function readSource(root: string, path: string, what: string): Promise<string> {
  try {
    // Only a regular file inside the repository, never past a symlink out of it.
    return (await readLabFile(root, path, what)).toString('utf8');
  } catch (cause) {
    throw new LabError({ code: 'LAB_L4_SOURCE_MISSING', summary: `cannot read ${what} ${path}`, hint: 'the path is relative to the YAML file that declares it', cause });
  }
}

function fileOf(path: string, content: string | Secret<string>, mode: string): ReleaseFile {
  return { path, content, mode, digest: sha256(contentText(content)) };
}

async function envFile(stack: Stack, secrets: SecretSource) {
  const display: Record<string, string> = {};
  const digests: Record<string, string> = {};
  const lines: string[] = [];
  let secret = false;
  for (const k of Object.keys(stack.env).sort()) {
    const v = await valueOf(stack.env[k] as Value, secrets);
    const text = contentText(v);
    if (/[\r\n]/.test(text)) {
      throw new LabError({ code: 'LAB_L4_ENV_INVALID', summary: `stack ${stack.name}: env ${k} holds a line break, which .env files cannot carry`, hint: 'put multi-line values in a file (workloads.stacks[].files) and point the service at it' });
    }
    secret ||= typeof v !== 'string';
    display[k] = typeof v === 'string' ? text : '***';
    digests[k] = sha256(`${k}=${text}`);
    lines.push(`${k}=${text}`);
  }
  const text = lines.length ? `${lines.join('\n')}\n` : '';
  return { file: fileOf('.env', secret ? new Secret(text) : text, '0600'), display, digests };
}

async function extraFiles(stack: Stack, root: string, secrets: SecretSource): Promise<ReleaseFile[]> {
  const out: ReleaseFile[] = [];
  for (const f of stack.files) {
    if (f.state === 'absent') continue;
    const path = posix.normalize(f.path);
    if (path.startsWith('..') || path.startsWith('/') || path === MANIFEST_FILE || path === '.env' || path === 'compose.yaml') {
      throw new LabError({ code: 'LAB_L4_SOURCE_MISSING', summary: `stack ${stack.name}: file path ${f.path} must stay inside the stack directory and not replace lab's own files` });
    }
    let content: string | Secret<string> =
      f.content === undefined ? await readSource(root, f.source!, 'file source') : typeof f.content === 'string' ? f.content : await secrets.get(f.content.secret);
    if (f.template) {
      const vars = new Map<string, string | Secret<string>>();
      for (const [k, v] of Object.entries(f.variables)) vars.set(k, await valueOf(v as Value, secrets));
      let secret = typeof content !== 'string';
      const rendered = contentText(content).replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, name: string) => {
        const v = vars.get(name);
        if (v === undefined) throw new LabError({ code: 'LAB_L4_TEMPLATE', summary: `stack ${stack.name}: template ${f.path} uses {{ ${name} }}, which is not among its variables`, hint: `add variables: { ${name}: … }` });
        if (typeof v !== 'string') secret = true;
        return contentText(v);
      });
      content = secret ? new Secret(rendered) : rendered;
    }
    out.push(fileOf(path, content, effectiveFileMode(f.mode, typeof content !== 'string')));
  }
  return out;
}

function probes(stack: Stack): HealthProbe[] {
  return stack.health.probes.map((p) => {
    if (p.tcp !== undefined) {
      const i = p.tcp.lastIndexOf(':');
      return { name: p.name, kind: 'tcp' as const, host: p.tcp.slice(0, i), port: Number(p.tcp.slice(i + 1)) };
    }
    const u = new URL(p.http!);
    return {
      name: p.name,
      kind: 'http' as const,
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
      path: `${u.pathname}${u.search}`,
      status: p.status,
      ...(p.contains === undefined ? {} : { contains: p.contains }),
    };
  });
}

const INTERPOLATES = /\$\{?[A-Za-z_]/;

function relativeBind(svc: Record<string, unknown>): boolean {
  const vols = Array.isArray(svc.volumes) ? svc.volumes : [];
  return vols.some((v) => (typeof v === 'string' ? v.startsWith('.') : typeof v === 'object' && v !== null && String((v as { source?: unknown }).source ?? '').startsWith('.')));
}

function active(svc: Record<string, unknown>, profiles: readonly string[]): boolean {
  const p = Array.isArray(svc.profiles) ? (svc.profiles as string[]) : [];
  return p.length === 0 || p.some((x) => profiles.includes(x));
}

/**
 * A service's hash covers its own definition, plus the env when it interpolates or loads it and
 * the stack's files when it binds them: exactly the inputs that make Compose (or lab) recreate it.
 */
function serviceHash(svc: Record<string, unknown>, envDigest: string, filesDigest: string): string {
  const own = canonicalJson(svc);
  const env = INTERPOLATES.test(own) || svc.env_file !== undefined ? envDigest : '';
  const files = relativeBind(svc) ? filesDigest : '';
  return sha256(`${own}\n${env}\n${files}`).slice(0, 16);
}

function withLabels(svc: Record<string, unknown>, labels: Record<string, string>): Record<string, unknown> {
  const existing = svc.labels;
  if (Array.isArray(existing)) return { ...svc, labels: [...existing.filter((l) => !Object.keys(labels).some((k) => String(l).startsWith(`${k}=`))), ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)] };
  return { ...svc, labels: { ...((existing as Record<string, string> | undefined) ?? {}), ...labels } };
}

async function renderStack(o: RenderOptions, stack: Stack, i: number, checked: CheckedCompose[], errors: Diagnostic[], notes: Map<string, readonly ImageOverrideNote[]>): Promise<RenderedStack | undefined> {
  const inline = typeof stack.compose !== 'string';
  const composeText = inline ? stringify(stack.compose) : await readSource(o.root, stack.compose as string, 'compose file');
  const at = o.persona.locate(['workloads', 'stacks', i, 'compose'])?.source;
  const parsed = parseCompose(inline ? (JSON.parse(JSON.stringify(stack.compose)) as Record<string, unknown>) : composeText, {
    file: inline ? o.persona.file : (stack.compose as string),
    ...(inline && at ? { base: at } : {}),
    ...(inline ? { pathPrefix: `workloads.stacks[${i}].compose` } : {}),
  });
  errors.push(...parsed.diagnostics);
  if (hasErrors(parsed.diagnostics)) return undefined;
  checked.push({ stack: stack.name, data: parsed.data, locate: parsed.locate });
  const env = await envFile(stack, o.secrets);
  const files = await extraFiles(stack, o.root, o.secrets);
  const filesDigest = sha256(files.map((f) => `${f.path}\0${f.mode}\0${f.digest}`).join('\n'));
  const services: Record<string, string> = {};
  const images: Record<string, string> = {};
  const rendered: Record<string, unknown> = { ...parsed.data, services: {} };
  // After lab's checks (they judge the image the author named), before hashing (a changed
  // override recreates the service).
  const effective = overrideImages(parsed.data.services as Record<string, Record<string, unknown>>, o.imageOverrides ?? {});
  if (effective.notes.length > 0) notes.set(stack.name, effective.notes);
  for (const [name, svc] of Object.entries(effective.services)) {
    const hash = serviceHash(svc, env.file.digest, filesDigest);
    if (active(svc, stack.profiles)) {
      services[name] = hash;
      if (typeof svc.image === 'string') images[name] = svc.image;
    }
    (rendered.services as Record<string, unknown>)[name] = withLabels(svc, { [LABEL_STACK]: stack.name, [LABEL_SERVICE_HASH]: hash });
  }
  const compose = fileOf('compose.yaml', `# Written by lab; edits are reverted by the next apply.\n${stringify(rendered)}`, '0644');
  const content = [compose, env.file, ...files];
  const hash = sha256(content.map((f) => `${f.path}\0${f.mode}\0${f.digest}`).sort().join('\n')).slice(0, 16);
  const manifest: ReleaseManifest = {
    formatVersion: 1,
    stack: stack.name,
    hash,
    compose: composeText,
    env: env.display,
    envDigests: env.digests,
    services,
    files: Object.fromEntries(content.map((f) => [f.path, f.digest])),
  };
  return {
    name: stack.name,
    hash,
    state: stack.state,
    profiles: stack.profiles,
    pull: stack.pull,
    dependsOn: stack.dependsOn,
    health: { containers: stack.health.containers, probes: probes(stack), timeoutS: stack.health.timeout },
    composeText,
    envDisplay: env.display,
    envDigests: env.digests,
    services,
    images,
    ...(effective.notes.length > 0 ? { imageOverrides: effective.notes } : {}),
    files: [...content, fileOf(MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`, '0644')],
  };
}

/**
 * Intent → what each stack's release will hold: the compose document validated (compose-spec
 * schema + lab's checks) and labelled with per-service hashes, `.env` with secrets resolved
 * (0600), extra files, and the release's content hash. Nothing leaves the process here.
 */
export async function renderWorkloads(o: RenderOptions): Promise<RenderResult> {
  const w = o.persona.persona.workloads;
  overridesOrThrow(o.imageOverrides);
  const errors: Diagnostic[] = [];
  const checked: CheckedCompose[] = [];
  const stacks: RenderedStack[] = [];
  const notes = new Map<string, readonly ImageOverrideNote[]>();
  for (const [i, s] of w.stacks.entries()) {
    const r = await renderStack(o, s, i, checked, errors, notes);
    if (r) stacks.push(r);
  }
  const dataPaths = o.persona.persona.vm.disks.filter((d) => d.persistent && d.mount !== undefined).map((d) => d.mount!);
  const own = labChecks(checked, { stage: o.persona.persona.lifecycle.stage, dataPaths });
  const all = [...errors, ...own];
  if (hasErrors(all)) {
    const n = all.filter((d) => d.severity === 'error').length;
    throw new LabError({
      code: 'LAB_L4_COMPOSE_INVALID',
      summary: `persona ${o.persona.name}: ${n} problem${n === 1 ? '' : 's'} in its compose stacks`,
      diagnostics: all.filter((d) => d.severity === 'error'),
      hint: 'fix the compose files at the positions shown; nothing was changed on the guest',
    });
  }
  return {
    desired: {
      persona: o.persona.name,
      composeCommand: w.composeCommand,
      stacksDir: w.stacksDir,
      stacks,
      imageDelivery: w.imageDelivery ?? o.imageDelivery ?? 'registry',
      stage: o.persona.persona.lifecycle.stage,
      allowStandIns: o.allowStandIns ?? false,
    },
    warnings: [...all.filter((d) => d.severity !== 'error'), ...imageOverrideNotes(o.persona.name, notes)],
  };
}
