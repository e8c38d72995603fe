import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lab, WORKSPACE } from './_harness.js';

describe('lab capture timers', () => {
  it('lists each persona’s capture schedules as jobs', async () => {
    const r = await lab('capture', 'timers', '--json', '--root', WORKSPACE);
    expect(r.code, r.stderr).toBe(0);
    const jobs = JSON.parse(r.stdout) as { unit: string; calendar: string; argv: string[] }[];
    // identity: data every six hours, a weekly drill, Sunday VM backups (personas/identity/persona.yaml).
    expect(jobs.filter((j) => j.unit.endsWith('-identity'))).toEqual([
      { unit: 'lab-capture-identity', description: 'lab capture data: restic backup of identity', calendar: '*-*-* 00/6:00', argv: ['capture', 'data', '--persona', 'identity'] },
      { unit: 'lab-verify-identity', description: 'lab capture verify: restore drill of identity', calendar: 'weekly', argv: ['capture', 'verify', '--persona', 'identity'] },
      { unit: 'lab-capture-vm-identity', description: 'lab capture vm: vzdump of identity', calendar: 'Sun 01:00', argv: ['capture', 'vm', '--persona', 'identity'] },
    ]);
    // A persona without a capture section has no job.
    expect(jobs.some((j) => j.unit.endsWith('-tinker'))).toBe(false);
  });

  it('writes a service and a timer per job, with the schedule as OnCalendar', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lab-timers-'));
    const r = await lab('capture', 'timers', '--persona', 'media', '--out', out, '--lab', '/opt/lab/bin/lab', '--root', WORKSPACE);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['lab-capture-media.service', 'lab-capture-media.timer', 'lab-capture-vm-media.service', 'lab-capture-vm-media.timer', 'lab-verify-media.service', 'lab-verify-media.timer']);
    expect(readFileSync(join(out, 'lab-capture-media.timer'), 'utf8')).toContain('OnCalendar=*-*-* 03:30\n');
    expect(readFileSync(join(out, 'lab-capture-media.service'), 'utf8')).toContain(`WorkingDirectory=${resolve(WORKSPACE)}\nExecStart=/opt/lab/bin/lab capture data --persona media\n`);
  });
});
