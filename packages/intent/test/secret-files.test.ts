import { afterEach, describe, expect, it } from 'vitest';
import { loadPersona } from '../src/index.js';
import { labError, lines, makeLab, persona } from './_lab.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe('files holding a secret', () => {
  it('refuse a world-readable mode unless allowWorldReadableSecret: true', async () => {
    const l = makeLab({
      'personas/a/persona.yaml': `${persona('a')}os:\n  files:\n    - { path: /etc/t, content: { secret: a/t }, mode: "0644" }\n`,
      'personas/b/persona.yaml': `${persona('b')}os:\n  files:\n    - { path: /etc/t, content: "pw={{ pw }}", template: true, variables: { pw: { secret: b/pw } }, mode: "0604" }\n`,
      'personas/c/persona.yaml': `${persona('c')}os:\n  files:\n    - { path: /etc/t, content: { secret: c/t }, mode: "0644", allowWorldReadableSecret: true }\n    - { path: /etc/u, content: { secret: c/u } }\n    - { path: /etc/v, content: { secret: c/v }, mode: "0640" }\n`,
    });
    cleanups.push(l.cleanup);
    expect(lines(await labError(() => loadPersona(l.root, 'a')))).toEqual([
      'personas/a/persona.yaml:11:55 os.files[0].mode: mode 0644 lets every user of the guest read this file, which holds a secret\n  hint: use mode: "0600" (or "0640" and a group), or set allowWorldReadableSecret: true if that is really meant',
    ]);
    expect(lines(await labError(() => loadPersona(l.root, 'b')))[0]).toContain('mode 0604 lets every user of the guest read this file');
    const c = await loadPersona(l.root, 'c');
    expect(c.persona.os.files.map((f) => f.mode)).toEqual(['0644', undefined, '0640']);
  });
});
