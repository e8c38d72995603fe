/**
 * L3 no-op benchmark (figures, not a timed test). Boots N real guests behind the simulator's
 * jump host, converges the reference persona on all of them, then measures:
 *   - lab's no-op check on one guest (warm: open connection; cold: connect through the jump
 *     host + check), and its SSH round trips;
 *   - the same work by ansible-playbook (Debian's ansible, pipelining on, facts off), same run;
 *   - lab's no-op check on all N guests in parallel.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshConnection, SshPool, generateKeyPair } from '@lab/ssh';
import { applyL3, checkL3, forEachHost, type L3Intent } from '@lab/l3-os';
import { startSimGuests, type SimGuest } from '../_sim.js';
import { setupAnsible, type AnsibleRun } from './ansible.js';
import { referenceIntent } from './persona.js';

const say = (s: string) => process.stderr.write(`l3-noop: ${s}\n`);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function ensureAnsible(): boolean {
  try {
    execFileSync('ansible-playbook', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.getuid?.() !== 0) return false;
    say("installing Debian's ansible with apt (once)");
    execFileSync('apt-get', ['install', '-y', '-q', 'ansible'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return true;
  }
}

async function check(pool: SshPool, guest: SimGuest, intent: L3Intent): Promise<{ ms: number; changes: number; roundTrips: number }> {
  const t0 = performance.now();
  const c = await pool.get(guest.target);
  const r = await checkL3(intent, { host: c });
  return { ms: performance.now() - t0, changes: r.plan.changes.filter((x) => x.action !== 'noop').length, roundTrips: r.roundTrips };
}

/** A check from nothing: a new pool, so the jump host and the guest are both dialled. */
async function coldCheck(guest: SimGuest, intent: L3Intent): Promise<number> {
  const pool = new SshPool();
  try {
    return (await check(pool, guest, intent)).ms;
  } finally {
    await pool.closeAll();
  }
}

export async function main(): Promise<number> {
  const n = Math.max(1, Number(process.env.L3_BENCH_GUESTS ?? 10));
  const runs = Math.max(1, Number(process.env.L3_BENCH_RUNS ?? 5));
  const wantAnsible = process.env.L3_BENCH_ANSIBLE !== '0';
  const t0 = performance.now();
  say(`booting ${n} guest(s)`);
  const sim = await startSimGuests(n, 'bench');
  const dir = await mkdtemp(join(tmpdir(), 'lab-l3-bench-'));
  try {
    say(`guests up after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const keys = Array.from({ length: 4 }, (_, i) => generateKeyPair(`bench-user-${i}`).publicKey);
    const intents = sim.guests.map((g) => referenceIntent(g.name, g.name, keys));

    say('converging the reference persona on every guest');
    const tc = performance.now();
    const converged = await forEachHost(
      sim.guests.map((g, i) => ({
        name: g.name,
        run: async () => {
          const c = await SshConnection.open(g.target);
          try {
            return await applyL3(undefined, intents[i]!, { host: c });
          } finally {
            await c.close();
          }
        },
      })),
      n,
    );
    const failed = converged.filter((o) => !o.ok);
    if (failed.length) {
      for (const f of failed) if (!f.ok) say(`${f.name}: ${f.error.format()}`);
      return 1;
    }
    say(`converged in ${((performance.now() - tc) / 1000).toFixed(1)} s`);

    const guest = sim.guests[0]!;
    const intent = intents[0]!;
    const warmConn = await SshConnection.open(guest.target);
    const warm: number[] = [];
    let resources = 0;
    let roundTrips = 0;
    for (let i = 0; i < runs + 1; i++) {
      const r = await checkL3(intent, { host: warmConn });
      if (r.plan.changes.some((x) => x.action !== 'noop')) throw new Error('the reference persona is not converged; the benchmark would be meaningless');
      if (i > 0) warm.push(r.durationMs);
      resources = r.plan.changes.length;
      roundTrips = r.roundTrips;
    }
    const before = warmConn.stats;
    await checkL3(intent, { host: warmConn });
    const execsPerCheck = warmConn.stats.execs - before.execs;
    const tripsPerCheck = warmConn.stats.roundTrips - before.roundTrips;
    await warmConn.close();
    const cold: number[] = [];
    for (let i = 0; i < runs; i++) cold.push(await coldCheck(guest, intent));

    // All guests at once, as `lab check` over every persona does: one pool, so one jump host
    // connection carries every guest's channel.
    const parallel: number[] = [];
    const parallelWarm: number[] = [];
    for (let i = 0; i < runs; i++) {
      const pool = new SshPool();
      const tp = performance.now();
      const all = await Promise.all(sim.guests.map((g, j) => check(pool, g, intents[j]!)));
      if (all.some((a) => a.changes > 0)) throw new Error('a guest is not converged');
      parallel.push(performance.now() - tp);
      const tw = performance.now();
      await Promise.all(sim.guests.map((g, j) => check(pool, g, intents[j]!)));
      parallelWarm.push(performance.now() - tw);
      await pool.closeAll();
    }

    let ansible: AnsibleRun | undefined;
    let ansibleNote = '';
    if (wantAnsible && ensureAnsible()) {
      const setup = await setupAnsible(join(dir, 'ansible'), guest.target, keys);
      say('ansible-playbook: first run (settles its own sysctl file)');
      const first = await setup.run();
      if (first.code !== 0) {
        say(first.tail);
        ansibleNote = `ansible-playbook failed (exit ${first.code})`;
      } else {
        const measured: AnsibleRun[] = [];
        for (let i = 0; i < Math.min(runs, 3); i++) measured.push(await setup.run());
        ansible = measured.sort((a, b) => a.ms - b.ms)[Math.floor(measured.length / 2)];
        // Counted in a separate run: -vvv costs Ansible extra logging work.
        if (ansible) ansible = { ...ansible, sshExecs: (await setup.run({ count: true })).sshExecs };
        if (ansible && ansible.changed !== 0) ansibleNote = `(ansible reported changed=${ansible.changed} on the measured run)`;
      }
    } else if (wantAnsible) ansibleNote = 'ansible-playbook not available (run as root to install Debian\'s ansible)';

    const warmMs = median(warm);
    const coldMs = median(cold);
    const parMs = median(parallel);
    const parWarmMs = median(parallelWarm);
    const lines = [
      '',
      `L3 no-op check, reference persona (${resources} addresses: 10 packages, 4 users + groups + keys + sudo rules, 5 directories, 8 files, 3 sysctl, 2 sshd lines, 3 services, time zone, and L3's own checks)`,
      `  lab check, warm connection      ${warmMs.toFixed(0).padStart(6)} ms   (median of ${runs}; ${roundTrips} round trip: ${tripsPerCheck} script on the persistent shell, ${execsPerCheck} new channels)`,
      `  lab check, cold                 ${coldMs.toFixed(0).padStart(6)} ms   (median of ${runs}; SSH to the jump host and through it, sudo shell, then 1 round trip)`,
      ansible
        ? `  ansible-playbook (no-op run)    ${String(ansible.ms).padStart(6)} ms   (${ansible.tasks} tasks, ${ansible.sshExecs} SSH round trips, pipelining on, facts off, ControlPersist warm, no -vvv; executions counted in a separate -vvv run) ${ansibleNote}`
        : `  ansible-playbook                (skipped: ${ansibleNote || 'L3_BENCH_ANSIBLE=0'})`,
      ...(ansible ? [`  ratio ansible / lab            ${(ansible.ms / coldMs).toFixed(1).padStart(6)} x cold, ${(ansible.ms / warmMs).toFixed(1)} x warm   (goal ≥ 25x, lab ≤ 500 ms)`] : []),
      `  lab check, ${n} guests in parallel, cold ${parMs.toFixed(0).padStart(6)} ms   (median of ${runs}; ${(parMs / coldMs).toFixed(2)} x one guest cold; goal ≤ 2x)`,
      `  lab check, ${n} guests in parallel, warm ${parWarmMs.toFixed(0).padStart(6)} ms   (connections open; ${(parWarmMs / warmMs).toFixed(2)} x one guest warm)`,
      `  machine: ${cpus().length} CPU cores; guests, jump host and lab share them`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
    return 0;
  } finally {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}
