import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rootCommand } from '../../../packages/cli/src/commands/index.js';
import { createScratchLab } from '../../../packages/cli/src/scratch-lab.js';
import { checkArgv, flagsOf } from '../cli-tree.js';
import { runBlock, sh, shellFor, startSim, WORKSPACE, type Shell } from '../execute.js';
import { parseRunbook, type Runbook } from '../extract.js';
import { labInvocations } from '../lab-argv.js';
import { simControl } from '../sim-control.js';

const DIR = join(WORKSPACE, 'docs/runbooks');
const books: Runbook[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.md') && f !== 'README.md')
  .sort()
  .map((f) => parseRunbook(f, readFileSync(join(DIR, f), 'utf8')));

/**
 * Commands designed (and being built) but not in lab yet, with the options the design gives
 * them. A runbook may name them in `parse` blocks only; once one exists, its real options are
 * checked instead and it can move to a `run` block.
 */
const DESIGNED: Readonly<Record<string, readonly string[]>> = {
  rebuild: ['persona', 'yes', 'y', 'resume', 'unprotect', 'allow-reboot'],
};
const GLOBAL_FLAGS = ['root', 'json', 'verbose', 'v', 'color', 'no-color'];

const parseOnly = new Set<string>();
afterAll(() => {
  if (parseOnly.size > 0) process.stderr.write(`runbooks: parse-checked only (not in lab yet): ${[...parseOnly].sort().map((c) => `lab ${c}`).join(', ')}\n`);
});

describe('the runbook reader (pure)', () => {
  it('reads markers, commands with continuations and heredocs, and expected exit codes', () => {
    const md = [
      '# T',
      '<!-- runbook: run -->',
      '```sh',
      'lab check --layer l0   # exits 2: changes',
      "sed -i 's/a/b/' \\",
      '  lab.yaml',
      "cat > x.yaml <<'EOF'",
      'a: 1 # exit 5 is data, not an expectation',
      'EOF',
      '```',
      '<!-- runbook: parse — needs a guest -->',
      '```sh',
      'lab apply --layer l3 -y',
      '```',
      '```sh',
      'echo unmarked',
      '```',
    ].join('\n');
    const r = parseRunbook('t.md', md);
    expect(r.title).toBe('T');
    expect(r.unmarked).toEqual([15]);
    expect(r.blocks.map((b) => [b.mode, b.reason])).toEqual([['run', ''], ['parse', 'needs a guest']]);
    expect(r.blocks[0]!.commands.map((c) => [c.line, c.expect])).toEqual([[4, [2]], [5, [0]], [7, [0]]]);
    expect(r.blocks[0]!.commands[2]!.text.split('\n')).toHaveLength(3);
  });

  it('finds lab invocations in pipes, substitutions and after assignments, without expanding', () => {
    expect(labInvocations('head -c 24 /dev/urandom | base64 | lab secret set media/x')).toEqual([['secret', 'set', 'media/x']]);
    expect(labInvocations('LAB_AGE_KEY_FILE=~/k lab secret get a/b > /dev/null')).toEqual([['secret', 'get', 'a/b', '/dev/null']]);
    expect(labInvocations('echo "$(lab capture snapshots --persona x --json)" && lab log')).toEqual([['capture', 'snapshots', '--persona', 'x', '--json'], ['log']]);
    expect(labInvocations('sed -i "/^  recipients:/a\\    - $(cat k.pub) # colleague" lab.yaml')).toEqual([]);
    expect(labInvocations("cat > f <<'EOF'\nlab apply\nEOF")).toEqual([]);
    expect(labInvocations('lab apply --persona x \\\n  --layer l2 -y   # a comment | lab nope\nlab log')).toEqual([['apply', '--persona', 'x', '--layer', 'l2', '-y'], ['log']]);
    expect(flagsOf(['apply', '--layer=l2', '-y', '--persona', 'media', '--', '--x'])).toEqual(['layer', 'y', 'persona']);
  });
});

describe('runbooks: shape and commands', () => {
  it('cover the six jobs, and every shell block says what the test does with it', () => {
    expect(books.map((b) => b.file)).toEqual([
      'add-a-persona.md',
      'rebuild-a-persona.md',
      'recover-interrupted-apply.md',
      'replace-a-node.md',
      'restore-data.md',
      'rotate-secrets.md',
    ]);
    for (const b of books) {
      expect(b.unmarked, `${b.file}: shell blocks without a <!-- runbook: … --> marker at lines`).toEqual([]);
      for (const block of b.blocks) {
        if (block.mode !== 'run') expect(block.reason, `${b.file}:${block.line}: say why the block is not run`).not.toBe('');
        if (block.mode === 'manual') expect(block.commands.flatMap((c) => labInvocations(c.text)), `${b.file}:${block.line}: a manual block holds lab commands`).toEqual([]);
      }
      expect(b.blocks.some((x) => x.mode === 'run') || b.blocks.every((x) => x.mode !== 'manual'), b.file).toBe(true);
    }
  });

  it('every lab command exists with the options it is given (or is a designed one, in a parse block)', async () => {
    const problems: string[] = [];
    for (const b of books) {
      for (const block of b.blocks) {
        for (const c of block.commands) {
          for (const argv of labInvocations(c.text)) {
            const where = `${b.file}:${c.line} lab ${argv.join(' ')}`;
            const r = await checkArgv(rootCommand, argv);
            if (r.status === 'bad') problems.push(`${where}: ${r.why}`);
            if (r.status !== 'unavailable') continue;
            const name = Object.keys(DESIGNED).find((d) => r.path.join(' ') === d || argv.filter((a) => !a.startsWith('-')).join(' ').startsWith(d));
            if (!name) problems.push(`${where}: ${r.why}`);
            else if (block.mode === 'run') problems.push(`${where}: not in lab yet, so it cannot be in a run block`);
            else {
              const extra = flagsOf(argv).filter((f) => !DESIGNED[name]!.includes(f) && !GLOBAL_FLAGS.includes(f));
              if (extra.length > 0) problems.push(`${where}: the design of 'lab ${name}' has no option ${extra.join(', ')}`);
              parseOnly.add(name);
            }
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

/** An `apply --layer l2` of media killed after the VM was cloned and configured, before it started. */
async function killApplyBeforeStart(shell: Shell): Promise<void> {
  const state = shell.env.LAB_SIM_STATE!;
  await simControl(state, 'POST', '/_sim/faults/latency', { ms: 30_000, method: 'POST', path: 'status/start$', regex: true });
  const apply = spawn('lab', ['apply', '--layer', 'l2', '--persona', 'media', '-y'], { cwd: shell.root, env: shell.env, stdio: 'ignore' });
  try {
    const deadline = Date.now() + 60_000;
    // Disks grown and cicustom written: configuring is done and the start request is what waits.
    for (;;) {
      const out = (await sh(shell, 'pvesh get /nodes/pve1/qemu/120/config 2>/dev/null || true')).stdout;
      if (/"cicustom"/.test(out) && /"scsi1"/.test(out) && /"scsi0": ".*size=32G/.test(out)) break;
      if (Date.now() > deadline) throw new Error('the apply of media did not get to starting the VM in 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    apply.kill('SIGKILL');
    await simControl(state, 'DELETE', '/_sim/faults');
  }
}

/** pve3 reinstalled: its VMs, templates and local storage are gone from the cluster. */
async function wipeNode(shell: Shell, node: string): Promise<void> {
  const vms = JSON.parse((await sh(shell, `pvesh get /nodes/${node}/qemu`)).stdout) as { vmid: number; status: string }[];
  for (const vm of vms) {
    if (vm.status === 'running') await sh(shell, `pvesh create /nodes/${node}/qemu/${vm.vmid}/status/stop`);
    await sh(shell, `pvesh set /nodes/${node}/qemu/${vm.vmid}/config --protection 0`);
    await sh(shell, `pvesh delete /nodes/${node}/qemu/${vm.vmid} --purge 1`);
  }
  const content = JSON.parse((await sh(shell, `pvesh get /nodes/${node}/storage/local/content`)).stdout) as { volid: string }[];
  for (const c of content) await sh(shell, `pvesh delete /nodes/${node}/storage/local/content/${encodeURIComponent(c.volid)}`);
}

/** The situation each runbook starts from, made the way it happens. */
const SETUP: Readonly<Record<string, (shell: Shell) => Promise<unknown>>> = {
  'add-a-persona.md': (s) => sh(s, 'lab apply --layer l0,l1 -y'),
  'rebuild-a-persona.md': (s) => sh(s, 'lab apply --layer l0,l1 -y && lab apply --layer l2 --persona media -y'),
  'restore-data.md': (s) => sh(s, 'lab apply --layer l0,l1 -y && lab apply --layer l2 --persona identity -y'),
  'rotate-secrets.md': (s) => sh(s, 'lab apply --layer l0,l1 -y && lab apply --layer l2 --persona media -y'),
  'recover-interrupted-apply.md': async (s) => {
    await sh(s, 'lab apply --layer l0,l1 -y');
    await killApplyBeforeStart(s);
  },
  'replace-a-node.md': async (s) => {
    await sh(s, 'lab apply --layer l0,l1 -y && lab apply --layer l2 --all -y');
    await wipeNode(s, 'pve3');
  },
};

// Each runbook has its own scratch lab and simulator: they run side by side.
describe('runbooks on the simulator', () => {
  it.concurrent.for(books.map((b) => [b.file, b] as const))('%s: its run blocks pass, in order, in a scratch lab', { timeout: 300_000 }, async ([file, book], { expect }) => {
    const base = mkdtempSync(join(tmpdir(), 'lab-runbook-'));
    const lab = await createScratchLab({
      from: WORKSPACE,
      to: join(base, 'lab'),
      identityFile: join(base, 'age.key'),
      sshKeyFile: join(base, 'id_ed25519'),
      edit: (doc) => doc.setIn(['proxmox', 'guests'], 'none'),
    });
    const shell = shellFor(lab.root, base, { LAB_AGE_KEY_FILE: lab.identityFile });
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: lab.root });
    await sh(shell, 'git add -A && git commit -q -m "the lab"');
    const sim = await startSim(shell);
    try {
      await SETUP[file]?.(shell);
      for (const block of book.blocks.filter((b) => b.mode === 'run')) {
        const r = await runBlock(shell, file, block);
        expect(r.code, `${file}:${block.line}\n${r.stderr.slice(-4000)}`).toBe(0);
      }
    } finally {
      await sim.stop();
      rmSync(base, { recursive: true, force: true });
    }
  });
});
