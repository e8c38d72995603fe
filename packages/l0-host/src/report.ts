import { ExitCode, type Diagnostic } from '@lab/core';
import type { PveVersion } from '@lab/pve';
import type { HostAssessment } from './assess.js';
import type { HostItem, ItemStatus } from './item.js';
import type { HostObservation } from './observe.js';

/** The readiness of the site, for `lab check --layer l0` and for L1–L4 before they start. */
export interface HostReport {
  /** No item failed. */
  readonly ok: boolean;
  /** 0 ready, 1 not ready (Terraform-style codes; see adr/0002). */
  readonly exitCode: ExitCode;
  readonly url: string;
  readonly observer: string;
  readonly subject: string;
  readonly version?: PveVersion;
  readonly counts: Readonly<Record<ItemStatus, number>>;
  readonly items: readonly HostItem[];
}

export function hostReport(assessment: HostAssessment, obs: HostObservation): HostReport {
  const counts: Record<ItemStatus, number> = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const i of assessment.items) counts[i.status] += 1;
  const ok = counts.fail === 0;
  return {
    ok,
    exitCode: ok ? ExitCode.Ok : ExitCode.Error,
    url: obs.url,
    observer: obs.observer,
    subject: obs.subject,
    ...(obs.version ? { version: obs.version } : {}),
    counts,
    items: assessment.items,
  };
}

/** Failures (and warnings) of a report as Diagnostics, e.g. for a LabError. */
export function reportDiagnostics(report: HostReport, include: readonly ItemStatus[] = ['fail']): Diagnostic[] {
  return report.items
    .filter((i) => include.includes(i.status))
    .map((i): Diagnostic => ({
      severity: i.status === 'fail' ? 'error' : i.status === 'warn' ? 'warning' : 'info',
      code: i.code,
      summary: i.summary,
      address: i.address,
      ...(i.detail ? { detail: i.detail } : {}),
      ...(i.hint ? { hint: i.hint } : {}),
    }));
}

const MARK: Record<ItemStatus, string> = { ok: '✓', warn: '!', fail: '✗', skip: '-' };
const COLOR: Record<ItemStatus, string> = { ok: '32', warn: '33', fail: '31', skip: '90' };

export interface RenderReportOptions {
  readonly color?: boolean;
  /** Also list passed checks. Default true. */
  readonly showOk?: boolean;
}

/** Human text: one line per check with a mark, hints under failures, a summary line. */
export function renderHostReport(report: HostReport, options: RenderReportOptions = {}): string {
  const paint = (status: ItemStatus, text: string): string => (options.color ? `\x1b[${COLOR[status]}m${text}\x1b[0m` : text);
  const lines: string[] = [`L0 host check of ${report.url} (token ${report.subject}, read as ${report.observer})`];
  for (const i of report.items) {
    if (i.status === 'ok' && options.showOk === false) continue;
    lines.push(`${paint(i.status, MARK[i.status])} ${i.summary}`);
    if (i.status !== 'ok' && i.detail) lines.push(...i.detail.split('\n').map((l) => `    ${l}`));
    if ((i.status === 'fail' || i.status === 'warn') && i.hint) lines.push(`    hint: ${i.hint}`);
  }
  const c = report.counts;
  lines.push('', `${report.ok ? 'Host ready' : 'Host NOT ready'}: ${c.ok} ok, ${c.fail} failed, ${c.warn} warning${c.warn === 1 ? '' : 's'}, ${c.skip} not checked`);
  return lines.join('\n');
}
