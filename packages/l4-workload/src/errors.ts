/**
 * Every error and diagnostic code L4 raises; stable, documented in docs/l4-workload.md.
 * (Transport errors are `LAB_SSH_*` from @lab/ssh; a stale saved plan is core's `LAB_PLAN_STALE`.)
 */
export const L4_ERROR_CODES = [
  'LAB_L4_COMPOSE_INVALID',
  'LAB_L4_COMPOSE_MISSING',
  'LAB_L4_FLOATING_TAG',
  'LAB_L4_PORT_CONFLICT',
  'LAB_L4_VOLUME_OUTSIDE_DATA',
  'LAB_L4_NAMED_VOLUME',
  'LAB_L4_SOURCE_MISSING',
  'LAB_L4_ENV_INVALID',
  'LAB_L4_TEMPLATE',
  'LAB_L4_DOCKER_MISSING',
  'LAB_L4_OBSERVE_FAILED',
  'LAB_L4_STEP_FAILED',
  'LAB_L4_HEALTH_FAILED',
  'LAB_L4_NOT_CONVERGED',
  'LAB_L4_PLAN_INVALID',
  'LAB_L4_IMAGE_OVERRIDES_INVALID',
  'LAB_L4_IMAGE_OVERRIDE',
] as const;
export type L4ErrorCode = (typeof L4_ERROR_CODES)[number];
