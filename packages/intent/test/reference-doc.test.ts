import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MERGE_RULES, renderPersonaReference } from '../src/index.js';

const REPO = resolve(import.meta.dirname, '../../..');

describe('docs/persona-reference.md', () => {
  const doc = renderPersonaReference();

  it('is committed and current', () => {
    expect(readFileSync(join(REPO, 'docs/persona-reference.md'), 'utf8'), 'stale: run `pnpm --filter @lab/intent generate` and commit docs/persona-reference.md').toBe(doc);
  });

  it('documents every field with its type, default and description', () => {
    expect(doc).toContain('| `vm.memory` | size | yes |  | Memory of the VM. Example: `8GiB`. |');
    expect(doc).toContain('| `vm.cores` | integer |  | `2` | Cores per socket. |');
    expect(doc).toContain('| `lifecycle.stage` | `stable` \\| `experimental` |  | `stable` |');
    expect(doc).toContain('| `proxmox.tokenSecret` | secret reference | yes |');
    expect(doc).toContain('| `capture.retention.daily` | integer |  | `7` |');
  });

  it('states the merge rule of every list that merges', () => {
    for (const [path, rule] of Object.entries(MERGE_RULES)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${path}\` |`));
      expect(row, path).toBeDefined();
      expect(row, path).toContain(rule.kind === 'set' ? 'Merge: union' : 'Merge: merged by');
    }
    expect(doc).toContain('| `vm.nics` | list of maps |');
    expect(doc.split('\n').find((l) => l.startsWith('| `vm.nics` |'))).toContain('Merge: replaced as a whole');
  });

  it('leaves no field undescribed', () => {
    const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
    const bare = rows.filter((l) => {
      const description = l.split(/(?<!\\)\|/)[5]?.trim() ?? '';
      return description === '' || /^(\*[^*]*\* )?(Example:|Merge:)/.test(description);
    });
    expect(bare).toEqual([]);
    expect(rows.length).toBeGreaterThan(200);
  });
});
