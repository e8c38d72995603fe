import type { Sim } from '../engine/sim.js';
import { fail, permError } from '../http/_errors.js';
import { privCategory } from './config-schema.js';
import { ROOT } from '../access/acl.js';

/** `$check_vm_modify_config_perm`: the VM.Config.* privilege of each key; unknown keys are root-only. */
export function checkModifyConfigPerm(sim: Sim, principal: string, vmid: number, pool: string | undefined, keys: readonly string[]): void {
  if (principal === ROOT) return;
  for (const key of keys) {
    const cat = privCategory(key);
    switch (cat) {
      case 'skip':
        break;
      case 'Options':
        sim.access.checkVm(principal, vmid, pool, ['VM.Config.Options']);
        if (key === 'startup') sim.access.check(principal, '/', ['Sys.Modify']);
        break;
      case 'PowerMgmt':
        sim.access.checkVm(principal, vmid, pool, ['VM.PowerMgmt']);
        break;
      case 'Cloudinit':
        sim.access.checkVm(principal, vmid, pool, ['VM.Config.Cloudinit', 'VM.Config.Network'], true);
        break;
      case 'root':
        fail(`only root can set '${key}' config`);
        break;
      default:
        sim.access.checkVm(principal, vmid, pool, [`VM.Config.${cat}`]);
    }
  }
}

/** Serial ports: `socket` needs HWType, real devices are root-only. */
export function checkSerialPerm(sim: Sim, principal: string, vmid: number, pool: string | undefined, params: Record<string, string>, verb = 'set'): void {
  if (principal === ROOT) return;
  for (const [k, v] of Object.entries(params)) {
    if (!/^serial\d+$/.test(k)) continue;
    if (v === 'socket') sim.access.checkVm(principal, vmid, pool, ['VM.Config.HWType']);
    else fail(`only root can ${verb} '${k}' config for real devices`);
  }
}

/** `check_pool_exist`. */
export function checkPoolExists(sim: Sim, pool: string): void {
  if (!sim.state.pools[pool]) permError(`pool '${pool}' does not exist`);
}

const KEY_TYPES = new Set([
  'ssh-rsa',
  'ssh-dss',
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

function validKeyLine(line: string): boolean {
  const words = line.trim().split(/\s+/);
  for (let i = 0; i < words.length - 1; i++) {
    const type = words[i]!;
    if (!KEY_TYPES.has(type)) continue;
    const blob = Buffer.from(words[i + 1]!, 'base64');
    if (blob.length < 4) return false;
    const len = blob.readUInt32BE(0);
    return blob.subarray(4, 4 + len).toString('latin1') === type;
  }
  return false;
}

/** `validate_ssh_public_keys`: every non-empty line must be a public key `ssh-keygen -l` accepts. */
export function validateSshKeys(decoded: string): void {
  for (const line of decoded.split('\n')) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    if (!validKeyLine(line)) fail('SSH public key validation error');
  }
}
