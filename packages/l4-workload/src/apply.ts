import { LabError, isSecret, runStep, type Change, type Plan, type Reporter, type Secret } from '@lab/core';
import { atomicWriteScript, shq, type SshConnection } from '@lab/ssh';
import { contentText } from './_digest.js';
import { remoteDetail } from './remote-detail.js';
import { healthScript, parseHealth, parseHealthStatus, type HealthResult } from './health.js';
import { observeWorkloads } from './observe.js';
import type { WorkstationImages } from './images.js';
import { pushImage } from './push.js';
import type { ImageSource } from './workstation-docker.js';
import { basisKey, planWorkloads, stackFingerprint, type StackAfter } from './plan.js';
import type { DesiredWorkloads, RenderedStack, StackRecord, WorkloadObservation } from './types.js';

export interface ApplyWorkloadsOptions {
  readonly desired: DesiredWorkloads;
  readonly plan: Plan;
  readonly connection: SshConnection;
  readonly reporter: Reporter;
  readonly labVersion: string;
  readonly destroyData?: boolean;
  /** imageDelivery: push: where images come from (dockerImageSource()) … */
  readonly images?: ImageSource;
  /** … and what it held when the plan was made (for the re-verification plan). */
  readonly workstationImages?: WorkstationImages;
}

export interface StackOutcome {
  readonly stack: string;
  readonly action: Change['action'];
  readonly health?: HealthResult;
  /** Set when the release failed its gate and lab went back to the last-good one. */
  readonly rolledBackTo?: string;
  readonly rollbackHealth?: HealthResult;
}

export interface ApplyWorkloadsResult {
  readonly outcomes: readonly StackOutcome[];
  /** The observation after apply, which planned no change. */
  readonly observed: WorkloadObservation;
}

const KEEP_RELEASES = 5;

function stackDir(d: DesiredWorkloads, stack: string): string {
  return `${d.stacksDir}/${stack}`;
}

/** The compose command for one stack, always from its `current` release (a stable path across releases). */
export function composeFor(d: DesiredWorkloads, stack: string, profiles: readonly string[] = []): string {
  const cur = `${stackDir(d, stack)}/current`;
  return [d.composeCommand, '-p', shq(stack), '--project-directory', shq(cur), '-f', shq(`${cur}/compose.yaml`), '--env-file', shq(`${cur}/.env`), ...profiles.flatMap((p) => ['--profile', shq(p)])].join(' ');
}

type Progress = (message: string, percent?: number) => void;

/** Last whole line of a stream, for progress: Compose prints pulls and container states on stderr. */
function lastLineTo(progress: Progress | undefined): ((chunk: string) => void) | undefined {
  if (!progress) return undefined;
  return (chunk) => {
    const line = chunk.split(/[\r\n]/).map((l) => l.trim()).filter((l) => l && !l.startsWith('@@')).at(-1);
    if (line) progress(line.length > 120 ? `${line.slice(0, 117)}...` : line);
  };
}

/**
 * One script on the guest. No overall limit by default: Compose pulling or building keeps
 * printing, and a hang is caught by the connection's silence limit (adr/0155).
 */
async function run(c: SshConnection, what: string, body: string, secrets: readonly Secret<string>[] = [], options: { readonly timeoutMs?: number; readonly progress?: Progress; readonly onStdout?: (chunk: string) => void } = {}): Promise<string> {
  const onStderr = lastLineTo(options.progress);
  const r = await c.script(body, {
    sudo: true,
    secrets,
    label: what,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(onStderr ? { onStderr } : {}),
    ...(options.onStdout ? { onStdout: options.onStdout } : {}),
  });
  if (r.code !== 0) {
    throw new LabError({ code: 'LAB_L4_STEP_FAILED', summary: `${what} failed on ${c.label} (exit ${r.code})`, detail: remoteDetail(r), hint: 'fix the cause shown and run apply again; releases are written atomically, so a re-run is safe' });
  }
  return r.stdout;
}

function switchScript(dir: string, hash: string): string {
  return `ln -sfn releases/${hash} ${shq(`${dir}/.current.tmp`)} && mv -Tf ${shq(`${dir}/.current.tmp`)} ${shq(`${dir}/current`)}`;
}

/** Every file of the release into a temp directory, then one rename, then the `current` link. */
function releaseScript(d: DesiredWorkloads, s: RenderedStack): string {
  const dir = stackDir(d, s.name);
  const tmp = `${dir}/releases/.${s.hash}.tmp`;
  const rel = `${dir}/releases/${s.hash}`;
  return [
    `mkdir -p ${shq(`${dir}/releases`)} && chmod 0750 ${shq(dir)} || return 1`,
    `rm -rf ${shq(tmp)} && mkdir -m 0750 ${shq(tmp)} || return 1`,
    ...s.files.map((f) => atomicWriteScript(`${tmp}/${f.path}`, contentText(f.content), { mode: f.mode, mkdirs: true })),
    `rm -rf ${shq(rel)} && mv ${shq(tmp)} ${shq(rel)} || return 1`,
    switchScript(dir, s.hash),
  ].join('\n');
}

function upScript(d: DesiredWorkloads, s: RenderedStack, v2: boolean): string {
  // Pushed images are already in the guest: Compose must not look for them in a registry.
  const pull = v2 ? ` --pull ${d.imageDelivery === 'push' ? 'never' : s.pull}` : '';
  return `cd ${shq(stackDir(d, s.name))} && ${composeFor(d, s.name, s.profiles)} up -d --remove-orphans${pull} >&2`;
}

async function gate(c: SshConnection, s: RenderedStack, services: readonly string[], progress?: Progress): Promise<HealthResult> {
  const started = Date.now();
  const onStdout = (chunk: string): void => {
    const status = parseHealthStatus(chunk);
    if (status && progress) progress(`waiting ${Math.round((Date.now() - started) / 1000)}s: ${status.join(' ')}`, Math.min(99, ((Date.now() - started) / 1000 / s.health.timeoutS) * 100));
  };
  const out = await run(c, `health gate of ${s.name}`, healthScript({ project: s.name, services, containers: s.health.containers, probes: s.health.probes, timeoutS: s.health.timeoutS }), [], { timeoutMs: (s.health.timeoutS + 60) * 1000, onStdout });
  return parseHealth(out);
}

/** Record the release that passed its gate, with each container's Compose config hash (drift baseline). */
async function record(c: SshConnection, d: DesiredWorkloads, s: RenderedStack): Promise<void> {
  const dir = stackDir(d, s.name);
  const out = await run(c, `read containers of ${s.name}`, `ids=$(docker ps -aq --filter label=com.docker.compose.project=${shq(s.name)}); [ -z "$ids" ] || docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}} {{.Id}} {{index .Config.Labels "com.docker.compose.config-hash"}}' $ids`);
  const containers: Record<string, { id: string; configHash: string }> = {};
  for (const line of out.split('\n')) {
    const [svc, id, configHash] = line.trim().split(/\s+/);
    if (svc && id) containers[svc] = { id, configHash: configHash ?? '' };
  }
  const rec: StackRecord = { lastGood: s.hash, containers };
  const prune = `cd ${shq(`${dir}/releases`)} && ls -1t | grep -v '^\\.' | grep -vx ${shq(s.hash)} | tail -n +${KEEP_RELEASES} | xargs -r rm -rf`;
  await run(c, `record ${s.name}`, `${atomicWriteScript(`${dir}/state.json`, `${JSON.stringify(rec, null, 2)}\n`, { mode: '0644' })}\n${prune}`);
}

function secretsOf(s: RenderedStack): Secret<string>[] {
  return s.files.flatMap((f) => (isSecret(f.content) ? [f.content as Secret<string>] : []));
}

/** Ends the step of a gate that did not pass as failed (✗, not ✓); the caller rolls back. */
class GateFailed extends Error {
  constructor(readonly health: HealthResult) {
    super(`not healthy: ${health.status.join(', ')}`);
  }
}

async function gateStep(o: ApplyWorkloadsOptions, s: RenderedStack, addr: { group: string }): Promise<HealthResult> {
  try {
    return await runStep(o.reporter, `${s.name}: health gate (${s.health.timeoutS}s)`, async (progress) => {
      const health = await gate(o.connection, s, Object.keys(s.services), progress);
      if (!health.healthy) throw new GateFailed(health);
      return health;
    }, addr);
  } catch (error) {
    if (error instanceof GateFailed) return error.health;
    throw error;
  }
}

async function pushAll(o: ApplyWorkloadsOptions, after: StackAfter, pushed: Set<string>): Promise<void> {
  if (!after.push?.length) return;
  if (!o.images) {
    throw new LabError({ code: 'LAB_L4_IMAGE_PUSH_FAILED', summary: `stack ${after.stack} on ${o.desired.persona} needs images pushed, but no image source was given`, hint: 'run through lab (it reads the workstation\'s Docker engine), or set workloads.imageDelivery: registry' });
  }
  for (const p of after.push) {
    if (pushed.has(p.ref)) continue;
    await pushImage({ connection: o.connection, guest: o.desired.persona, source: o.images, reporter: o.reporter, group: o.desired.persona }, p);
    pushed.add(p.ref);
  }
}

async function bringUp(o: ApplyWorkloadsOptions, s: RenderedStack, after: StackAfter, obs: WorkloadObservation, pushed: Set<string>): Promise<StackOutcome> {
  const { connection: c, desired: d, reporter } = o;
  const v2 = (obs.composeVersion ?? '').startsWith('2');
  const group = d.persona;
  const addr = { group };
  if (s.state !== 'down') await pushAll(o, after, pushed);
  if (after.upload) await runStep(reporter, `${s.name}: write release ${s.hash}`, (progress) => run(c, `write release ${s.hash} of ${s.name}`, releaseScript(d, s), secretsOf(s), { progress }), addr);
  if (s.state === 'down') {
    await runStep(reporter, `${s.name}: down`, (progress) => run(c, `down ${s.name}`, `cd ${shq(stackDir(d, s.name))} && ${composeFor(d, s.name, s.profiles)} down >&2`, [], { progress }), addr);
    return { stack: s.name, action: 'update' };
  }
  await runStep(reporter, `${s.name}: up -d`, (progress) => run(c, `up ${s.name}`, upScript(d, s, v2), [], { progress }), addr);
  const health = await gateStep(o, s, addr);
  if (health.healthy) {
    await record(c, d, s);
    return { stack: s.name, action: after.recreate.length ? 'update' : 'noop', health };
  }
  const lastGood = obs.stacks.find((x) => x.name === s.name)?.record?.lastGood;
  const base = `stack ${s.name}: release ${s.hash} did not become healthy within ${s.health.timeoutS}s (${health.status.join(', ')})`;
  if (!lastGood || lastGood === s.hash) {
    throw new LabError({ code: 'LAB_L4_HEALTH_FAILED', summary: base, detail: 'there is no earlier healthy release to roll back to; the new release is left running for inspection', hint: `inspect it in the guest: cd ${stackDir(d, s.name)}/current && ${d.composeCommand} -p ${s.name} logs` });
  }
  reporter.emit({ type: 'log', level: 'warn', message: `${base}; rolling back to ${lastGood}`, group });
  const dir = stackDir(d, s.name);
  await run(c, `roll back ${s.name}`, `${switchScript(dir, lastGood)}\ncd ${shq(dir)} && ${composeFor(d, s.name, s.profiles)} up -d --remove-orphans >&2`);
  const back = await gate(c, { ...s, health: { ...s.health, probes: s.health.probes } }, []);
  throw new LabError({
    code: 'LAB_L4_HEALTH_FAILED',
    summary: `${base}; rolled back to ${lastGood}, which is ${back.healthy ? 'healthy again' : `NOT healthy either (${back.status.join(', ')})`}`,
    detail: `failed release ${s.hash}: ${health.status.join(', ')}\nlast-good release ${lastGood}: ${back.status.join(', ')}`,
    hint: `fix the stack and apply again; the failed release stays in ${dir}/releases/${s.hash} for inspection`,
  });
}

async function remove(o: ApplyWorkloadsOptions, name: string, after: StackAfter): Promise<void> {
  const d = o.desired;
  const dir = stackDir(d, name);
  const down = `${composeFor(d, name)} down --remove-orphans${after.destroyData ? ' --volumes' : ''}`;
  const body = [
    `if [ -e ${shq(`${dir}/current/compose.yaml`)} ]; then cd ${shq(dir)} && ${down} >&2 || return 1; cd /`,
    `else ids=$(docker ps -aq --filter label=com.docker.compose.project=${shq(name)}); [ -z "$ids" ] || docker rm -f${after.destroyData ? ' -v' : ''} $ids >&2 || return 1; fi`,
    `rm -rf ${shq(dir)}`,
  ].join('\n');
  await runStep(o.reporter, `${name}: down and remove${after.destroyData ? ' (volumes deleted)' : ' (volumes kept)'}`, (progress) => run(o.connection, `remove ${name}`, body, [], { progress }), { group: d.persona });
}

/** dependsOn first; stacks without dependencies keep their declared order. */
function ordered(stacks: readonly RenderedStack[]): RenderedStack[] {
  const out: RenderedStack[] = [];
  const seen = new Set<string>();
  const visit = (s: RenderedStack) => {
    if (seen.has(s.name)) return;
    seen.add(s.name);
    for (const dep of s.dependsOn) {
      const t = stacks.find((x) => x.name === dep);
      if (t) visit(t);
    }
    out.push(s);
  };
  stacks.forEach(visit);
  return out;
}

/**
 * Apply a plan to one guest: refuse it when a stack moved since it was planned, remove stacks
 * no longer declared, then for each changed stack (dependencies first) write the release,
 * `up -d --remove-orphans`, and hold the health gate — rolling back to the last-good release
 * on failure. Ends by observing again and proving nothing is left to change.
 */
export async function applyWorkloads(o: ApplyWorkloadsOptions): Promise<ApplyWorkloadsResult> {
  const { desired: d, connection: c } = o;
  const err = o.plan.diagnostics.filter((x) => x.severity === 'error');
  if (err.length) throw new LabError({ code: 'LAB_L4_PLAN_INVALID', summary: `the L4 plan of ${d.persona} has errors; nothing was changed`, diagnostics: err });
  const obs = await observeWorkloads({ connection: c, stacksDir: d.stacksDir, composeCommand: d.composeCommand });
  const pending = o.plan.changes.filter((x) => x.action !== 'noop');
  for (const ch of pending) {
    const name = (ch.after as StackAfter).stack;
    const key = basisKey(d.persona, name);
    if (o.plan.basis[key] !== undefined && o.plan.basis[key] !== stackFingerprint(obs, name)) {
      throw new LabError({ code: 'LAB_PLAN_STALE', summary: `stack ${name} on ${d.persona} changed since the plan was made`, hint: `make a new plan: lab plan --layer l4 --persona ${d.persona}` });
    }
  }
  if (pending.length > 0 && !obs.docker) {
    throw new LabError({ code: 'LAB_L4_DOCKER_MISSING', summary: `Docker is not running on ${d.persona}`, hint: `install and start it (lab apply --layer l3 --persona ${d.persona} installs docker.io when workloads are declared)` });
  }
  if (pending.length > 0 && !obs.composeVersion) {
    throw new LabError({ code: 'LAB_L4_COMPOSE_MISSING', summary: `\`${d.composeCommand}\` does not run on ${d.persona}`, hint: d.composeCommand === 'docker-compose' ? 'install Debian\'s docker-compose package' : 'install the compose plugin, or set workloads.composeCommand: docker-compose' });
  }
  const outcomes: StackOutcome[] = [];
  const pushed = new Set<string>();
  for (const ch of pending.filter((x) => x.action === 'delete')) {
    await remove(o, (ch.after as StackAfter).stack, ch.after as StackAfter);
    outcomes.push({ stack: (ch.after as StackAfter).stack, action: 'delete' });
  }
  for (const s of ordered(d.stacks)) {
    const ch = pending.find((x) => (x.after as StackAfter).stack === s.name && x.action !== 'delete');
    if (ch) outcomes.push({ ...(await bringUp(o, s, ch.after as StackAfter, obs, pushed)), action: ch.action });
  }
  const observed = await observeWorkloads({ connection: c, stacksDir: d.stacksDir, composeCommand: d.composeCommand });
  const again = planWorkloads(d, observed, { labVersion: o.labVersion, ...(o.destroyData === undefined ? {} : { destroyData: o.destroyData }), ...(o.workstationImages ? { workstationImages: o.workstationImages } : {}) });
  const left = again.changes.filter((x) => x.action !== 'noop');
  if (left.length > 0) {
    throw new LabError({ code: 'LAB_L4_NOT_CONVERGED', summary: `after apply, ${left.length} stack(s) of ${d.persona} still differ: ${left.map((x) => `${x.address} (${x.reason ?? x.action})`).join('; ')}`, hint: 'another tool may be changing these containers; run apply again, then look at `docker ps` in the guest' });
  }
  return { outcomes, observed };
}
