import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLab, loadPersona, loadSite } from '../src/index.js';
import { labError, lines, persona, SITE, tempLabs, VM } from './_lab.js';

/** adr/0165: every loader refuses oversized, explosive or out-of-repository input at once, at file:line:col. */

const { lab } = tempLabs();

function bomb(levels: number, width: number): string {
  let s = `a0: &a0 "${'x'.repeat(100)}"\n`;
  for (let i = 1; i < levels; i++) s += `a${i}: &a${i} [${Array.from({ length: width }, () => `*a${i - 1}`).join(', ')}]\n`;
  return s;
}

describe('loader limits', () => {
  it('refuses a billion-laughs alias bomb in a persona and in lab.yaml, fast', async () => {
    const root = lab({ 'personas/media/persona.yaml': `${persona('media')}description: *a9\n${bomb(10, 10)}`.replace(/^description: \*a9\n(.*)$/s, '$1description: *a9\n') });
    const t0 = process.cpuUsage();
    const e = await labError(() => loadPersona(root, 'media'));
    expect(lines(e).join('\n')).toMatch(/persona\.yaml:\d+:\d+ .*more than 100 alias uses \(\*name\)\n  hint: YAML aliases/);
    const site = lab({ 'lab.yaml': `${SITE}${bomb(10, 10)}x: *a9\n` });
    const e2 = await labError(() => loadSite(site));
    expect(lines(e2).join('\n')).toMatch(/^lab\.yaml:\d+:\d+ .*alias uses/m);
    const used = process.cpuUsage(t0);
    expect((used.user + used.system) / 1e6).toBeLessThan(2);
  });

  it('refuses a file over the size limit before parsing it', async () => {
    const root = lab({ 'personas/media/persona.yaml': `${persona('media')}description: "${'y'.repeat(300 * 1024)}"\n` });
    const e = await labError(() => loadPersona(root, 'media'));
    expect(lines(e)).toEqual(['personas/media/persona.yaml:1:1 personas/media/persona.yaml is 301 KiB, over the limit of 256 KiB\n  hint: split the file, or move large content into a file referenced by source:']);
  });

  it('refuses a long string, a huge map and deep nesting at their place', async () => {
    const root = lab({
      'personas/a/persona.yaml': `${persona('a')}description: "${'y'.repeat(70_000)}"\n`,
      'personas/b/persona.yaml': `${persona('b')}os:\n  sysctl:\n${Array.from({ length: 1500 }, (_, i) => `    k.k${i}: 1`).join('\n')}\n`,
      'personas/c/persona.yaml': `${persona('c')}deep: ${'['.repeat(50)}${']'.repeat(50)}\n`,
    });
    expect(lines(await labError(() => loadPersona(root, 'a')))[0]).toMatch(/^personas\/a\/persona\.yaml:9:14 description: a string of 70000 characters, over the limit of 64 KiB\n  hint: put long content in a file/);
    expect(lines(await labError(() => loadPersona(root, 'b')))[0]).toMatch(/^personas\/b\/persona\.yaml:11:5 os\.sysctl: a map with 1500 keys, over the limit of 1000/);
    expect(lines(await labError(() => loadPersona(root, 'c'))).join('\n')).toMatch(/^personas\/c\/persona\.yaml:9:\d+ deep.*: the document is nested more than 32 levels deep\n  hint: /m);
  });

  it('reports an unclosed flow sequence where the bracket opens', async () => {
    const root = lab({ 'personas/media/persona.yaml': `name: media\nos:\n  packages: [htop, curl\n  timezone: UTC\n${VM}` });
    const e = await labError(() => loadPersona(root, 'media'));
    expect(lines(e)).toEqual(['personas/media/persona.yaml:3:13 os.packages: YAML syntax error: unclosed flow sequence: this [ has no matching ]\n  hint: close it with ] before the line ends, or write the list one "- item" per line']);
  });

  it('refuses control characters, raw or escaped, and never prints them', async () => {
    const root = lab({
      'personas/a/persona.yaml': `${persona('a')}description: "bell\u0007"\n`,
      'personas/b/persona.yaml': `${persona('b')}description: "clear \\e[2J"\n`,
      'personas/c/persona.yaml': `${persona('c')}"\\e[31mred": 1\n`,
    });
    const a = lines(await labError(() => loadPersona(root, 'a')));
    expect(a).toEqual(['personas/a/persona.yaml:9:19 the file contains the control character U+0007\n  hint: remove it; in a value that needs it, write a double-quoted YAML escape such as "\\t"']);
    expect(lines(await labError(() => loadPersona(root, 'b')))).toEqual(['personas/b/persona.yaml:9:14 description: the value holds a control character\n  hint: remove it; only file content: may hold control characters']);
    const c = lines(await labError(() => loadPersona(root, 'c'))).join('\n');
    expect(c).toContain('a key holds a control character');
    // eslint-disable-next-line no-control-regex
    expect([...a, c].join('\n')).not.toMatch(/[\u0000-\u0008\u000B-\u001F\u007F]/);
  });

  it('never reads a mixin or file outside the repository, a device, or past a symlink out', async () => {
    const root = lab({
      'personas/a/persona.yaml': `${persona('a')}include: [_mixins/zero.yaml]\n`,
      'personas/b/persona.yaml': `${persona('b')}include: [../../../etc/passwd.yaml]\n`,
      'personas/c/persona.yaml': `${persona('c')}include: [_mixins/out.yaml]\n`,
      'personas/d/persona.yaml': `${persona('d')}os:\n  files:\n    - { path: /etc/x, source: leak.conf }\n`,
      'personas/_mixins/README': 'shared files\n',
    });
    symlinkSync('/dev/zero', join(root, 'personas/_mixins/zero.yaml'));
    symlinkSync('/etc/hostname', join(root, 'personas/_mixins/out.yaml'));
    symlinkSync('/etc/hostname', join(root, 'personas/d/leak.conf'));
    const t0 = process.cpuUsage();
    expect(lines(await labError(() => loadPersona(root, 'a')))).toEqual([
      'personas/a/persona.yaml:9:11 include[0]: cannot include "_mixins/zero.yaml": personas/_mixins/zero.yaml leads outside the lab repository (a symlink out)\n  hint: replace personas/_mixins/zero.yaml with a regular file inside the repository (lab never follows a link out of it)',
    ]);
    expect(lines(await labError(() => loadPersona(root, 'b')))[0]).toMatch(/^personas\/b\/persona\.yaml:9:11 include\[0\]: cannot include "\.\.\/\.\.\/\.\.\/etc\/passwd\.yaml"/);
    expect(lines(await labError(() => loadPersona(root, 'c')))[0]).toContain('leads outside the lab repository');
    expect(lines(await labError(() => loadPersona(root, 'd')))[0]).toMatch(/^personas\/d\/persona\.yaml:11:\d+ os\.files\[0\]\.source: source file personas\/d\/leak\.conf leads outside the lab repository/);
    const used = process.cpuUsage(t0);
    expect((used.user + used.system) / 1e6).toBeLessThan(2);
  });

  it('refuses a device inside the repository and a FIFO', async () => {
    const root = lab({ 'personas/a/persona.yaml': `${persona('a')}include: [_mixins/dev.yaml]\n`, 'personas/_mixins/README': 'shared files\n' });
    // Inside the repository, but not a regular file: reading it would block forever.
    const { mkfifoSync } = await import('./_fifo.js');
    mkfifoSync(join(root, 'personas/_mixins/dev.yaml'));
    expect(lines(await labError(() => loadPersona(root, 'a')))[0]).toContain('is not a regular file');
  });

  it('bounds include chains and include counts', async () => {
    const files: Record<string, string> = { 'personas/a/persona.yaml': `${persona('a')}include: [_mixins/c0.yaml]\n` };
    for (let i = 0; i < 12; i++) files[`personas/_mixins/c${i}.yaml`] = i < 11 ? `include: [_mixins/c${i + 1}.yaml]\n` : 'os: { packages: [htop] }\n';
    files['personas/b/persona.yaml'] = `${persona('b')}include:\n${Array.from({ length: 40 }, (_, i) => `  - _mixins/m${i}.yaml`).join('\n')}\n`;
    for (let i = 0; i < 40; i++) files[`personas/_mixins/m${i}.yaml`] = `os: { packages: [p${i}] }\n`;
    const root = lab(files);
    expect(lines(await labError(() => loadPersona(root, 'a'))).join('\n')).toMatch(/include\[0\]: includes nest more than 8 files deep/);
    expect(lines(await labError(() => loadPersona(root, 'b'))).join('\n')).toMatch(/include\[32\]: more than 32 files included/);
  });

  it('reports what lab.yaml\'s parser finds even when a tree came out (merge keys, unknown aliases)', async () => {
    const root = lab({ 'lab.yaml': `${SITE}domain: *nothing\n` });
    expect(lines(await labError(() => loadLab(root))).join('\n')).toMatch(/^lab\.yaml:\d+:9 domain: unknown alias \*nothing\n  hint: define the anchor/m);
    writeFileSync(join(root, 'lab.yaml'), `${SITE}x: &x { a: 1 }\ny:\n  <<: *x\n`);
    expect(lines(await labError(() => loadSite(root))).join('\n')).toContain('YAML merge keys (<<) are not supported');
  });

  it('refuses a list in one file where another file has a map', async () => {
    const root = lab({
      'personas/_mixins/m.yaml': 'os:\n  files:\n    path: /etc/x\n    content: hi\n',
      'personas/a/persona.yaml': `${persona('a')}include: [_mixins/m.yaml]\nos:\n  files:\n    - { path: /etc/y, content: yo }\n`,
    });
    expect(lines(await labError(() => loadPersona(root, 'a'))).join('\n')).toMatch(/os\.files: a list here, but a map in personas\/_mixins\/m\.yaml:3:5/);
  });
});
