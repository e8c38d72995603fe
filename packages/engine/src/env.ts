import type { Reporter } from '@lab/core';

/**
 * What a caller of the engine hands it: where the lab is and where events go. The engine never
 * writes to a terminal and never exits the process; the CLI is one caller, a test or a script
 * is another (`{ reporter, root: () => dir }`).
 */
export interface EngineEnv {
  readonly reporter: Reporter;
  /** The lab directory (holds lab.yaml); a function so it is found only when needed. */
  root(): string;
  /**
   * Shows the operator a secret exactly once, outside every log (a new API token whose secret
   * could not be stored). Without it such a secret is reported as lost, never logged.
   */
  reveal?(text: string): void;
}
