import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lab } from './_harness.js';
import { intentCopy } from './_journal.js';

// Read-only commands work from intent and journal alone: they never start the embedded
// simulator (whose state lives in .lab/sim), so they start as fast as the bundle loads.
describe('read-only commands need no Proxmox', () => {
  it('validate, personas, graph, log, docs --check, metrics and schema never start the simulator', async () => {
    const root = intentCopy();
    for (const argv of [['validate'], ['personas'], ['graph'], ['log'], ['docs', '--check'], ['metrics'], ['schema']]) {
      // (validate fails here: this copy has no secrets; it still must not reach for Proxmox.)
      const r = await lab(...argv, '--root', root);
      expect(r.stderr, argv.join(' ')).not.toContain('simulator');
    }
    expect(existsSync(join(root, '.lab/sim'))).toBe(false);
  }, 60_000);
});
