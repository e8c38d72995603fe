import type { JumpHost, JumpHostOptions } from './jump/index.js';

/**
 * The SSH jump host, loaded on first use: it pulls in ssh2, which importing the simulator alone
 * must not require (and whose CommonJS named exports plain Node ESM cannot always see).
 */
export async function startJumpHost(options: JumpHostOptions): Promise<JumpHost> {
  const mod = await import('./jump/index.js');
  return mod.startJumpHost(options);
}
