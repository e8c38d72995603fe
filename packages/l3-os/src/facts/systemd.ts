import { shq } from '@lab/ssh';
import type { Fact } from './fact.js';

export interface UnitInfo {
  readonly id: string;
  /** `loaded`, `not-found`, `masked`, `bad-setting`, `error`. */
  readonly loadState: string;
  /** `active`, `inactive`, `failed`, `activating`, `deactivating`, `reloading`. */
  readonly activeState: string;
  /** `enabled`, `disabled`, `static`, `masked`, `indirect`, `generated`… or '' when unknown. */
  readonly unitFileState: string;
  readonly needDaemonReload: boolean;
  /** False when the unit's conditions failed on its last start (e.g. ConditionVirtualization=!container). */
  readonly conditionMet: boolean;
}

const PROPS = ['Id', 'LoadState', 'ActiveState', 'UnitFileState', 'NeedDaemonReload', 'ConditionResult', 'ConditionTimestampMonotonic'];
export const UNIT_PROPERTIES = PROPS.join(',');

export function unitFact(name: string): Fact<UnitInfo> {
  return {
    name: 'systemd.unit',
    arg: name,
    command: `systemctl show --property=${UNIT_PROPERTIES} -- ${shq(name)}`,
    batched: { kind: 'unit', arg: name, command: `[ -n "\${LAB_UNIT[${shq(name)}]+x}" ] || return 1\nprintf '%s' "\${LAB_UNIT[${shq(name)}]}"` },
    parse(stdout, code) {
      if (code !== 0) throw new Error(`systemctl show exited with ${code} (is systemd running?)`);
      const kv = new Map<string, string>();
      for (const line of stdout.split('\n')) {
        const i = line.indexOf('=');
        if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
      }
      return {
        id: kv.get('Id') ?? name,
        loadState: kv.get('LoadState') ?? 'not-found',
        activeState: kv.get('ActiveState') ?? 'inactive',
        unitFileState: kv.get('UnitFileState') ?? '',
        needDaemonReload: kv.get('NeedDaemonReload') === 'yes',
        // ConditionResult reads `no` for a unit that was never started; only an evaluated
        // condition (non-zero timestamp) that failed counts.
        conditionMet: kv.get('ConditionResult') !== 'no' || (kv.get('ConditionTimestampMonotonic') ?? '0') === '0',
      };
    },
    empty: { id: name, loadState: 'not-found', activeState: 'inactive', unitFileState: '', needDaemonReload: false, conditionMet: true },
  };
}
