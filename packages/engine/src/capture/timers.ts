import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Lab, LoadedPersona } from '@lab/intent';

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
  if (c.vm?.enabled) job('capture-vm', 'lab capture vm: vzdump', c.vm.schedule, ['capture', 'vm', '--persona', p.name]);
  return jobs;
}

const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** systemd expands `%x` specifiers in these lines; a literal `%` is written `%%`. */
const specifierSafe = (s: string): string => s.replace(/%/g, '%%');

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
    `WorkingDirectory=${specifierSafe(lab.root)}`,
    `ExecStart=${specifierSafe(`${labCommand} ${job.argv.map(quote).join(' ')}`)}`,
    '',
  ].join('\n');
  const timer = ['[Unit]', `Description=${job.description} (schedule)`, '', '[Timer]', `OnCalendar=${job.calendar}`, 'RandomizedDelaySec=5m', 'Persistent=true', '', '[Install]', 'WantedBy=timers.target', ''].join('\n');
  return { service, timer };
}

/**
 * Write each job's `.service` and `.timer` into `dir` (created when missing); resolves to the
 * absolute directory written.
 */
export async function writeJobUnits(lab: Lab, jobs: readonly CaptureJob[], dir: string, labCommand: string): Promise<string> {
  const out = resolve(dir);
  await mkdir(out, { recursive: true });
  for (const j of jobs) {
    const u = renderJobUnits(lab, j, labCommand);
    await writeFile(join(out, `${j.unit}.service`), u.service);
    await writeFile(join(out, `${j.unit}.timer`), u.timer);
  }
  return out;
}
