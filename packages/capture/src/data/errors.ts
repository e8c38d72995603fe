import { LabError } from '@lab/core';

/** Stable codes of data capture errors. */
export const DATA_CAPTURE_ERROR_CODES = [
  'LAB_CAPTURE_NOT_DECLARED',
  'LAB_CAPTURE_REPOSITORY_UNKNOWN',
  'LAB_CAPTURE_RESTIC_MISSING',
  'LAB_CAPTURE_RCLONE_MISSING',
  'LAB_CAPTURE_WRONG_PASSWORD',
  'LAB_CAPTURE_NO_REPOSITORY',
  'LAB_CAPTURE_LOCKED',
  'LAB_CAPTURE_NO_SNAPSHOT',
  'LAB_CAPTURE_NO_DATA',
  'LAB_CAPTURE_HOOK_FAILED',
  'LAB_CAPTURE_PAUSE_FAILED',
  'LAB_CAPTURE_RESUME_FAILED',
  'LAB_CAPTURE_TIMEOUT',
  'LAB_CAPTURE_RESTIC_FAILED',
] as const;
export type DataCaptureErrorCode = (typeof DATA_CAPTURE_ERROR_CODES)[number];

export function captureError(code: DataCaptureErrorCode, summary: string, more: { detail?: string; hint?: string; cause?: unknown } = {}): LabError {
  return new LabError({ code, summary, ...more });
}

/** The last lines of a command's output, for an error's detail. */
export function tail(text: string, lines = 12): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
