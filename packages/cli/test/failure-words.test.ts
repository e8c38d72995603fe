import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchLab, type ScratchLab } from '../src/scratch-lab.js';
import { lab, WORKSPACE } from './_harness.js';

/**
 * Issue #14, "Wrong words after a failure": with the Proxmox endpoint's TLS pin wrong (the
 * server answers with another certificate), every command that talks to Proxmox fails — and
 * none of them may still say it succeeded ("No changes. The lab matches its intent.",
 * "Apply complete"), and with --json each prints exactly one JSON document on stdout.
 */

const SUCCESS = /No changes|matches its intent|Apply complete|Destroy complete|complete:|Captured|up to date|in sync|no drift|nothing to do|all good/i;

let server: Server;
let s: ScratchLab;
let base = '';
let requests = 0;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'lab-failwords-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=wrong', '-keyout', join(base, 'k.pem'), '-out', join(base, 'c.pem')], { stdio: 'ignore' });
  server = createServer({ key: readFileSync(join(base, 'k.pem')), cert: readFileSync(join(base, 'c.pem')) }, (_req, res) => {
    requests++;
    res.writeHead(500).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  s = await createScratchLab({
    from: WORKSPACE,
    to: join(base, 'lab'),
    identityFile: join(base, 'age.key'),
    edit: (doc) => {
      doc.set('proxmox', doc.createNode({ mode: 'remote', url: `https://127.0.0.1:${port}`, fingerprint: Array(32).fill('AB').join(':'), tokenId: 'lab@pve!lab', tokenSecret: { secret: 'site/pve-token' } }));
    },
  });
  process.env.LAB_AGE_KEY_FILE = s.identityFile;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(base, { recursive: true, force: true });
});

/** Every command that reaches Proxmox, as a user would type it. */
const COMMANDS: readonly (readonly string[])[] = [
  ['plan', '--all'],
  ['plan', '--layer', 'l2', '--persona', 'media'],
  ['check', '--all'],
  ['check', '--layer', 'l2', '--all'],
  ['apply', '-y', '--all'],
  ['apply', '-y', '--layer', 'l2', '--persona', 'media'],
  ['destroy', '-y', '--persona', 'media'],
  ['drift'],
  ['up', '-y'],
  ['down', '-y', '--persona', 'media'],
  ['rebuild', '-y', '--persona', 'media'],
  ['image', 'list'],
  ['capture', 'vm', '--persona', 'media'],
  ['capture', 'backups', '--persona', 'media'],
];

describe('a failed command never reports success', () => {
  for (const argv of COMMANDS) {
    it(`lab ${argv.join(' ')}`, async () => {
      const human = await lab(...argv, '--root', s.root);
      expect(human.code, human.stderr).toBe(1);
      expect(`${human.stdout}\n${human.stderr}`).not.toMatch(SUCCESS);
      expect(`${human.stdout}\n${human.stderr}`).toMatch(/LAB_[A-Z_]+|\berror\b/i);
      const json = await lab(...argv, '--json', '--root', s.root);
      expect(json.code, json.stderr).toBe(1);
      expect(`${json.stdout}\n${json.stderr}`).not.toMatch(SUCCESS);
      // Exactly one JSON document on stdout (two would not parse), and it carries the failure.
      const doc = JSON.parse(json.stdout) as { ok?: boolean };
      expect(doc.ok === false || /"severity": "error"|"verdict": "error"|"code": "LAB_[A-Z_]+"/.test(json.stdout), json.stdout.slice(0, 400)).toBe(true);
    }, 120_000);
  }

  it('the wrong certificate got no request', () => {
    expect(requests).toBe(0);
  });
});

describe('a run that fails after planning prints one JSON document', () => {
  it('lab apply --json that cannot confirm: the plan and the error in one document', async () => {
    // The embedded simulator with records-only guests: L0 plans changes, then the apply stops
    // at the confirmation (no terminal, no -y) — after the plan exists.
    const fresh = await createScratchLab({ from: WORKSPACE, to: join(base, 'embedded'), identityFile: join(base, 'age2.key') });
    process.env.LAB_AGE_KEY_FILE = fresh.identityFile;
    const file = join(fresh.root, 'lab.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/guests: docker/, 'guests: none'));
    const r = await lab('apply', '--layer', 'l0', '--json', '--root', fresh.root);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { ok: boolean; error: { code: string }; plan: { changes: unknown[] } };
    expect(doc.ok).toBe(false);
    expect(doc.error.code).toBe('LAB_CONFIRM_REQUIRED');
    expect(doc.plan.changes.length).toBeGreaterThan(0);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(SUCCESS);
  }, 120_000);
});
