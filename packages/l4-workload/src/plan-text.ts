import { createTwoFilesPatch } from 'diff';
import type { ObservedStack, RenderedStack } from './types.js';

/**
 * The text diffs of a stack change, as L3 shows file changes: `compose.yaml` (the document the
 * persona declares, before overrides and lab's labels) and `.env` with secrets as `***`; a
 * changed secret shows as a changed line without its value.
 */
function patch(name: string, before: string, after: string, from: string, to: string): string | undefined {
  if (before === after) return undefined;
  const p = createTwoFilesPatch(`${name} (${from})`, `${name} (${to})`, before, after, undefined, undefined, { context: 3 });
  // Drop the `Index:`/`====` preamble: plans show `---`/`+++` and hunks, like L3's.
  return p.split('\n').filter((l) => !l.startsWith('Index: ') && !/^=+$/.test(l)).join('\n').trimEnd();
}

function envText(env: Readonly<Record<string, string>>, digests: Readonly<Record<string, string>>, changedSecrets: ReadonlySet<string> = new Set()): string {
  const keys = Object.keys(env).sort();
  void digests;
  return keys.map((k) => `${k}=${env[k]}${changedSecrets.has(k) ? '   # secret changed' : ''}\n`).join('');
}

export function stackTextDiff(want: RenderedStack, have: ObservedStack | undefined): string | undefined {
  const from = have?.current ? `guest, release ${have.current}` : 'guest: none';
  const to = `intent, release ${want.hash}`;
  const compose = patch('compose.yaml', have?.manifest?.compose ?? '', want.composeText, from, to);
  const before = have?.manifest?.env ?? {};
  const beforeDigests = have?.manifest?.envDigests ?? {};
  const changedSecrets = new Set(Object.keys(want.envDisplay).filter((k) => k in before && want.envDisplay[k] === '***' && before[k] === '***' && beforeDigests[k] !== want.envDigests[k]));
  const env = patch('.env', envText(before, beforeDigests), envText(want.envDisplay, want.envDigests, changedSecrets), from, to);
  const parts = [compose, env].filter((x): x is string => x !== undefined);
  return parts.length ? parts.join('\n') : undefined;
}
