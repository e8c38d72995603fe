/**
 * Every error and diagnostic code L3 raises; stable, documented in docs/l3-os.md.
 * (Transport errors are `LAB_SSH_*` from @lab/ssh; a stale saved plan is core's `LAB_PLAN_STALE`.)
 */
export const L3_ERROR_CODES = [
  'LAB_L3_STEP_FAILED',
  'LAB_L3_NOT_IDEMPOTENT',
  'LAB_L3_PLAN_INVALID',
  'LAB_L3_FACTS_FAILED',
  'LAB_L3_FACTS_TRUNCATED',
  'LAB_L3_FACT_PARSE',
  'LAB_L3_TEMPLATE',
  'LAB_L3_SECRET',
  'LAB_L3_SOURCE_MISSING',
  'LAB_L3_KEY_UNAVAILABLE',
  'LAB_L3_KEY_INVALID',
  'LAB_L3_KEY_FINGERPRINT',
  'LAB_L3_PATH_CONFLICT',
  'LAB_L3_DUPLICATE',
  'LAB_L3_FILE_TOO_LARGE',
  'LAB_L3_DIR_NOT_EMPTY',
  'LAB_L3_SYSCTL_READONLY',
  'LAB_L3_SYSCTL_UNKNOWN',
  'LAB_L3_UNIT_CONDITION',
  'LAB_L3_COMPOSE_PLUGIN',
  'LAB_L3_SWAP_UNMANAGED',
  'LAB_L3_DISK_MISSING',
  'LAB_L3_DISK_FOREIGN',
] as const;
export type L3ErrorCode = (typeof L3_ERROR_CODES)[number];
