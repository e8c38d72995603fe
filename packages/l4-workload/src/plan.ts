import { address, createPlan, type Action, type Change, type Diagnostic, type FieldDiff, type Impact, type Plan, type PlanMode, type StepSummary } from '@lab/core';
import { canonicalJson, sha256 } from './_digest.js';
import { normalizeRef as normalizeImage, pushDiagnostics, pushDiff, pushesFor, type ImagePush, type WorkstationImages } from './images.js';
import { stackTextDiff } from './plan-text.js';
import type { DesiredWorkloads, ObservedContainer, ObservedStack, RenderedStack, WorkloadObservation } from './types.js';

export interface PlanWorkloadsOptions {
  readonly mode?: PlanMode;
  readonly labVersion: string;
  /** Remove the volumes of stacks that are removed (`--destroy-data`). */
  readonly destroyData?: boolean;
  readonly warnings?: readonly Diagnostic[];
  readonly createdAt?: Date;
  /**
   * With `imageDelivery: push`: what the workstation's Docker engine holds for the images the
   * stacks run (dockerImageSource().inspect). Images the guest lacks are planned as pushes.
   */
  readonly workstationImages?: WorkstationImages;
}

/** What a stack change carries for apply (and for display in `after`). */
export interface StackAfter {
  readonly stack: string;
  readonly release?: string;
  readonly state: 'up' | 'down' | 'absent';
  readonly services: readonly string[];
  /** Services whose container is created or recreated. */
  readonly recreate: readonly string[];
  /** Why the stack differs from intent, observed on the host. */
  readonly drift: readonly string[];
  /** The release files on the host are missing or differ: write them again. */
  readonly upload: boolean;
  readonly destroyData?: boolean;
  /** Images to push from the workstation before `up` (imageDelivery: push). */
  readonly push?: readonly ImagePush[];
}

export function stackAddress(persona: string, stack: string) {
  return address(persona, 'l4', 'stack', stack);
}

export function basisKey(persona: string, stack: string): string {
  return `l4:${persona}/${stack}`;
}

function projectContainers(obs: WorkloadObservation, stack: string): ObservedContainer[] {
  return obs.containers.filter((c) => c.project === stack);
}

/** Fingerprint of what the host holds for one stack; a saved plan is stale when it moves. */
export function stackFingerprint(obs: WorkloadObservation, stack: string): string {
  const s = obs.stacks.find((x) => x.name === stack);
  const cs = projectContainers(obs, stack).map((c) => [c.id, c.state, c.serviceHash, c.configHash]).sort();
  return sha256(canonicalJson({ current: s?.current, files: s?.fileDigests, record: s?.record, cs })).slice(0, 16);
}

interface Drift {
  readonly reasons: string[];
  readonly recreate: string[];
  readonly upload: boolean;
}

function driftOf(want: RenderedStack, have: ObservedStack | undefined, cs: readonly ObservedContainer[]): Drift {
  const reasons: string[] = [];
  const recreate: string[] = [];
  const wantFiles = Object.fromEntries(want.files.filter((f) => f.path !== 'lab-release.json').map((f) => [f.path, f.digest]));
  let upload = have?.current !== want.hash;
  if (have?.current !== undefined && have.current !== want.hash) reasons.push(`release ${have.current} → ${want.hash}`);
  if (have?.current === want.hash) {
    // Only the files lab writes: what the stack's containers write into the release directory
    // (a relative bind mount such as Caddy's ./data) is theirs, not drift.
    const edited = Object.keys(wantFiles).filter((p) => wantFiles[p] !== have.fileDigests[p]).sort();
    if (edited.length > 0) {
      upload = true;
      reasons.push(`release files changed on the host: ${edited.join(', ')}`);
    }
  }
  if (want.state === 'down') {
    const running = cs.filter((c) => c.state === 'running').map((c) => c.service);
    if (running.length > 0) reasons.push(`declared down, running: ${running.join(', ')}`);
    return { reasons, recreate, upload: false };
  }
  for (const [svc, hash] of Object.entries(want.services)) {
    const c = cs.find((x) => x.service === svc);
    if (!c) {
      recreate.push(svc);
      if (have?.current !== undefined) reasons.push(`service ${svc} has no container`);
      continue;
    }
    if (c.serviceHash !== hash) {
      recreate.push(svc);
      continue;
    }
    const recorded = have?.record?.containers[svc];
    if (recorded && have?.record?.lastGood === want.hash && c.configHash !== undefined && recorded.configHash !== c.configHash) {
      recreate.push(svc);
      reasons.push(`service ${svc} was changed by hand (compose config differs from the applied one)`);
      continue;
    }
    if (c.state !== 'running') reasons.push(`service ${svc} is ${c.state}`);
  }
  for (const c of cs) if (want.services[c.service] === undefined) reasons.push(`container ${c.name} is not declared`);
  return { reasons, recreate, upload };
}

function envDiff(want: RenderedStack, have: ObservedStack | undefined): FieldDiff[] {
  const before = have?.manifest?.env ?? {};
  const beforeDigests = have?.manifest?.envDigests ?? {};
  const out: FieldDiff[] = [];
  for (const k of [...new Set([...Object.keys(before), ...Object.keys(want.envDisplay)])].sort()) {
    if (beforeDigests[k] === want.envDigests[k]) continue;
    const sensitive = before[k] === '***' || want.envDisplay[k] === '***';
    out.push({ path: `env.${k}`, ...(k in before ? { before: before[k] } : {}), ...(k in want.envDisplay ? { after: want.envDisplay[k] } : {}), ...(sensitive ? { sensitive: true } : {}) });
  }
  return out;
}

function upSteps(want: RenderedStack, d: Drift, compose: string, push: readonly ImagePush[]): StepSummary[] {
  const steps: StepSummary[] = [];
  if (push.length) steps.push({ kind: 'upload', description: `push ${push.map((p) => `${p.ref}${p.standInFor ? ' (stand-in)' : ''}`).join(', ')} from this workstation (docker save | ssh docker load)` });
  if (d.upload) steps.push({ kind: 'upload', description: `write release ${want.hash} (${want.files.length} files, .env 0600) and point current at it` });
  if (want.state === 'down') return [...steps, { kind: 'shell', description: `${compose} down (volumes kept)` }];
  steps.push({ kind: 'shell', description: `${compose} up -d --remove-orphans` });
  steps.push({ kind: 'wait', description: `health gate (${want.health.timeoutS}s): containers healthy${want.health.probes.length ? `, probes ${want.health.probes.map((p) => p.name).join(', ')}` : ''}; roll back to last-good on failure` });
  return steps;
}

function stackChange(persona: string, want: RenderedStack, obs: WorkloadObservation, compose: string, source: WorkstationImages | undefined): Change {
  const have = obs.stacks.find((s) => s.name === want.name);
  const cs = projectContainers(obs, want.name);
  const d0 = driftOf(want, have, cs);
  const push = source ? pushesFor(want, obs, source) : [];
  // A container whose image is replaced by the push is recreated by `up`.
  const pushedServices = Object.entries(want.images).filter(([svc, img]) => push.some((p) => p.ref === normalizeImage(img)) && cs.some((c) => c.service === svc)).map(([svc]) => svc);
  const d: Drift = { ...d0, recreate: [...new Set([...d0.recreate, ...pushedServices])] };
  const exists = have?.current !== undefined || cs.length > 0;
  const pending = d.upload || d.reasons.length > 0 || d.recreate.length > 0 || push.length > 0;
  const action: Action = !exists ? (want.state === 'down' ? 'noop' : 'create') : pending ? 'update' : 'noop';
  const diff: FieldDiff[] = [];
  let text: string | undefined;
  if (action !== 'noop') {
    if (have?.current !== want.hash) diff.push({ path: 'release', ...(have?.current ? { before: have.current } : {}), after: want.hash });
    text = stackTextDiff(want, have);
    // env changes are in the `.env` text diff (secrets masked); one line here says which keys.
    const env = envDiff(want, have);
    if (env.length && have?.manifest) diff.push({ path: 'env', after: env.map((e) => e.path.slice(4)).join(', '), note: 'changed keys; values in the .env diff below' });
    for (const s of d.recreate) {
      const c = cs.find((x) => x.service === s);
      diff.push(c ? { path: `services.${s}`, before: c.state, after: 'recreated', impact: 'restart' } : { path: `services.${s}`, after: want.images[s] ?? 'new container', note: 'new container' });
    }
    for (const r of d.reasons) diff.push({ path: 'drift', after: r });
    for (const n of want.imageOverrides ?? []) diff.push({ path: `services.${n.service}.image`, before: n.declared, after: n.image, note: `image override "${n.rule}"` });
    for (const p of push) diff.push(pushDiff(p));
  }
  const impact: Impact = action === 'noop' ? 'none' : d.recreate.some((s) => cs.some((c) => c.service === s)) || want.state === 'down' || d.reasons.some((r) => r.startsWith('service')) ? 'restart' : 'none';
  const after: StackAfter = { stack: want.name, release: want.hash, state: want.state, services: Object.keys(want.services), recreate: d.recreate, drift: d.reasons, upload: d.upload, ...(push.length ? { push } : {}) };
  return {
    address: stackAddress(persona, want.name),
    layer: 'l4',
    kind: 'stack',
    action,
    impact,
    ...(have?.current ? { before: { stack: want.name, release: have.current, services: [...new Set(cs.map((c) => c.service))].sort() } } : {}),
    after,
    diff,
    sensitivePaths: Object.entries(want.envDisplay).filter(([, v]) => v === '***').map(([k]) => `env.${k}`),
    steps: action === 'noop' ? [] : upSteps(want, d, compose, push),
    ...(action === 'noop' ? { reason: want.state === 'down' && !exists ? 'declared down and not present' : `release ${want.hash} running, ${Object.keys(want.services).length} services as declared` } : d.reasons.length ? { reason: d.reasons.join('; ') } : push.length && !d0.upload && d0.recreate.length === 0 ? { reason: `the guest lacks ${push.length === 1 ? 'an image' : `${push.length} images`} of this stack` } : {}),
    ...(text ? { unifiedDiff: text } : {}),
  };
}

function removal(persona: string, name: string, obs: WorkloadObservation, destroyData: boolean, compose: string): Change {
  const have = obs.stacks.find((s) => s.name === name);
  const cs = projectContainers(obs, name);
  const after: StackAfter = { stack: name, state: 'absent', services: [], recreate: [], drift: [], upload: false, destroyData };
  return {
    address: stackAddress(persona, name),
    layer: 'l4',
    kind: 'stack',
    action: 'delete',
    impact: destroyData ? 'data-loss' : 'restart',
    before: { stack: name, ...(have?.current ? { release: have.current } : {}), services: [...new Set(cs.map((c) => c.service))].sort() },
    after,
    diff: cs.map((c) => ({ path: `services.${c.service}`, before: c.state, note: 'container removed' })),
    sensitivePaths: [],
    steps: [{ kind: 'shell', description: `${compose} down${destroyData ? ' --volumes' : ' (volumes kept)'} and remove the stack directory` }],
    reason: destroyData ? 'no longer declared; its volumes are deleted (--destroy-data)' : 'no longer declared; its volumes are kept (use --destroy-data to delete them)',
  };
}

/**
 * Pure: intent (rendered stacks) + one host's observation → one change per stack. Stacks on
 * the host that the persona no longer declares (a stack directory, or containers labelled by
 * lab) are removed. The basis holds a fingerprint per stack for the stale-plan check.
 */
export function planWorkloads(desired: DesiredWorkloads, obs: WorkloadObservation, o: PlanWorkloadsOptions): Plan {
  const compose = desired.composeCommand;
  const source = desired.imageDelivery === 'push' ? (o.workstationImages ?? {}) : undefined;
  const changes: Change[] = desired.stacks.map((s) => stackChange(desired.persona, s, obs, compose, source));
  const declared = new Set(desired.stacks.map((s) => s.name));
  const onHost = new Set([...obs.stacks.map((s) => s.name), ...obs.containers.flatMap((c) => (c.labStack ? [c.labStack] : []))]);
  for (const name of [...onHost].sort()) if (!declared.has(name)) changes.push(removal(desired.persona, name, obs, o.destroyData ?? false, compose));
  const basis = Object.fromEntries([...new Set([...declared, ...onHost])].map((n) => [basisKey(desired.persona, n), stackFingerprint(obs, n)]));
  return createPlan({
    labVersion: o.labVersion,
    personas: [desired.persona],
    layers: ['l4'],
    mode: o.mode ?? 'normal',
    basis,
    changes,
    diagnostics: [...(o.warnings ?? []), ...(source ? pushDiagnostics(desired, source) : [])],
    ...(o.createdAt ? { createdAt: o.createdAt } : {}),
  });
}
