import { readFileSync } from 'node:fs';

/** The lab's version, stamped into plans, journals and manifests. */
export const LAB_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
