export * from '../src/index.js';
export { buildDigest } from '../src/naming.js';
