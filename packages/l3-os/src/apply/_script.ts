import { isSecret } from '@lab/core';
import { atomicWriteScript, shq } from '@lab/ssh';
import type { FactBatch } from '../facts/gather.js';
import { PENDING_FILE } from '../ops/handlers.js';
import type { HandlerId, Step } from '../ops/operation.js';

/** Marker a step prints on stderr when it starts, for live progress. */
export const STEP_MARK = '@@LAB-STEP';

const LOCK = '/run/lock/lab-l3.lock';

/**
 * Functions every apply script starts with. The lock serialises two applies on one guest (the
 * second waits up to 10 min, saying so every 5 s: progress, and a sign of life for the
 * connection's silence limit); `lab_pend` records a handler durably (fsync) before the change that needs it.
 */
const PRELUDE = `
exec 9>${LOCK}
if ! flock -n 9; then
  lab_w=0
  until flock -w 5 9; do
    lab_w=$((lab_w + 5))
    [ $lab_w -lt 600 ] || { echo "lab: another lab apply holds ${LOCK}" >&2; return 75; }
    printf '%s 0 %s\\n' '${STEP_MARK}' "waiting for another lab apply on this guest (\${lab_w}s)" >&2
  done
fi
LAB_PENDING=${PENDING_FILE}
lab_pend() {
  mkdir -p "\${LAB_PENDING%/*}" && touch "$LAB_PENDING" || return 1
  grep -qxF -- "$1" "$LAB_PENDING" || printf '%s\\n' "$1" >>"$LAB_PENDING" || return 1
  sync -- "$LAB_PENDING" 2>/dev/null || sync
}
lab_unpend() {
  [ -f "$LAB_PENDING" ] || return 0
  grep -vxF -- "$1" "$LAB_PENDING" >"$LAB_PENDING.new" || true
  mv -f "$LAB_PENDING.new" "$LAB_PENDING"
}
lab_handler() {
  case "$1" in
    restart:*) systemctl try-restart -- "\${1#restart:}" ;;
    reload:*) systemctl try-reload-or-restart -- "\${1#reload:}" ;;
    *) echo "lab: unknown handler $1" >&2; return 1 ;;
  esac || return 1
  lab_unpend "$1"
}
`.trim();

function renderStep(step: Step, index: number): string {
  const mark = `printf '%s %d %s\\n' '${STEP_MARK}' ${index} ${shq(step.description)} >&2`;
  const fail = `lab_rc=$?; [ $lab_rc = 0 ] || { echo ${shq(`lab: step failed: ${step.description}`)} >&2; return $lab_rc; }`;
  if (step.kind === 'shell') return [mark, '( set -e', step.script, ')', fail].join('\n');
  const content = isSecret(step.content) ? step.content.reveal() : step.content;
  const write = atomicWriteScript(step.path, content, {
    mode: step.mode,
    owner: step.owner,
    group: step.group,
    mkdirs: true,
    ...(step.validate ? { validate: step.validate } : {}),
  });
  return [mark, '(', write, ')', fail].join('\n');
}

/**
 * The one script an operation's apply sends: prelude, handlers recorded first, the steps,
 * then (when given) the facts later operations need, re-read after the change.
 */
export function applyScript(steps: readonly Step[], notify: readonly HandlerId[], gather?: FactBatch): string {
  return [
    PRELUDE,
    ...notify.map((h) => `lab_pend ${shq(h)} || return 1`),
    ...steps.map(renderStep),
    ...(gather && gather.facts.length ? [gather.body] : []),
    'return 0',
  ].join('\n');
}
