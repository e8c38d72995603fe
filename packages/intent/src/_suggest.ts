/**
 * Edit distance counting a swap of two neighbours as one edit (optimal string alignment):
 * `meida` is one slip away from `media`. Inputs are YAML keys, a few dozen characters.
 */
function distance(a: string, b: string): number {
  if (a === b) return 0;
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] ?? 0) + 1);
      cur[j] = d;
    }
    before = prev;
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

const fold = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');

/**
 * The known word closest to `word`, if it is close enough to be a plausible typo.
 * `vlan_aware` and `VlanAware` both find `vlanAware`: case and separators are the most
 * common slip when people copy keys from other tools.
 */
export function closest(word: string, known: readonly string[]): string | undefined {
  const folded = fold(word);
  const same = known.find((k) => fold(k) === folded);
  if (same !== undefined) return same;
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const d = distance(folded, fold(k));
    if (d < bestScore) {
      bestScore = d;
      best = k;
    }
  }
  const limit = Math.max(1, Math.floor(Math.max(word.length, 3) / 3));
  return bestScore <= limit ? best : undefined;
}

/** `did you mean "memory"?`, or the list of what is allowed when nothing is close. */
export function suggestion(word: string, known: readonly string[], what = 'allowed'): string {
  const near = closest(word, known);
  if (near !== undefined) return `did you mean "${near}"?`;
  return `${what}: ${known.join(', ')}`;
}
