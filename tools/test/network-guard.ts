/**
 * Test-suite network guard: every socket a test opens must stay on this machine (loopback or a
 * unix socket). Guests are reached through the simulator's jump host, never by a VM's declared
 * address. The guard itself lives in @lab/core, where the CLI uses it for embedded labs too.
 */
import { installLoopbackGuard } from '../../packages/core/src/loopback-guard.js';

installLoopbackGuard(
  'tests may connect only to loopback (127.0.0.0/8, ::1, localhost) or unix sockets; reach guests through the simulator jump host',
);
