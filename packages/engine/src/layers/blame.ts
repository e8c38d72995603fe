import { address, LabError, type Layer } from '@lab/core';

/**
 * A persona's failure, pointing at the persona: the journal records which personas a run failed
 * for (`failedPersonas`), so one failed guest does not mark every persona's apply as failed.
 * An error that already points into the persona is returned as it is.
 */
export function blame(error: LabError, persona: string, layer: Layer): LabError {
  if (error.address?.startsWith(`${persona}/`)) return error;
  return new LabError({
    code: error.code,
    summary: error.summary,
    ...(error.detail ? { detail: error.detail } : {}),
    ...(error.hint ? { hint: error.hint } : {}),
    diagnostics: error.diagnostics,
    address: address(persona, layer, 'apply'),
    cause: error,
  });
}
