import type { Secret } from '@lab/core';
import { shq } from '@lab/ssh';
import { groupFact, passwdFact, shadowDigestFact, type GroupEntry, type PasswdEntry } from '../facts/accounts.js';
import type { Fact } from '../facts/fact.js';
import { fieldDiffs, makeChange, noopChange, result, sha256 as sha, type OpContext, type Operation, type Step } from './operation.js';

export interface GroupSpec {
  readonly name: string;
  readonly gid?: number;
  readonly system: boolean;
  readonly state: 'present' | 'absent';
}

export function groupOp(ctx: OpContext, spec: GroupSpec): Operation {
  return {
    id: `group[${spec.name}]`,
    facts: [groupFact],
    plan(facts) {
      const groups = facts.get(groupFact);
      const have = groups[spec.name];
      const n = shq(spec.name);
      if (spec.state === 'absent') {
        if (!have) return result([noopChange(ctx, 'group', spec.name, 'absent as declared')]);
        const steps: Step[] = [{ kind: 'shell', description: `groupdel ${spec.name}`, script: `groupdel -- ${n}` }];
        const rest = { ...groups };
        delete rest[spec.name];
        return result([makeChange(ctx, 'group', spec.name, { action: 'delete', before: { gid: have.gid }, steps })], steps, { predicts: [[groupFact, rest]] });
      }
      if (have && (spec.gid === undefined || have.gid === spec.gid)) return result([noopChange(ctx, 'group', spec.name, `exists (gid ${have.gid})`, { gid: have.gid })]);
      const script = have
        ? `groupmod -g ${spec.gid} -- ${n}`
        : ['groupadd', ...(spec.system ? ['--system'] : []), ...(spec.gid !== undefined ? ['-g', String(spec.gid)] : []), '--', n].join(' ');
      const steps: Step[] = [{ kind: 'shell', description: `${have ? 'groupmod' : 'groupadd'} ${spec.name}`, script }];
      // An id the system will choose is unknown until then: NaN equals nothing, not even another unknown.
      const predicted: GroupEntry = { gid: spec.gid ?? have?.gid ?? Number.NaN, members: have?.members ?? [] };
      return result(
        [makeChange(ctx, 'group', spec.name, { action: have ? 'update' : 'create', ...(have ? { before: { gid: have.gid } } : {}), after: { gid: spec.gid ?? '(next free)' }, diff: fieldDiffs(have ? { gid: have.gid } : {}, { gid: spec.gid }, ['gid']), steps })],
        steps,
        { predicts: [[groupFact, { ...groups, [spec.name]: predicted }]] },
      );
    },
  };
}

export interface UserSpec {
  readonly name: string;
  readonly uid?: number;
  readonly comment?: string;
  readonly groups: readonly string[];
  readonly shell: string;
  readonly home: string;
  readonly passwordHash?: Secret<string>;
  readonly system: boolean;
  readonly state: 'present' | 'absent';
}

/** Supplementary groups of a user as /etc/group lists them (primary group excluded). */
export function supplementaryGroups(groups: Readonly<Record<string, GroupEntry>>, user: string, primaryGid: number | undefined): string[] {
  return Object.entries(groups)
    .filter(([, g]) => g.members.includes(user) && g.gid !== primaryGid)
    .map(([name]) => name)
    .sort();
}

/**
 * A local account. Supplementary groups are the exact declared set (a group removed from the
 * persona is left by the user). A password hash is compared by digest only: the hash never
 * leaves the guest in facts and is set through chpasswd's stdin, never a command line.
 */
export function userOp(ctx: OpContext, spec: UserSpec): Operation {
  const shadow = spec.passwordHash ? shadowDigestFact(spec.name) : undefined;
  const facts: Fact<unknown>[] = [passwdFact, groupFact, ...(shadow ? [shadow] : [])];
  const n = shq(spec.name);
  return {
    id: `user[${spec.name}]`,
    facts,
    plan(f) {
      const users = f.get(passwdFact);
      const groups = f.get(groupFact);
      const have = users[spec.name];
      if (spec.state === 'absent') {
        if (!have) return result([noopChange(ctx, 'user', spec.name, 'absent as declared')]);
        const steps: Step[] = [{ kind: 'shell', description: `userdel ${spec.name} (home kept)`, script: `userdel -- ${n}` }];
        const rest = { ...users };
        delete rest[spec.name];
        return result([makeChange(ctx, 'user', spec.name, { action: 'delete', before: { uid: have.uid, home: have.home }, steps })], steps, { predicts: [[passwdFact, rest]] });
      }
      // The primary group is not a supplementary one, even when the persona lists it.
      const primaryName = have ? Object.entries(groups).find(([, g]) => g.gid === have.gid)?.[0] : spec.name;
      const wantGroups = [...new Set(spec.groups)].filter((g) => g !== primaryName).sort();
      const want = {
        ...(spec.uid === undefined ? {} : { uid: spec.uid }),
        comment: spec.comment ?? (have ? have.comment : ''),
        shell: spec.shell,
        home: spec.home,
        groups: wantGroups,
      };
      const passwordDigest = spec.passwordHash ? sha(spec.passwordHash.reveal()) : undefined;
      const passwordOk = !shadow || (have !== undefined && f.get(shadow) === passwordDigest);
      const steps: Step[] = [];
      let diff;
      if (!have) {
        const primary = groups[spec.name] ? ['-g', n] : ['-U'];
        const args = [
          'useradd',
          ...(spec.system ? ['--system'] : []),
          spec.system ? '-M' : '-m',
          ...primary,
          '-d', shq(spec.home),
          '-s', shq(spec.shell),
          ...(spec.uid === undefined ? [] : ['-u', String(spec.uid)]),
          ...(spec.comment ? ['-c', shq(spec.comment)] : []),
          ...(wantGroups.length ? ['-G', shq(wantGroups.join(','))] : []),
          '--', n,
        ];
        steps.push({ kind: 'shell', description: `useradd ${spec.name}`, script: args.join(' ') });
        diff = fieldDiffs({}, want, ['uid', 'comment', 'shell', 'home', 'groups']);
      } else {
        const current = { uid: have.uid, comment: have.comment, shell: have.shell, home: have.home, groups: supplementaryGroups(groups, spec.name, have.gid) };
        diff = fieldDiffs(spec.uid === undefined ? { ...current, uid: undefined } : current, want, ['uid', 'comment', 'shell', 'home', 'groups']);
        const mod: string[] = [];
        for (const d of diff) {
          if (d.path === 'uid') mod.push('-u', String(spec.uid));
          if (d.path === 'comment') mod.push('-c', shq(want.comment));
          if (d.path === 'shell') mod.push('-s', shq(spec.shell));
          if (d.path === 'home') mod.push('-d', shq(spec.home), '-m');
          if (d.path === 'groups') mod.push('-G', shq(wantGroups.join(',')));
        }
        if (mod.length) steps.push({ kind: 'shell', description: `usermod ${spec.name}`, script: ['usermod', ...mod, '--', n].join(' ') });
      }
      if (!passwordOk && spec.passwordHash) {
        diff = [...diff, { path: 'password', before: have ? '(other)' : undefined, after: '(declared hash)', sensitive: true }];
        // printf is a bash builtin: the hash travels on the script's stdin, never in argv.
        steps.push({ kind: 'shell', description: `set password of ${spec.name}`, script: `printf '%s:%s\\n' ${n} ${shq(spec.passwordHash.reveal())} | chpasswd -e` });
      }
      if (steps.length === 0) return result([noopChange(ctx, 'user', spec.name, 'account matches', { uid: have?.uid, groups: wantGroups })]);
      const predictedUser: PasswdEntry = { uid: spec.uid ?? have?.uid ?? Number.NaN, gid: have?.gid ?? groups[spec.name]?.gid ?? Number.NaN, comment: want.comment, home: spec.home, shell: spec.shell };
      const predictedGroups: Record<string, GroupEntry> = {};
      for (const [g, e] of Object.entries(groups)) {
        const members = e.members.filter((m) => m !== spec.name);
        predictedGroups[g] = { ...e, members: wantGroups.includes(g) ? [...members, spec.name] : members };
      }
      if (!groups[spec.name]) predictedGroups[spec.name] = { gid: predictedUser.gid, members: [] };
      return result(
        [makeChange(ctx, 'user', spec.name, { action: have ? 'update' : 'create', ...(have ? { before: { uid: have.uid, shell: have.shell, home: have.home } } : {}), after: want, diff, steps, sensitivePaths: ['password'] })],
        steps,
        {
          predicts: [
            [passwdFact, { ...users, [spec.name]: predictedUser }],
            [groupFact, predictedGroups],
            ...(shadow ? ([[shadow, passwordDigest]] as const) : []),
          ],
        },
      );
    },
  };
}
