import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPlan, createNdjsonReporter, renderPlan, Secret, serializePlan, address } from '@lab/core';
import { lab, scratchLab, WORKSPACE } from './_harness.js';
import type { ScratchLab } from '../src/scratch-lab.js';

const BIN = join(WORKSPACE, 'packages/cli/bin/lab.mjs');

function run(scratch: ScratchLab, args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args, '--root', scratch.root], {
    input: input ?? '',
    encoding: 'utf8',
    env: { ...process.env, LAB_AGE_KEY_FILE: scratch.identityFile, NO_COLOR: '1' },
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

describe('lab secret', () => {
  let scratch: ScratchLab;
  beforeAll(async () => {
    scratch = await scratchLab();
  });

  it('set reads the value from stdin, get prints it, list shows the name', () => {
    const set = run(scratch, ['secret', 'set', 'media/new-token'], 's3cr3t-value\n');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toContain('encrypted media/new-token');
    const file = join(scratch.root, 'secrets/media/new-token.age');
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----/);
    expect(readFileSync(file, 'utf8')).not.toContain('s3cr3t-value');
    const get = run(scratch, ['secret', 'get', 'media/new-token']);
    expect(get.stdout).toBe('s3cr3t-value\n');
    const list = run(scratch, ['secret', 'list', '--json']);
    expect(JSON.parse(list.stdout).map((e: { name: string }) => e.name)).toContain('media/new-token');
  });

  it('refuses an empty value and a bad name with hints', () => {
    const empty = run(scratch, ['secret', 'set', 'media/empty'], '');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('LAB_SECRET_EMPTY');
    const bad = run(scratch, ['secret', 'set', '../escape'], 'x');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('LAB_SECRET_BAD_NAME');
  });

  it('get of a missing secret says how to create it', () => {
    const r = run(scratch, ['secret', 'get', 'media/missing']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('LAB_SECRET_NOT_FOUND');
    expect(r.stderr).toContain('lab secret set media/missing');
  });

  it('edit runs $EDITOR on a private temp file and re-encrypts', () => {
    const r = spawnSync(process.execPath, [BIN, 'secret', 'edit', 'media/new-token', '--root', scratch.root], {
      encoding: 'utf8',
      env: { ...process.env, LAB_AGE_KEY_FILE: scratch.identityFile, EDITOR: "sed -i 's/value/edited/'" },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(run(scratch, ['secret', 'get', 'media/new-token']).stdout).toBe('s3cr3t-edited\n');
  });

  it('rotate re-encrypts every secret to the current recipients', () => {
    const before = readFileSync(join(scratch.root, 'secrets/media/jellyfin-api-key.age'), 'utf8');
    const r = run(scratch, ['secret', 'rotate', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).rotated).toContain('media/jellyfin-api-key');
    expect(readFileSync(join(scratch.root, 'secrets/media/jellyfin-api-key.age'), 'utf8')).not.toBe(before);
  });
});

describe('a canary secret appears nowhere it should not', () => {
  it('is absent from validate, personas, graph, list, rotate, plans, NDJSON and the repo files', async () => {
    const canary = (name: string) => `CANARY-${name.replace(/\W/g, '')}-91f3c2`;
    const s = await scratchLab(canary);
    const outputs: string[] = [];
    for (const argv of [
      ['validate', '--root', s.root, '--json', '-v'],
      ['validate', '--root', s.root, '-v'],
      ['personas', '--root', s.root, '--json'],
      ['graph', '--root', s.root],
      ['secret', 'list', '--root', s.root, '--json'],
      ['secret', 'rotate', '--root', s.root, '--json'],
    ]) {
      const r = await lab(...argv);
      expect(r.code, r.stderr).toBe(0);
      outputs.push(r.stdout, r.stderr);
    }
    // A plan that carries the secret (as L4 env will) masks it in JSON, text and NDJSON.
    const value = new Secret(canary('media/jellyfin-api-key'));
    const plan = createPlan({
      labVersion: 'test',
      changes: [{ address: address('media', 'l4', 'compose.stack', 'jellyfin'), layer: 'l4', kind: 'compose.stack', action: 'update', impact: 'recreate', after: { env: { KEY: value } }, diff: [{ path: 'env.KEY', before: value, after: value }], sensitivePaths: ['env.KEY'], steps: [] }],
    });
    const ndjson: string[] = [];
    createNdjsonReporter({ write: (x: string) => ndjson.push(x) }).emit({ type: 'plan', plan });
    outputs.push(serializePlan(plan), renderPlan(plan), ndjson.join(''));
    for (const f of filesUnder(s.root)) outputs.push(readFileSync(f, 'utf8'));

    const all = outputs.join('\n');
    expect(all).not.toContain('CANARY-');
    expect(all).not.toContain('91f3c2');
    // …while the secret really is there for whoever holds the identity.
    const get = await lab('secret', 'get', 'media/jellyfin-api-key', '--root', s.root);
    expect(get.stdout.trim()).toBe(canary('media/jellyfin-api-key'));
  });
});
