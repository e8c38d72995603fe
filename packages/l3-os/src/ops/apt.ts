import { createHash } from 'node:crypto';
import { address, type Diagnostic } from '@lab/core';
import { shq } from '@lab/ssh';
import { pathDigestFact, pathFact } from '../facts/files.js';
import { aptListsFact, aptPolicyFact, debPackagesFact, reverseDependsFact, type DebPackage } from '../facts/packages.js';
import type { Fact } from '../facts/fact.js';
import { fieldDiffs, makeChange, noopChange, result, sha256, shortDigest, type L3Change, type OpContext, type Operation, type Step } from './operation.js';

export type PackageState = 'present' | 'absent' | 'latest' | 'held';

export interface PackageSpec {
  readonly name: string;
  readonly state: PackageState;
  readonly version?: string;
  /** Install its recommended packages too (default: `--no-install-recommends`, adr/0159). */
  readonly recommends?: boolean;
}

/** apt lists older than this are refreshed before installing (Ansible's cache_valid_time). */
export const APT_LISTS_MAX_AGE_S = 3600;

/**
 * apt writes machine-readable progress (`dlstatus:`/`pmstatus:` lines) to the status fd; lab
 * points it at stderr, where the apply reads it for live progress (apply/_apt-status.ts).
 */
export const APT_STATUS_FD = 3;

const APT = [
  'DEBIAN_FRONTEND=noninteractive apt-get -q -y',
  '-o DPkg::Lock::Timeout=300',
  `-o APT::Status-Fd=${APT_STATUS_FD}`,
  '-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold',
].join(' ');
const TO_STDERR = `${APT_STATUS_FD}>&2`;

const LEAN = 'without recommended packages';

type Verb = 'install' | 'upgrade' | 'downgrade' | 'purge' | 'hold' | 'unhold' | 'repair';

interface Decision {
  readonly spec: PackageSpec;
  readonly verbs: readonly Verb[];
  readonly reason: string;
  readonly target?: string;
}

function decide(spec: PackageSpec, have: DebPackage | undefined, candidate: string | undefined): Decision {
  const installed = have?.status === 'installed';
  const broken = have?.status === 'broken';
  const held = have?.selection === 'hold';
  const hold = spec.state === 'held' ? (held ? [] : (['hold'] as Verb[])) : held && spec.state !== 'absent' ? (['unhold'] as Verb[]) : [];
  if (spec.state === 'absent') {
    if (!have) return { spec, verbs: [], reason: 'not installed' };
    return { spec, verbs: ['purge'], reason: have.status === 'config-files' ? 'configuration files left' : `installed (${have.version})` };
  }
  if (broken) return { spec, verbs: ['repair', ...hold], reason: `dpkg reports it half-installed (${have?.version})`, ...(spec.version ? { target: spec.version } : {}) };
  if (!installed) {
    const target = spec.version ?? candidate;
    return { spec, verbs: ['install', ...hold], reason: 'not installed', ...(target ? { target } : {}) };
  }
  if (spec.version !== undefined && have!.version !== spec.version) {
    return { spec, verbs: ['downgrade', ...hold], reason: `installed ${have!.version}, declared ${spec.version}`, target: spec.version };
  }
  if (spec.state === 'latest' && candidate !== undefined && candidate !== have!.version) {
    return { spec, verbs: ['upgrade', ...hold], reason: `installed ${have!.version}, candidate ${candidate}`, target: candidate };
  }
  return { spec, verbs: hold, reason: hold.length ? (hold[0] === 'hold' ? 'installed, not held' : 'held, declared not held') : `installed (${have!.version})` };
}

/**
 * Every declared package in one operation: one change per package (its own address), but one
 * `apt-get install` and one `apt-get purge` for all of them, as apt is slow per invocation.
 */
export function packagesOp(ctx: OpContext, specs: readonly PackageSpec[]): Operation {
  const latest = specs.filter((s) => s.state === 'latest').map((s) => s.name);
  const policy = latest.length > 0 ? aptPolicyFact(latest) : undefined;
  const absent = specs.filter((s) => s.state === 'absent').map((s) => s.name);
  const rdepends = absent.length > 0 ? reverseDependsFact(absent) : undefined;
  const facts: Fact<unknown>[] = [debPackagesFact, aptListsFact, ...(policy ? [policy] : []), ...(rdepends ? [rdepends] : [])];
  return {
    id: 'apt.packages',
    facts,
    plan(f) {
      const installed = f.get(debPackagesFact);
      const lists = f.get(aptListsFact);
      const candidates = policy ? f.get(policy) : {};
      const users = rdepends ? f.get(rdepends) : {};
      const decisions0 = specs.map((s) => decide(s, installed[s.name], candidates[s.name]?.candidate));
      // Purging a package takes every installed package that depends on it along. One the
      // persona declares present keeps it: the plan says so instead of a purge apt would undo.
      const wanted = new Set(specs.filter((s) => s.state !== 'absent').map((s) => s.name));
      const diagnostics: Diagnostic[] = [];
      const decisions = decisions0.map((d) => {
        if (!d.verbs.includes('purge')) return d;
        const keepers = (users[d.spec.name] ?? []).filter((u) => wanted.has(u));
        if (keepers.length === 0) {
          const along = (users[d.spec.name] ?? []).filter((u) => installed[u]?.status === 'installed' && !absent.includes(u));
          return along.length > 0 ? { ...d, reason: `${d.reason}; also removes ${along.join(', ')}, which depend on it` } : d;
        }
        diagnostics.push({
          severity: 'error',
          code: 'LAB_L3_PACKAGE_NEEDED',
          summary: `${d.spec.name} cannot be removed: ${keepers.join(', ')}, declared present, depend${keepers.length === 1 ? 's' : ''} on it`,
          address: address(ctx.persona, 'l3', 'apt.package', d.spec.name),
          hint: `remove ${keepers.join(', ')} too (\`- $remove: ${keepers[0]}\` under os.packages), or keep ${d.spec.name}`,
        });
        return { ...d, verbs: [] as Verb[], reason: `kept: ${keepers.join(', ')} depend${keepers.length === 1 ? 's' : ''} on it` };
      });
      const has = (v: Verb) => decisions.filter((d) => d.verbs.includes(v));
      const installs = [...has('install'), ...has('upgrade'), ...has('downgrade'), ...has('repair')];
      const purges = has('purge');
      const holds = has('hold');
      const unholds = has('unhold');
      const steps: Step[] = [];
      if (installs.length + purges.length > 0 || has('repair').length > 0) {
        // A previous apply killed mid-install leaves dpkg half-configured; apt refuses to work until this ran.
        steps.push({ kind: 'shell', description: 'finish any interrupted dpkg run', script: 'DEBIAN_FRONTEND=noninteractive dpkg --configure -a --force-confdef --force-confold' });
      }
      if (installs.length > 0 && (lists.updatedAt === 0 || lists.now - lists.updatedAt > APT_LISTS_MAX_AGE_S)) {
        steps.push({ kind: 'shell', description: 'refresh apt lists', script: `${APT} update ${TO_STDERR}` });
      }
      // Lean by default; packages that opt in to their recommends get their own install.
      for (const group of [installs.filter((d) => !d.spec.recommends), installs.filter((d) => d.spec.recommends)]) {
        if (group.length === 0) continue;
        const args = group.map((d) => (d.spec.version ? `${d.spec.name}=${d.spec.version}` : d.spec.name));
        const flags = [
          ...(group[0]!.spec.recommends ? [] : ['--no-install-recommends']),
          ...(group.some((d) => d.spec.version !== undefined) ? ['--allow-downgrades'] : []),
          ...(group.some((d) => installed[d.spec.name]?.selection === 'hold') ? ['--allow-change-held-packages'] : []),
        ];
        const how = group[0]!.spec.recommends ? 'with recommended packages' : LEAN;
        steps.push({ kind: 'shell', description: `apt-get install ${args.join(' ')} (${how})`, script: [APT, ...flags, 'install', '--', ...args.map(shq), TO_STDERR].join(' ') });
      }
      if (purges.length > 0) {
        const names = purges.map((d) => d.spec.name);
        // --autoremove: what the package pulled in (automatically installed, now unneeded) goes too.
        steps.push({ kind: 'shell', description: `apt-get purge --autoremove ${names.join(' ')}`, script: `${APT} purge --autoremove -- ${names.map(shq).join(' ')} ${TO_STDERR}` });
      }
      if (unholds.length > 0) steps.push({ kind: 'shell', description: `apt-mark unhold ${unholds.map((d) => d.spec.name).join(' ')}`, script: `apt-mark unhold -- ${unholds.map((d) => shq(d.spec.name)).join(' ')} >/dev/null` });
      if (holds.length > 0) steps.push({ kind: 'shell', description: `apt-mark hold ${holds.map((d) => d.spec.name).join(' ')}`, script: `apt-mark hold -- ${holds.map((d) => shq(d.spec.name)).join(' ')} >/dev/null` });

      const changes: L3Change[] = decisions.map((d) => {
        const have = installed[d.spec.name];
        if (d.verbs.length === 0) return noopChange(ctx, 'apt.package', d.spec.name, d.reason, { state: d.spec.state, ...(have ? { version: have.version } : {}) });
        const before = have ? { version: have.version, held: have.selection === 'hold', status: have.status } : undefined;
        const afterVersion = d.target ?? (d.verbs.includes('install') ? 'candidate' : have?.version);
        const after = d.verbs.includes('purge') ? undefined : { version: afterVersion, held: d.spec.state === 'held' };
        const action = d.verbs.includes('purge') ? 'delete' : have?.status === 'installed' ? 'update' : 'create';
        const mine = steps.filter((s) => s.description.split(' ').includes(d.spec.name) || s.description.startsWith('finish') || s.description.startsWith('refresh'));
        const installs = d.verbs.some((v) => v === 'install' || v === 'upgrade' || v === 'downgrade' || v === 'repair');
        return makeChange(ctx, 'apt.package', d.spec.name, {
          action,
          ...(before ? { before } : {}),
          ...(after ? { after } : {}),
          diff: fieldDiffs(before ?? {}, after ?? {}, ['version', 'held']),
          steps: mine,
          reason: installs ? `${d.reason}; ${d.spec.recommends ? 'with recommended packages (recommends: true)' : LEAN}` : d.reason,
        });
      });

      const predicted: Record<string, DebPackage> = { ...installed };
      for (const d of decisions) {
        if (d.verbs.includes('purge')) delete predicted[d.spec.name];
        else if (d.verbs.length > 0) {
          predicted[d.spec.name] = {
            version: d.target ?? installed[d.spec.name]?.version ?? 'candidate',
            selection: d.spec.state === 'held' ? 'hold' : 'install',
            status: 'installed',
          };
        }
      }
      return result(changes, steps, { predicts: [[debPackagesFact, predicted]], ...(diagnostics.length > 0 ? { diagnostics } : {}) });
    },
  };
}

export interface RepositorySpec {
  readonly name: string;
  readonly uris: readonly string[];
  readonly suites: readonly string[];
  readonly components: readonly string[];
  readonly architectures?: readonly string[];
  /** The signing key as fetched or read by lab, fingerprint already verified. */
  readonly key: { readonly content: Buffer; readonly armored: boolean };
}

export function keyringPath(spec: Pick<RepositorySpec, 'name' | 'key'>): string {
  return `/etc/apt/keyrings/${spec.name}.${spec.key.armored ? 'asc' : 'gpg'}`;
}

export function deb822Source(spec: RepositorySpec): string {
  const lines = [
    '# Managed by lab: changes here are overwritten on the next apply.',
    'Types: deb',
    `URIs: ${spec.uris.join(' ')}`,
    `Suites: ${spec.suites.join(' ')}`,
    `Components: ${spec.components.join(' ')}`,
    ...(spec.architectures?.length ? [`Architectures: ${spec.architectures.join(' ')}`] : []),
    `Signed-By: ${keyringPath(spec)}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** A deb822 source with its own signing key (Signed-By), then `apt-get update` when either changed. */
export function repositoryOp(ctx: OpContext, spec: RepositorySpec): Operation {
  const sourcePath = `/etc/apt/sources.list.d/${spec.name}.sources`;
  const keyPath = keyringPath(spec);
  const sourceFact = pathFact(sourcePath);
  const keyFact = pathDigestFact(keyPath);
  const source = deb822Source(spec);
  const keyDigest = sha256Buffer(spec.key.content);
  return {
    id: `apt.repository[${spec.name}]`,
    facts: [sourceFact, keyFact, aptListsFact],
    plan(facts) {
      const src = facts.get(sourceFact);
      const key = facts.get(keyFact);
      const srcOk = src.exists && src.type === 'file' && src.content === source && src.mode === '0644';
      const keyOk = key.exists && key.type === 'file' && key.sha256 === keyDigest && key.mode === '0644';
      if (srcOk && keyOk) return result([noopChange(ctx, 'apt.repository', spec.name, 'source and signing key match', { uris: spec.uris, suites: spec.suites })]);
      const steps: Step[] = [];
      if (!keyOk) steps.push({ kind: 'write', description: `write ${keyPath}`, path: keyPath, content: spec.key.content, mode: '0644', owner: 'root', group: 'root' });
      if (!srcOk) steps.push({ kind: 'write', description: `write ${sourcePath}`, path: sourcePath, content: source, mode: '0644', owner: 'root', group: 'root' });
      steps.push({ kind: 'shell', description: 'apt-get update', script: `${APT} update ${TO_STDERR}` });
      const before = src.exists ? { source: shortDigest(src.sha256), key: key.exists ? shortDigest(key.sha256) : undefined } : undefined;
      const after = { source: shortDigest(sha256(source)), key: shortDigest(keyDigest) };
      return result(
        [makeChange(ctx, 'apt.repository', spec.name, { action: src.exists ? 'update' : 'create', ...(before ? { before } : {}), after, diff: fieldDiffs(before ?? {}, after, ['source', 'key']), steps })],
        steps,
        {
          predicts: [
            [sourceFact, { exists: true, type: 'file', mode: '0644', owner: 'root', group: 'root', size: source.length, sha256: sha256(source), content: source }],
            [keyFact, { exists: true, type: 'file', mode: '0644', owner: 'root', group: 'root', size: spec.key.content.length, sha256: keyDigest }],
          ],
        },
      );
    },
  };
}

function sha256Buffer(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
