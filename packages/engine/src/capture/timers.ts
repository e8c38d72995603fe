import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defineCommand } from 'citty';
import { ExitCode } from '@lab/core';
import { loadLab, type Lab, type LoadedPersona } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';

/** One scheduled capture job of a persona, run on the machine that runs lab. */
export interface CaptureJob {
  readonly unit: string;
  readonly description: string;
  readonly calendar: string;
  readonly argv: readonly string[];
}

/** The jobs a persona's `capture:` schedules declare: data, replication, restore drill, VM backup. */
export function captureJobs(p: LoadedPersona): CaptureJob[] {
  const c = p.persona.capture;
  if (!c) return [];
  const jobs: CaptureJob[] = [];
  const job = (kind: string, description: string, calendar: string, argv: string[]) => jobs.push({ unit: `lab-${kind}-${p.name}`, description: `${description} of ${p.name}`, calendar, argv });
  if (c.enabled && c.paths.length > 0) {
    job('capture', 'lab capture data: restic backup', c.schedule, ['capture', 'data', '--persona', p.name]);
    if (c.replicate) job('replicate', 'lab capture replicate: copy to the second repository', c.replicate.schedule, ['capture', 'replicate', '--persona', p.name]);
    if (c.restoreDrill) job('verify', 'lab capture verify: restore drill', c.restoreDrill.schedule, ['capture', 'verify', '--persona', p.name]);
  }
  if (c.vm?.enabled) job('capture-vm', 'lab capture vm: vzdump', c.vm.schedule, ['capture', 'vm', '--persona', p.name, '-y']);
  return jobs;
}

const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/**
 * systemd units for one job: the schedules run where the lab runs (the repository of a `local`
 * restic repository is there, and lab reaches the guests through the lab's SSH), never in the
 * guest. `Persistent=true` catches up a run missed while the machine was off.
 */
export function renderJobUnits(lab: Lab, job: CaptureJob, labCommand: string): { service: string; timer: string } {
  const service = [
    '[Unit]',
    `Description=${job.description}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    `WorkingDirectory=${lab.root}`,
    `ExecStart=${labCommand} ${job.argv.map(quote).join(' ')}`,
    '',
  ].join('\n');
  const timer = ['[Unit]', `Description=${job.description} (schedule)`, '', '[Timer]', `OnCalendar=${job.calendar}`, 'RandomizedDelaySec=5m', 'Persistent=true', '', '[Install]', 'WantedBy=timers.target', ''].join('\n');
  return { service, timer };
}

/** `lab capture timers [--out dir]`: the capture schedules of every persona as systemd timers. */
export const captureTimersCommand = defineCommand({
  meta: { name: 'timers', description: 'Write systemd timers that run each persona’s capture schedules (data, replicate, verify, vm)' },
  args: {
    ...globalArgs,
    persona: { type: 'string', description: 'Only this persona (comma-separated for several)', valueHint: 'name' },
    out: { type: 'string', description: 'Write the units into this directory (e.g. /etc/systemd/system); default: list them', valueHint: 'dir' },
    lab: { type: 'string', description: 'The lab command in ExecStart', default: '/usr/local/bin/lab', valueHint: 'path' },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const lab = await loadLab(ctx.root());
    const wanted = args.persona ? new Set(args.persona.split(',').map((s) => s.trim())) : undefined;
    const jobs = lab.personas.filter((p) => !wanted || wanted.has(p.name)).flatMap((p) => captureJobs(p));
    if (ctx.json) ctx.io.out(JSON.stringify(jobs, null, 2));
    if (!args.out) {
      if (!ctx.json) for (const j of jobs) ctx.io.out(`${j.unit.padEnd(32)} ${j.calendar.padEnd(16)} lab ${j.argv.join(' ')}`);
      if (!ctx.json) ctx.io.err(`${jobs.length} job(s); write them with --out /etc/systemd/system, then: systemctl daemon-reload && systemctl enable --now ${jobs.map((j) => `${j.unit}.timer`).join(' ') || '…'}`);
      return ExitCode.Ok;
    }
    const dir = resolve(args.out);
    await mkdir(dir, { recursive: true });
    for (const j of jobs) {
      const u = renderJobUnits(lab, j, args.lab);
      await writeFile(join(dir, `${j.unit}.service`), u.service);
      await writeFile(join(dir, `${j.unit}.timer`), u.timer);
    }
    if (!ctx.json) ctx.io.err(`wrote ${jobs.length * 2} unit(s) to ${dir}; then: systemctl daemon-reload && systemctl enable --now ${jobs.map((j) => `${j.unit}.timer`).join(' ')}`);
    return ExitCode.Ok;
  },
});
