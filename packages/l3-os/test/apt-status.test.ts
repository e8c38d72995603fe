import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeAptStatus, isAptStatusLine, lineSplitter, parseAptStatusLine, type AptStatus } from '../src/apply/_apt-status.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures/apt-status', name), 'utf8');

describe('apt status records (APT::Status-Fd)', () => {
  it.each<[string, AptStatus | undefined]>([
    ['dlstatus:7:86.7990:Retrieving file 7 of 12', { kind: 'download', item: 7, percent: 86.799, message: 'Retrieving file 7 of 12' }],
    ['pmstatus:libonig5:7.6923:Unpacking libonig5 (amd64)', { kind: 'package', package: 'libonig5', percent: 7.6923, message: 'Unpacking libonig5 (amd64)' }],
    ['pmstatus:dpkg-exec:0.0000:Running dpkg', { kind: 'package', package: 'dpkg-exec', percent: 0, message: 'Running dpkg' }],
    ['pmerror:/var/cache/apt/archives/x_1_amd64.deb:50.0000:trying to overwrite /usr/bin/x: owned by y', { kind: 'error', package: '/var/cache/apt/archives/x_1_amd64.deb', percent: 50, message: 'trying to overwrite /usr/bin/x: owned by y' }],
    ["pmconffile:/etc/ssh/sshd_config:40.0000:'/etc/ssh/sshd_config' '/etc/ssh/sshd_config.dpkg-new' 1 1", { kind: 'conffile', file: '/etc/ssh/sshd_config', percent: 40, message: "'/etc/ssh/sshd_config' '/etc/ssh/sshd_config.dpkg-new' 1 1" }],
    ['media-change:Debian 12:/media/cdrom:Please insert the disc', { kind: 'media-change', message: 'Please insert the disc' }],
    // dpkg's database counter has no newline before the record.
    ['(Reading database ... 95%pmstatus:libonig5:0.0000:Preparing libonig5 (amd64)', { kind: 'package', package: 'libonig5', percent: 0, message: 'Preparing libonig5 (amd64)' }],
    ['pmstatus:jq:92.3077:Installed jq (amd64)\r', { kind: 'package', package: 'jq', percent: 92.3077, message: 'Installed jq (amd64)' }],
    ['Unpacking jq (1.6-2.1+deb12u3) ...', undefined],
    ['dlstatus:x:1:not a number', undefined],
    ['pmstatus:jq:abc:bad percent', undefined],
  ])('%s', (line, want) => {
    expect(parseAptStatusLine(line)).toEqual(want);
    expect(isAptStatusLine(line)).toBe(want !== undefined || /status:|error:/.test(line));
  });

  it('reads a real update + install + purge on Debian 12 (stderr and stdout mixed), in order, percentages rising', () => {
    const records = fixture('update-install-purge-jq.txt').split('\n').map(parseAptStatusLine).filter((r) => r !== undefined);
    const install = records.filter((r) => r.kind === 'package');
    expect(records.filter((r) => r.kind === 'download').length).toBeGreaterThan(50);
    expect(install.map((r) => (r.kind === 'package' ? r.message : '')).filter((m) => /^Installed /.test(m))).toEqual(['Installed libonig5 (amd64)', 'Installed libjq1 (amd64)', 'Installed jq (amd64)']);
    const untilPurge = install.slice(0, install.findIndex((r) => r.kind === 'package' && r.message === 'Installed jq (amd64)') + 1);
    const pcts = untilPurge.map((r) => ('percent' in r ? r.percent : -1));
    expect(pcts).toEqual([...pcts].sort((a, b) => a - b));
    expect(Math.max(...pcts)).toBeCloseTo(92.3077);
  });

  it('describes records in apt-free words for the live line', () => {
    expect(describeAptStatus({ kind: 'package', package: 'jq', percent: 38.46, message: 'Unpacking jq (amd64)' })).toEqual({ message: 'apt: Unpacking jq', percent: 38.46 });
    expect(describeAptStatus({ kind: 'download', item: 2, percent: 45.3, message: 'Retrieving file 2 of 3' })).toEqual({ message: 'apt: downloading, retrieving file 2 of 3', percent: 45.3 });
  });

  it('joins lines split across chunks', () => {
    const lines: string[] = [];
    const feed = lineSplitter((l) => lines.push(l));
    feed('pmstatus:jq:3');
    feed('8.4615:Unpacking jq (amd64)\npmst');
    feed('atus:jq:46.1538:Installing jq (amd64)\n');
    expect(lines.map(parseAptStatusLine).map((r) => (r && 'percent' in r ? r.percent : undefined))).toEqual([38.4615, 46.1538]);
  });
});
