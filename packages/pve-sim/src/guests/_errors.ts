import { LabError } from '@lab/core';

/** Failures both backends report the same way; the VM engine turns them into Proxmox errors. */

export function notRunning(vmid: number): LabError {
  return new LabError({ code: 'LAB_SIM_GUEST_NOT_RUNNING', summary: `VM ${vmid} not running` });
}

export function snapshotExists(vmid: number, name: string): LabError {
  return new LabError({ code: 'LAB_SIM_SNAPSHOT_EXISTS', summary: `snapshot name '${name}' already used (VM ${vmid})` });
}

export function noSnapshot(vmid: number, name: string): LabError {
  return new LabError({ code: 'LAB_SIM_SNAPSHOT_MISSING', summary: `snapshot '${name}' does not exist (VM ${vmid})` });
}

export function agentNotRunning(vmid: number): LabError {
  return new LabError({
    code: 'LAB_SIM_AGENT_NOT_RUNNING',
    summary: `QEMU guest agent is not running (VM ${vmid})`,
  });
}
