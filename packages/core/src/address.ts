/**
 * A stable identity for one managed thing: `<persona>/<layer>/<kind>[<key>]`,
 * e.g. `media/l3/apt.package[htop]`, `media/l2/vm`, `_site/l0/storage[local-lvm]`.
 * See adr/0003-address-format.md.
 */
export type Address = string & { readonly __brand: 'Address' };

export const LAYERS = ['l0', 'l1', 'l2', 'l3', 'l4', 'capture'] as const;
export type Layer = (typeof LAYERS)[number];

/** The scope used for site-wide things that belong to no persona (L0 host, L1 images). */
export const SITE_SCOPE = '_site';

export interface AddressParts {
  readonly scope: string;
  readonly layer: Layer;
  readonly kind: string;
  readonly key?: string;
}

const SCOPE = /^(?:_site|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$/;
const KIND = /^[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*$/;

/** Build an address; throws on a malformed part (a programming error, not user input). */
export function address(scope: string, layer: Layer, kind: string, key?: string): Address {
  if (!SCOPE.test(scope)) throw new TypeError(`invalid address scope '${scope}'`);
  if (!(LAYERS as readonly string[]).includes(layer)) throw new TypeError(`invalid layer '${layer}'`);
  if (!KIND.test(kind)) throw new TypeError(`invalid address kind '${kind}'`);
  const suffix = key === undefined ? '' : `[${escapeKey(key)}]`;
  return `${scope}/${layer}/${kind}${suffix}` as Address;
}

/** Keys may hold any text; `]` and `\` are escaped with a backslash so parsing is unambiguous. */
function escapeKey(key: string): string {
  return key.replace(/[\\\]]/g, (c) => `\\${c}`);
}

function unescapeKey(key: string): string {
  return key.replace(/\\(.)/g, '$1');
}

const PARSE = /^([^/]+)\/([^/]+)\/([^[]+)(?:\[((?:\\.|[^\\\]])*)\])?$/;

export function parseAddress(text: string): AddressParts {
  const m = PARSE.exec(text);
  if (!m) throw new TypeError(`not a lab address: '${text}' (expected <persona>/<layer>/<kind>[<key>])`);
  const [, scope, layer, kind, key] = m as unknown as [string, string, string, string, string | undefined];
  address(scope, layer as Layer, kind); // validates
  return key === undefined
    ? { scope, layer: layer as Layer, kind }
    : { scope, layer: layer as Layer, kind, key: unescapeKey(key) };
}

export function isAddress(text: string): text is Address {
  try {
    parseAddress(text);
    return true;
  } catch {
    return false;
  }
}
