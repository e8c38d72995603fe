import { LabError, type Reporter } from '@lab/core';
import type { PveClient } from '@lab/pve';
import { assessHost } from './assess.js';
import { labIdentity } from './identity.js';
import { observeHost, type HostObservation } from './observe.js';
import { hostReport, reportDiagnostics, type HostReport } from './report.js';
import type { HostIntent } from './requirements.js';
import type { HostItem } from './item.js';

export interface CheckHostOptions {
  /** Token id whose privileges are checked; default: the lab token of lab.yaml. */
  readonly subject?: string;
  readonly secretStored?: boolean;
  readonly reporter?: Reporter;
  /**
   * Tolerate failures that `lab apply --layer l0` fixes (missing role, ACL, pool, content
   * type): for planning L1–L4 in the same run as a not yet applied L0. Apply must not set it.
   */
  readonly allowPendingSetup?: boolean;
}

export interface HostCheck {
  readonly report: HostReport;
  readonly observation: HostObservation;
}

/**
 * Observe the site and assess it against the intent: the read-only half of L0 that every
 * Proxmox layer runs first. With the lab token as `client` it checks exactly what the lab
 * will be able to do.
 */
export async function checkHost(client: PveClient, intent: HostIntent, options: CheckHostOptions = {}): Promise<HostCheck> {
  const subject = options.subject ?? labIdentity(intent.site).tokenId;
  options.reporter?.emit({ type: 'phase', name: 'check Proxmox host', layer: 'l0' });
  const observation = await observeHost(client, intent, { subject });
  const assessment = assessHost(intent, observation, options.secretStored === undefined ? {} : { secretStored: options.secretStored });
  return { report: hostReport(assessment, observation), observation };
}

/**
 * Refuse to go on when L0 fails: L1–L4 call this before touching Proxmox. Pass only the
 * personas the layer works on; the error lists every failed check with its fix.
 */
export async function assertHostReady(client: PveClient, intent: HostIntent, options: CheckHostOptions = {}): Promise<HostReport> {
  const { report } = await checkHost(client, intent, options);
  const fixable = (i: HostItem): boolean => (i.change !== undefined && i.change.action !== 'noop') || i.fixedBy !== undefined;
  const blocking = report.items.filter((i) => i.status === 'fail' && !(options.allowPendingSetup && fixable(i)));
  if (blocking.length > 0) {
    const diagnostics = reportDiagnostics({ ...report, items: blocking });
    throw new LabError({
      code: 'LAB_L0_NOT_READY',
      summary: `the Proxmox host is not ready for the lab: ${diagnostics.length} check${diagnostics.length === 1 ? '' : 's'} failed`,
      diagnostics,
      hint: 'see `lab check --layer l0`; `lab apply --layer l0` fixes roles, tokens, ACLs, pools and storage content',
    });
  }
  return report;
}
