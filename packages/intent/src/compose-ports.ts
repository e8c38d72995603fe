/**
 * One `ports:` entry of a Compose service, short (`"127.0.0.1:8080:80/udp"`, `"[::1]:8080:80"`,
 * `"8000-8010:8000-8010"`) or long (`{ published, target, host_ip, protocol }`) syntax. The one
 * reading for L4's checks and the generated docs (adr/0141).
 */
export interface ComposePort {
  /** Host IP it binds, `0.0.0.0` when none is given (IPv6 without brackets). */
  readonly hostIp: string;
  /** Host port or range as written (`8080`, `8000-8010`). */
  readonly published: string;
  readonly protocol: string;
  /** Container port or range as written; empty when the long syntax leaves it out. */
  readonly target: string;
}

/** The entry's host side, or undefined when it publishes none (a bare container port gets a random one). */
export function parseComposePort(entry: unknown): ComposePort | undefined {
  if (typeof entry === 'object' && entry !== null) {
    const e = entry as Record<string, unknown>;
    if (e['published'] === undefined) return undefined;
    return {
      hostIp: typeof e['host_ip'] === 'string' ? e['host_ip'] : '0.0.0.0',
      published: String(e['published']),
      protocol: typeof e['protocol'] === 'string' ? e['protocol'] : 'tcp',
      target: String(e['target'] ?? ''),
    };
  }
  const [spec = '', protocol = 'tcp'] = String(entry).split('/');
  const m = /^(?:(\[[^\]]+\]|\d+\.\d+\.\d+\.\d+):)?(?:([\d-]*):)?([\d-]+)$/.exec(spec);
  if (!m || m[2] === undefined || m[2] === '') return undefined;
  return { hostIp: m[1]?.replace(/^\[|\]$/g, '') ?? '0.0.0.0', published: m[2], protocol, target: m[3] ?? '' };
}
