import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournal } from '@lab/engine';
import { lab, WORKSPACE } from './_harness.js';
import { startScratchSim } from './_scratch-sim.js';
import type { SimProcess } from './_sim-process.js';
import type { ScratchLab } from '../src/scratch-lab.js';

// The units `lab capture timers` writes are only right if systemd can run them: each
// ExecStart is parsed as systemd does and run, verbatim, in the unit's WorkingDirectory,
// against a scratch lab on the simulator (records-only guests: a VM backup needs no SSH).
let s: ScratchLab;
let sim: SimProcess | undefined;

beforeAll(async () => {
  ({ scratch: s, sim } = await startScratchSim('lab-timers-run-'));
  for (const argv of [['apply', '--layer', 'l0', '-y'], ['apply', '--layer', 'l1', '-y'], ['apply', '--layer', 'l2', '--persona', 'identity', '-y']]) {
    const r = await lab(...argv, '--root', s.root);
    expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(0);
  }
}, 240_000);

afterAll(async () => {
  await sim?.stop();
});

/** systemd's word splitting of ExecStart (quotes, backslash escapes), enough for what lab writes. */
function splitExecStart(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') word += line[++i]!;
      else word += c;
    } else if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (c === '\\') word = (word ?? '') + line[++i]!;
    else word = (word ?? '') + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

function unitField(text: string, key: string): string {
  const line = text.split('\n').find((l) => l.startsWith(`${key}=`));
  if (!line) throw new Error(`no ${key}= in\n${text}`);
  return line.slice(key.length + 1);
}

function runUnit(service: string): Promise<{ code: number; stderr: string }> {
  const [file, ...argv] = splitExecStart(unitField(service, 'ExecStart').replace(/%%/g, '%'));
  return new Promise((resolve) => {
    execFile(file!, argv, { cwd: unitField(service, 'WorkingDirectory'), env: { ...process.env, LAB_AGE_KEY_FILE: s.identityFile } }, (error, _stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr });
    });
  });
}

describe('lab capture timers: the written units run', () => {
  it('every ExecStart is a command lab accepts, and the VM backup unit takes a backup', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lab-timer-units-'));
    const labCommand = `${process.execPath} ${join(WORKSPACE, 'packages/cli/bin/lab.mjs')}`;
    const w = await lab('capture', 'timers', '--persona', 'identity', '--out', out, '--lab', labCommand, '--root', s.root);
    expect(w.code, w.stderr).toBe(0);
    const services = readdirSync(out).filter((f) => f.endsWith('.service')).sort();
    expect(services).toEqual(['lab-capture-identity.service', 'lab-capture-vm-identity.service', 'lab-verify-identity.service']);

    const vm = await runUnit(readFileSync(join(out, 'lab-capture-vm-identity.service'), 'utf8'));
    expect(vm.code, vm.stderr).toBe(0);
    expect(vm.stderr).toMatch(/captured identity: local:backup\/vzdump-qemu-130-/);
    const [entry] = (await readJournal(s.root)).entries;
    expect(entry).toMatchObject({ command: 'capture', personas: ['identity'], result: 'ok', details: { kind: 'vm' } });

    // Data backups and drills need a guest over SSH, which records-only VMs lack: they may fail
    // here, but never on their command line.
    for (const unit of ['lab-capture-identity.service', 'lab-verify-identity.service']) {
      const r = await runUnit(readFileSync(join(out, unit), 'utf8'));
      expect(r.stderr, unit).not.toMatch(/LAB_CLI_USAGE|LAB_CLI_UNKNOWN_COMMAND|unknown option/);
    }
  }, 300_000);
});
