import { describe, expect, it } from 'vitest';
import { LabError, address, toLabError } from '../src/index.js';

describe('LabError', () => {
  it('formats code, diagnostics, detail and hint for humans without a stack', () => {
    const e = new LabError({
      code: 'LAB_PVE_LOCKED',
      summary: 'VM 120 is locked (backup)',
      detail: 'a vzdump task holds the lock',
      hint: 'wait for the backup, or run `qm unlock 120` on the node',
      address: address('media', 'l2', 'vm'),
      diagnostics: [{ severity: 'error', code: 'X', summary: 'one', path: 'vm.cores', source: { file: 'f.yaml', line: 2, column: 3 } }],
    });
    expect(e.format()).toBe(
      [
        'Error [LAB_PVE_LOCKED]: VM 120 is locked (backup)',
        '  f.yaml:2:3 vm.cores: one',
        '  a vzdump task holds the lock',
        '  hint: wait for the backup, or run `qm unlock 120` on the node',
      ].join('\n'),
    );
    expect(e.toDiagnostic()).toMatchObject({ severity: 'error', code: 'LAB_PVE_LOCKED', address: 'media/l2/vm' });
    expect(e).toBeInstanceOf(Error);
  });

  it('wraps foreign errors, keeping the cause', () => {
    const cause = new Error('ECONNREFUSED');
    const e = toLabError(cause, 'LAB_PVE_UNREACHABLE', 'start the simulator');
    expect(e.code).toBe('LAB_PVE_UNREACHABLE');
    expect(e.cause).toBe(cause);
    expect(toLabError(e)).toBe(e);
  });
});
