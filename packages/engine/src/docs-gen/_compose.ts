import { parse } from 'yaml';
import { isSecretRef, parseComposePort, readLabFile, type Stack } from '@lab/intent';

/** One host port a Compose service publishes. */
export interface PublishedPort {
  readonly stack: string;
  readonly service: string;
  readonly hostIp: string;
  readonly port: string;
  readonly protocol: string;
  readonly target: string;
}

export interface ComposeFacts {
  readonly services: readonly { readonly name: string; readonly image: string; readonly hostNetwork: boolean }[];
  readonly ports: readonly PublishedPort[];
  /** Set when the compose file could not be read or parsed; the docs say so instead of failing. */
  readonly problem?: string;
}

/**
 * `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `$VAR` from the stack's plain env values;
 * secrets and unknown variables stay as written (the docs never hold a secret).
 */
export function interpolate(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (all, braced: string | undefined, dflt: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    return env[name] ?? dflt ?? all;
  });
}

/** Short and long syntax, read by @lab/intent's `parseComposePort`; `port` is the published side. */
export function parsePortEntry(entry: unknown): { hostIp: string; port: string; protocol: string; target: string } | undefined {
  const p = parseComposePort(entry);
  return p && { hostIp: p.hostIp, port: p.published, protocol: p.protocol, target: p.target };
}

export function plainEnv(stack: Stack): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(stack.env)) if (!isSecretRef(v)) out[k] = String(v);
  return out;
}

/** Services, images and published ports of one stack, from its compose file or inline document. */
export async function composeFacts(root: string, stack: Stack): Promise<ComposeFacts> {
  let doc: unknown;
  try {
    // Read as the loaders do (inside the repository, bounded), and parsed with a bounded alias count.
    doc = typeof stack.compose === 'string' ? parse((await readLabFile(root, stack.compose, 'compose file')).toString('utf8'), { merge: true, maxAliasCount: 100 }) : stack.compose;
  } catch (error) {
    return { services: [], ports: [], problem: `compose file not readable: ${(error as Error).message.split('\n')[0]}` };
  }
  const env = plainEnv(stack);
  const services = (doc as { services?: unknown } | null)?.services;
  if (typeof services !== 'object' || services === null) return { services: [], ports: [] };
  const outServices: { name: string; image: string; hostNetwork: boolean }[] = [];
  const ports: PublishedPort[] = [];
  for (const [name, raw] of Object.entries(services as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) {
    const svc = (raw ?? {}) as Record<string, unknown>;
    const image = typeof svc['image'] === 'string' ? interpolate(svc['image'], env) : '(built)';
    outServices.push({ name, image, hostNetwork: svc['network_mode'] === 'host' });
    for (const entry of Array.isArray(svc['ports']) ? (svc['ports'] as unknown[]) : []) {
      const p = parsePortEntry(typeof entry === 'string' ? interpolate(entry, env) : entry);
      if (p) ports.push({ stack: stack.name, service: name, ...p });
    }
  }
  return { services: outServices, ports };
}
