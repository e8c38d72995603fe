// Whole-process timing for the benches (adr/0185): wall time from spawn to exit, and the CPU
// time (user + system) the child and its own children used, from /proc/self/stat (cutime,
// cstime: children already waited for, in clock ticks of 10 ms). On a loaded machine wall time
// mostly measures the queue for a core; CPU time is what the program costs.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';

const TICK_MS = 10;

function childCpuTicks() {
  try {
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[13]) + Number(rest[14]); // cutime + cstime (fields 16, 17)
  } catch {
    return NaN;
  }
}

/** Run `cmd args` to completion; { ms, cpuMs, code, stdout, stderr }. */
export function runTimed(cmd, args, options = {}) {
  const c0 = childCpuTicks();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, cpuMs: (childCpuTicks() - c0) * TICK_MS, code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
