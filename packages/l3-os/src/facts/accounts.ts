import { shq } from '@lab/ssh';
import type { Fact } from './fact.js';

export interface PasswdEntry {
  readonly uid: number;
  readonly gid: number;
  readonly comment: string;
  readonly home: string;
  readonly shell: string;
}

export interface GroupEntry {
  readonly gid: number;
  readonly members: readonly string[];
}

export const passwdFact: Fact<Readonly<Record<string, PasswdEntry>>> = {
  name: 'passwd',
  command: 'getent passwd',
  parse(stdout) {
    const out: Record<string, PasswdEntry> = {};
    for (const line of stdout.split('\n')) {
      const [name, , uid, gid, comment = '', home = '', shell = ''] = line.split(':');
      if (!name || uid === undefined) continue;
      out[name] = { uid: Number(uid), gid: Number(gid), comment, home, shell };
    }
    return out;
  },
  empty: {},
};

export const groupFact: Fact<Readonly<Record<string, GroupEntry>>> = {
  name: 'group',
  command: 'getent group',
  parse(stdout) {
    const out: Record<string, GroupEntry> = {};
    for (const line of stdout.split('\n')) {
      const [name, , gid, members = ''] = line.split(':');
      if (!name || gid === undefined) continue;
      out[name] = { gid: Number(gid), members: members.split(',').filter(Boolean) };
    }
    return out;
  },
  empty: {},
};

/**
 * sha256 of a user's password field in /etc/shadow: enough to tell whether it matches the
 * declared hash, without the hash itself ever leaving the guest. `null`: no such user.
 */
export function shadowDigestFact(user: string): Fact<string | null> {
  return {
    name: 'shadow.digest',
    arg: user,
    command: `s=$(getent shadow ${shq(user)}) || return 3\ns=\${s#*:}\nprintf '%s' "\${s%%:*}" | sha256sum | cut -c1-64`,
    parse: (stdout, code) => (code === 3 ? null : stdout.trim()),
    empty: null,
  };
}
