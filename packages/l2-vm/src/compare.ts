import { pveList } from '@lab/pve';
import { parseProps } from './_props.js';

const NUMERIC = new Set(['cores', 'sockets', 'memory', 'balloon']);
const BOOL = new Set(['onboot', 'protection', 'numa', 'ciupgrade']);
const PVE_DEFAULTS: Readonly<Record<string, string>> = { onboot: '0', protection: '0', numa: '0', sockets: '1', ciupgrade: '1' };
const NIC_MODELS = new Set(['virtio', 'e1000', 'vmxnet3', 'rtl8139', 'e1000e']);

function nicParts(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of parseProps(value, '__bare')) {
    if (k === '__bare') out.set('model', v);
    else if (NIC_MODELS.has(k)) {
      out.set('model', k);
      if (v) out.set('mac', v.toUpperCase());
    } else out.set(k, v);
  }
  if (!out.has('firewall')) out.set('firewall', '0');
  return out;
}

const notSource = (t: string): boolean => !t.startsWith('lab-image-');

function setOf(items: Iterable<string>): string {
  return [...new Set(items)].sort().join('\n');
}

function sameMap(want: Map<string, string>, have: Map<string, string>, ignoreMissing: readonly string[] = []): boolean {
  for (const [k, v] of want) if (have.get(k) !== v) return false;
  for (const [k] of have) if (!want.has(k) && !ignoreMissing.includes(k)) return false;
  return true;
}

function decodeKeys(value: string | undefined): string {
  let text = value ?? '';
  try {
    text = decodeURIComponent(text);
  } catch {
    /* a malformed value compares as it is */
  }
  return setOf(text.split('\n').map((l) => l.trim()).filter(Boolean));
}

/**
 * Does the observed value satisfy the desired one? Each key is compared in PVE's own terms:
 * numbers as numbers, lists as sets, property strings field by field, and a generated NIC MAC
 * only when the persona fixes one.
 */
export function sameValue(key: string, want: string, given: string | undefined): boolean {
  // PVE leaves a key at its default out of the config: an absent `protection` is 0.
  const have = given ?? PVE_DEFAULTS[key];
  if (have === undefined) return false;
  if (NUMERIC.has(key)) return Number(want) === Number(have);
  if (BOOL.has(key)) return (want === '1') === (have === '1');
  if (key === 'agent') return parseProps(have, 'enabled').get('enabled') === parseProps(want, 'enabled').get('enabled');
  // The clone-source tag (`lab-image-…`) records history, not intent: it never counts as drift.
  if (key === 'tags') return setOf(pveList(want).filter(notSource)) === setOf(pveList(have).filter(notSource));
  if (key === 'hotplug') return setOf(want.split(',')) === setOf(have.split(','));
  if (key === 'nameserver' || key === 'searchdomain') return setOf(want.split(/\s+/)) === setOf(have.split(/\s+/));
  if (key === 'description') return want.trim() === have.trim();
  if (key === 'sshkeys') return decodeKeys(want) === decodeKeys(have);
  if (/^net\d+$/.test(key)) {
    const w = nicParts(want);
    return sameMap(w, nicParts(have), w.has('mac') ? [] : ['mac']);
  }
  if (/^ipconfig\d+$/.test(key) || key === 'startup' || key === 'cicustom') return sameMap(parseProps(want), parseProps(have));
  return want === have;
}
