import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guestInstanceName } from '../../../packages/pve-sim/src/index.js';
import { main as lab } from '../../../packages/cli/src/main.js';
import { createScratchLab } from '../../../packages/cli/src/scratch-lab.js';

const WORKSPACE = fileURLToPath(new URL('../../../', import.meta.url));

async function run(root: string, ...argv: string[]): Promise<{ code: number; ms: number; err: string }> {
  const err: string[] = [];
  const t0 = performance.now();
  const code = await lab([...argv, '--root', root], { out: () => undefined, err: (t) => void err.push(t) });
  return { code, ms: performance.now() - t0, err: err.join('') };
}

function must(r: { code: number; err: string }, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.err.split('\n').slice(-30).join('\n')}`);
}

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * The example lab on the embedded simulator with real guests: bake debian-12-docker (base +
 * Docker mixins), then create tinker on it and a copy of tinker (`tinker-plain`) on plain
 * debian-12, and time each one's first `lab apply --layer l3`.
 */
export async function main(): Promise<number> {
  const base = mkdtempSync(join(tmpdir(), 'lab-bench-bake-'));
  const scratch = await createScratchLab({ from: WORKSPACE, to: join(base, 'lab'), identityFile: join(base, 'age.key'), sshKeyFile: join(base, 'id_ed25519') });
  process.env['LAB_AGE_KEY_FILE'] = scratch.identityFile;
  const root = scratch.root;
  const tinker = readFileSync(join(root, 'personas/tinker/persona.yaml'), 'utf8');
  cpSync(join(root, 'personas/tinker'), join(root, 'personas/tinker-plain'), { recursive: true });
  writeFileSync(
    join(root, 'personas/tinker-plain/persona.yaml'),
    tinker.replace(/^name: tinker$/m, 'name: tinker-plain').replace('debian-12-docker@stable', 'debian-12@stable').replace('10.0.30.40/24', '10.0.30.41/24'),
  );
  try {
    must(await run(root, 'apply', '--layer', 'l0', '-y'), 'L0');
    const bake = await run(root, 'apply', '--layer', 'l1', '-y');
    must(bake, 'L1 (bake)');
    must(await run(root, 'apply', '--layer', 'l2', '--persona', 'tinker,tinker-plain', '-y'), 'L2');
    const baked = await run(root, 'apply', '--layer', 'l3', '--persona', 'tinker', '-y');
    must(baked, 'L3 on the baked template');
    const plain = await run(root, 'apply', '--layer', 'l3', '--persona', 'tinker-plain', '-y');
    must(plain, 'L3 on the plain template');
    const ratio = baked.ms / plain.ms;
    process.stdout.write(
      [
        `L1 bake of debian-12-docker (all nodes at once):  ${s(bake.ms)}`,
        `L3 first converge, tinker on the plain template:  ${s(plain.ms)}`,
        `L3 first converge, tinker on the baked template:  ${s(baked.ms)}`,
        `ratio baked/plain: ${(ratio * 100).toFixed(1)}% (goal ≤ 10%)`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    const instance = guestInstanceName(join(root, '.lab/sim'));
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=lab.pve-sim.instance=${instance}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids]);
  }
}
