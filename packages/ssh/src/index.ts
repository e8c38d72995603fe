/**
 * @lab/ssh — the one SSH transport of the lab, shared by L3 (OS), L4 (workloads) and capture.
 * A pool keeps one persistent connection per host, reached directly or through a jump host
 * (the Proxmox node); host keys are pinned in a lab-managed OpenSSH known_hosts file and an
 * unknown or changed key is refused. Commands stream their output, scripts travel on stdin,
 * files are written atomically, and a non-root user works through sudo.
 */
export { SshConnection, openJump } from './connection.js';
export type { ExecOptions, ExecResult, ScriptOptions, ConnectionStats, JumpLink } from './connection.js';
export { SshPool } from './pool.js';
export type { SshPoolOptions, PoolStats } from './pool.js';
export { DEFAULT_TIMEOUTS, describeEndpoint, targetKey } from './target.js';
export type { SshEndpoint, SshTarget, SshTimeouts } from './target.js';
export {
  parseKnownHosts,
  loadKnownHosts,
  knownHostName,
  entryMatches,
  lookupHost,
  verifyHostKey,
  fingerprintOf,
  keyTypeOf,
  formatKnownHostsLine,
} from './known-hosts.js';
export type { KnownHostEntry, KnownHosts, HostKeyVerdict, HostKeyLookup } from './known-hosts.js';
export { pinHostKey, forgetHost } from './trust.js';
export type { PinOptions } from './trust.js';
export { generateKeyPair } from './keys.js';
export type { KeyPair } from './keys.js';
export { shq, guardScript, atomicWriteScript, STDIN_SCRIPT_COMMAND, CLOUD_INIT_WAIT_SCRIPT } from './shell.js';
export type { AtomicWriteOptions } from './shell.js';
export { SSH_ERROR_CODES } from './errors.js';
export type { SshErrorCode } from './errors.js';
export { CLEAN_SCRIPT, VERIFY_SCRIPT, parseVerify, isClean, waitForGuest, cleanForTemplate } from './guest-clean.js';
export type { CleanReport, GuestWaitOptions } from './guest-clean.js';
export { forwardRemoteSocket } from './socket-forward.js';
export type { RemoteSocketForward, SocketStreamHandler } from './socket-forward.js';
