import { defineCommand } from 'citty';
import { ExitCode } from '@lab/core';
import { captureJobs, writeJobUnits } from '@lab/engine';
import { loadLab } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';

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
    const dir = await writeJobUnits(lab, jobs, args.out, args.lab);
    if (!ctx.json) ctx.io.err(`wrote ${jobs.length * 2} unit(s) to ${dir}; then: systemctl daemon-reload && systemctl enable --now ${jobs.map((j) => `${j.unit}.timer`).join(' ')}`);
    return ExitCode.Ok;
  },
});
