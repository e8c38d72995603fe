import { posix } from 'node:path';
import type { Diagnostic, SourceLocation } from '@lab/core';
import { parseComposePort } from '@lab/intent';

/** One stack's compose document as lab's own checks see it. */
export interface CheckedCompose {
  readonly stack: string;
  readonly data: Record<string, unknown>;
  readonly locate: (path: readonly (string | number)[]) => SourceLocation | undefined;
}

export interface LabCheckOptions {
  readonly stage: 'stable' | 'experimental';
  /** Mount points of the persona's persistent data disks. */
  readonly dataPaths: readonly string[];
}

type Services = Record<string, Record<string, unknown>>;

function services(c: CheckedCompose): Services {
  const s = c.data.services;
  return typeof s === 'object' && s !== null ? (s as Services) : {};
}

function diag(c: CheckedCompose, path: (string | number)[], d: Omit<Diagnostic, 'source'>): Diagnostic {
  const source = c.locate(path);
  return { ...d, ...(source ? { source } : {}) };
}

/** Floating means no tag, or `latest`; a digest (`@sha256:…`) is the best pin there is. */
export function isFloatingImage(image: string): boolean {
  if (image.includes('@')) return false;
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return colon < 0 || last.slice(colon + 1) === 'latest';
}

function allowsFloating(c: CheckedCompose, svc: Record<string, unknown>): boolean {
  const x = (v: unknown) => typeof v === 'object' && v !== null && (v as { allowFloatingTags?: unknown }).allowFloatingTags === true;
  return x(c.data['x-lab']) || x(svc['x-lab']);
}

interface Published {
  readonly ip: string;
  readonly port: number;
  readonly protocol: string;
}

function expand(range: string): number[] {
  const [a, b] = range.split('-').map(Number);
  if (a === undefined || Number.isNaN(a)) return [];
  if (b === undefined || Number.isNaN(b) || b < a || b - a > 1000) return [a];
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/** Host-side ports of one `ports:` entry, short or long syntax (ranges expanded). */
export function publishedPorts(entry: unknown): Published[] {
  const p = parseComposePort(entry);
  return p ? expand(p.published).map((port) => ({ ip: p.hostIp, port, protocol: p.protocol })) : [];
}

interface Mount {
  readonly kind: 'bind' | 'volume' | 'other';
  readonly source?: string;
  readonly readOnly: boolean;
}

export function parseMount(entry: unknown): Mount {
  if (typeof entry === 'object' && entry !== null) {
    const e = entry as { type?: unknown; source?: unknown; read_only?: unknown };
    const kind = e.type === 'bind' ? 'bind' : e.type === 'volume' ? 'volume' : 'other';
    return { kind, ...(typeof e.source === 'string' ? { source: e.source } : {}), readOnly: e.read_only === true };
  }
  const parts = String(entry).split(':');
  if (parts.length < 2) return { kind: 'volume', readOnly: false };
  const source = parts[0]!;
  const readOnly = (parts[2] ?? '').split(',').includes('ro');
  const bind = source.startsWith('/') || source.startsWith('.') || source.startsWith('~');
  return { kind: bind ? 'bind' : 'volume', source, readOnly };
}

function under(path: string, dir: string): boolean {
  const p = posix.normalize(path);
  const d = posix.normalize(dir).replace(/\/+$/, '');
  return p === d || p.startsWith(`${d}/`);
}

/**
 * Lab's own rules on top of the compose-spec schema: pinned images in stable personas, each
 * host port published once across the persona's stacks, and writable data only under the
 * persona's persistent data paths (what survives a VM re-create). Read-only binds (config,
 * /etc/localtime, the docker socket) are not data and are allowed anywhere; relative binds
 * point into the release directory lab writes.
 */
export function labChecks(stacks: readonly CheckedCompose[], options: LabCheckOptions): Diagnostic[] {
  const out: Diagnostic[] = [];
  const ports = new Map<string, string>();
  for (const c of stacks) {
    for (const [name, svc] of Object.entries(services(c))) {
      const image = svc.image;
      if (options.stage === 'stable' && typeof image === 'string' && isFloatingImage(image) && !allowsFloating(c, svc)) {
        out.push(diag(c, ['services', name, 'image'], {
          severity: 'error',
          code: 'LAB_L4_FLOATING_TAG',
          summary: `stack ${c.stack}: service ${name} uses the floating image "${image}" in a stable persona`,
          hint: 'pin a version tag or digest (image: name:1.2.3), or allow it with `x-lab: { allowFloatingTags: true }`',
        }));
      }
      const list = Array.isArray(svc.ports) ? svc.ports : [];
      list.forEach((entry, i) => {
        for (const p of publishedPorts(entry)) {
          const wildcard = p.ip === '0.0.0.0' || p.ip === '::';
          const clash = [...ports.keys()].find((k) => {
            const [ip, port, proto] = k.split('|');
            return port === String(p.port) && proto === p.protocol && (wildcard || ip === p.ip || ip === '0.0.0.0' || ip === '::');
          });
          const key = `${p.ip}|${p.port}|${p.protocol}`;
          if (clash) {
            out.push(diag(c, ['services', name, 'ports', i], {
              severity: 'error',
              code: 'LAB_L4_PORT_CONFLICT',
              summary: `stack ${c.stack}: service ${name} publishes ${p.protocol} port ${p.port}, already published by ${ports.get(clash)}`,
              hint: 'publish each host port once per machine; change one of the published ports',
            }));
          } else ports.set(key, `${c.stack}/${name}`);
        }
      });
      const vols = Array.isArray(svc.volumes) ? svc.volumes : [];
      vols.forEach((entry, i) => {
        const m = parseMount(entry);
        if (m.kind === 'bind' && m.source?.startsWith('/') && !m.readOnly && !options.dataPaths.some((d) => under(m.source!, d))) {
          out.push(diag(c, ['services', name, 'volumes', i], {
            severity: 'error',
            code: 'LAB_L4_VOLUME_OUTSIDE_DATA',
            summary: `stack ${c.stack}: service ${name} writes to ${m.source}, outside the persona's persistent data paths (${options.dataPaths.join(', ') || 'none declared'})`,
            hint: 'bind data under a persistent disk mount (vm.disks[] with persistent: true and mount), or mount it read-only (:ro)',
          }));
        }
        if (m.kind === 'volume' && m.source !== undefined) {
          out.push(diag(c, ['services', name, 'volumes', i], {
            severity: 'warning',
            code: 'LAB_L4_NAMED_VOLUME',
            summary: `stack ${c.stack}: service ${name} keeps data in the named volume "${m.source}", which lives on the root disk and does not survive a VM re-create`,
            hint: 'bind it under a persistent data path instead',
          }));
        }
      });
    }
  }
  return out;
}
