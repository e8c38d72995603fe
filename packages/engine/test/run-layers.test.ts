import { describe, expect, it } from 'vitest';
import { createPlan, type Change } from '@lab/core';
import { note } from '../src/up/projection.js';
import { unconfirmed } from '../src/up/run-layers.js';

const change = (address: string, action: Change['action'], impact: Change['impact']): Change => ({ address, layer: 'l3', kind: 'apt.package', action, impact, diff: [], steps: [] }) as unknown as Change;

describe('lab up: a layer planned again must not destroy what was not confirmed', () => {
  const confirmed = createPlan({
    labVersion: 't',
    changes: [change('media/l3/apt.package[nano]', 'delete', 'none')],
    diagnostics: [note('LAB_UP_FROM_INTENT', 'l3', 'tinker', 'planned from intent against an empty guest')],
  });

  it('stops on a delete nobody confirmed on an existing guest', () => {
    const fresh = createPlan({ labVersion: 't', changes: [change('media/l3/apt.package[htop]', 'delete', 'none'), change('media/l3/apt.package[nano]', 'delete', 'none')] });
    expect(unconfirmed(fresh, confirmed).map((c) => c.address)).toEqual(['media/l3/apt.package[htop]']);
  });

  it('lets the new guest of a VM this run created converge (a package its template holds is removed), but never a data loss', () => {
    const fresh = createPlan({
      labVersion: 't',
      changes: [change('tinker/l3/apt.package[prometheus-node-exporter]', 'delete', 'none'), change('tinker/l3/disk[data]', 'replace', 'data-loss'), change('tinker/l4/stack[ide]', 'delete', 'none')],
    });
    expect(unconfirmed(fresh, confirmed).map((c) => c.address)).toEqual(['tinker/l3/disk[data]', 'tinker/l4/stack[ide]']);
  });
});
