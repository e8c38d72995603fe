import { readFileSync } from 'node:fs';

/**
 * The CLI's version, for `lab --version` without loading the engine (whose `LAB_VERSION`, the
 * one stamped into plans and journals, moves in lockstep: .changeset/config.json `fixed`).
 */
export const LAB_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
