/**
 * Bounds every loader enforces, before parsing and while resolving (adr/0165). They are far
 * above what a real lab writes (the largest persona of the example lab is 4 KiB, 150 nodes)
 * and far below what hurts: a file past them is refused at once, with its file:line:col and
 * the limit, instead of costing minutes and gigabytes.
 */
export const LIMITS = {
  /** Bytes of one lab.yaml, persona or mixin. Read at most this plus one byte. */
  yamlFileBytes: 256 * 1024,
  /** Bytes of a referenced file (compose file, `source:`, apt key) read while loading. */
  referencedFileBytes: 1024 * 1024,
  /** Nodes of one file's tree after alias expansion: keys, items and scalars. */
  nodes: 20_000,
  /** Alias uses in one file. Aliases share a value; they do not build documents. */
  aliases: 100,
  /** Keys of one map. */
  mapKeys: 1_000,
  /** Nesting of maps and lists. */
  depth: 32,
  /** Characters of one string value or key. */
  stringChars: 64 * 1024,
  /** Files one persona may include, directly or through mixins. */
  includes: 32,
  /** Include chain length: persona → mixin → mixin … */
  includeDepth: 8,
} as const;

export function kib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}
