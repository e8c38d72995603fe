import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardScript, STDIN_SCRIPT_COMMAND } from '@lab/ssh';
import { FactSet, type Fact } from '../src/facts/fact.js';
import { factBatch } from '../src/facts/gather.js';
import { pathFact } from '../src/facts/files.js';

const run = promisify(execFile);

/** Run a script exactly as a guest would (guarded, read from fd 3), on this machine's bash. */
async function runLocally(body: string): Promise<string> {
  const child = spawn('sh', ['-c', STDIN_SCRIPT_COMMAND], { stdio: ['pipe', 'pipe', 'inherit'] });
  const out: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stdin.end(guardScript(body));
  await new Promise((resolve) => child.on('close', resolve));
  return Buffer.concat(out).toString('utf8');
}

const raw = (name: string, command: string): Fact<{ out: string; code: number }> => ({
  name,
  command,
  parse: (out, code) => ({ out, code }),
  empty: { out: '', code: -1 },
});

describe('batched fact gathering', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lab-gather-'));
    await writeFile(join(dir, 'tricky'), '@@LAB-0000000000000000 0\nno newline at end');
    await writeFile(join(dir, 'binary'), Buffer.from([0, 1, 2, 255, 10]));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('splits one script output back into facts, whatever the facts print', async () => {
    const facts: Fact<unknown>[] = [
      raw('no-newline', 'printf abc'),
      raw('fails', 'echo partial; return 7'),
      raw('stderr-dropped', 'echo out; echo err >&2'),
      raw('empty', 'true'),
      raw('fake-marker', `cat ${join(dir, 'tricky')}`),
      pathFact(join(dir, 'tricky')),
      pathFact(join(dir, 'binary')),
      pathFact(join(dir, 'missing')),
    ];
    const batch = factBatch(facts);
    const got = batch.parse(await runLocally(batch.body)).facts;
    expect(got.get(facts[0]!)).toEqual({ out: 'abc', code: 0 });
    expect(got.get(facts[1]!)).toEqual({ out: 'partial\n', code: 7 });
    expect(got.get(facts[2]!)).toEqual({ out: 'out\n', code: 0 });
    expect(got.get(facts[3]!)).toEqual({ out: '', code: 0 });
    expect(got.get(facts[4]!)).toEqual({ out: '@@LAB-0000000000000000 0\nno newline at end', code: 0 });
    expect(got.get(pathFact(join(dir, 'tricky')))).toMatchObject({ exists: true, content: '@@LAB-0000000000000000 0\nno newline at end' });
    expect(got.get(pathFact(join(dir, 'binary')))).toMatchObject({ exists: true, size: 5 });
    expect(got.get(pathFact(join(dir, 'missing')))).toEqual({ exists: false });
  });

  it('keeps what a mutation printed before the facts apart', async () => {
    const f = raw('x', 'echo fact');
    const batch = factBatch([f]);
    const out = await runLocally(`echo "apt says hi"\n${batch.body}`);
    const parsed = batch.parse(out);
    expect(parsed.before).toBe('apt says hi\n');
    expect(parsed.facts.get(f)).toEqual({ out: 'fact\n', code: 0 });
  });

  it('refuses an answer cut short', async () => {
    const facts = [raw('a', 'echo a'), raw('b', 'echo b')];
    const batch = factBatch(facts);
    const out = await runLocally(batch.body);
    expect(() => batch.parse(out.slice(0, out.lastIndexOf('b\n')))).toThrow(expect.objectContaining({ code: 'LAB_L3_FACTS_TRUNCATED' }));
  });

  it('deduplicates facts by key', () => {
    expect(factBatch([pathFact('/a'), pathFact('/a'), pathFact('/b')]).facts).toHaveLength(2);
  });

  it('digests only non-volatile facts, independent of order', () => {
    const clock: Fact<number> = { name: 'clock', command: 'date +%s', parse: Number, empty: 0, volatile: true };
    const a = new FactSet().with([[pathFact('/a'), { exists: false }], [pathFact('/b'), { exists: false }], [clock, 1]]);
    const b = new FactSet().with([[pathFact('/b'), { exists: false }], [clock, 2], [pathFact('/a'), { exists: false }]]);
    expect(a.digest()).toBe(b.digest());
    expect(a.with([[pathFact('/a'), { exists: true }]]).digest()).not.toBe(a.digest());
  });

  it('is plain POSIX-ish bash the guest has (syntax check)', async () => {
    const batch = factBatch([pathFact('/etc/hostname')]);
    await expect(run('bash', ['-n', '-c', guardScript(batch.body)])).resolves.toBeDefined();
  });
});
