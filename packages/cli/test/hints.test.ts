import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSchemas } from '@lab/intent';
import { checkArgv } from '../../../tools/runbooks/cli-tree.js';
import { rootCommand } from '../src/commands/index.js';
import { WORKSPACE } from './_harness.js';

/**
 * Issue #14: hints named `lab status`, `lab ssh` and `timeouts.commandMs`, none of which
 * exists. Every `lab …` command quoted in library or CLI source (hints, summaries, docs
 * strings) must walk the real command tree with options it has, and every dotted setting
 * quoted in backticks must be a field of lab.yaml or a persona.
 */

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name === 'test') continue;
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.ts$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const PACKAGES = join(WORKSPACE, 'packages');
const files = readdirSync(PACKAGES)
  .filter((p) => p !== 'pve-sim')
  .flatMap((p) => sources(join(PACKAGES, p, 'src')));

/** Lines that write a hint (a `hint:` field, a *_HINT(S) table, a schema `msg(…, hint)`): what users are told to run. */
function hintLines(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  let inTable = false;
  for (const line of lines) {
    if (/^\s*(?:\/\/|\*|\/\*)/.test(line)) continue;
    if (/HINTS?\b.*[=:]\s*[{(]?\s*$/.test(line)) inTable = true;
    if (inTable || /hint/i.test(line) || /\bmsg\(/.test(line)) out.push(line.replace(/\\`/g, '`'));
    if (inTable && /^\s*}/.test(line)) inTable = false;
  }
  return out;
}

/** `lab plan|check --persona <name>` → one argv per alternative, without placeholders. */
function argvsOf(command: string): string[][] {
  const [head, ...tail] = command.split(/\s+/);
  return (head ?? '').split('|').map((h) => argvOf([h, ...tail].join(' ')));
}

/** `lab plan --persona <name>` → argv without placeholders, quoted `…` or trailing prose. */
function argvOf(command: string): string[] {
  return command
    .replace(/<[^>]*>|…|\.\.\./g, ' X ')
    .replace(/\[[^\]]*\]/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== '' && w !== '|')
    .map((w) => (w.startsWith('--') ? w.replace(/=.*$/, '') : w));
}

/** Every dotted path of a JSON Schema's properties: `vm.disks[].size` is `vm.disks.size`. */
function schemaPaths(schema: unknown, base = '', out = new Set<string>(), depth = 0): Set<string> {
  if (depth > 12 || typeof schema !== 'object' || schema === null) return out;
  const s = schema as Record<string, unknown>;
  for (const k of ['anyOf', 'oneOf', 'allOf']) if (Array.isArray(s[k])) for (const x of s[k] as unknown[]) schemaPaths(x, base, out, depth + 1);
  if (s['items'] !== undefined) schemaPaths(s['items'], base, out, depth + 1);
  if (typeof s['additionalProperties'] === 'object') schemaPaths(s['additionalProperties'], base, out, depth + 1);
  const props = s['properties'] as Record<string, unknown> | undefined;
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      const p = base === '' ? k : `${base}.${k}`;
      out.add(p);
      schemaPaths(v, p, out, depth + 1);
    }
  }
  return out;
}

describe('hints name only what exists', () => {
  it('every quoted `lab …` command is in the command tree, with options it has', async () => {
    const bad: string[] = [];
    let seen = 0;
    for (const f of files) {
      const text = hintLines(readFileSync(f, 'utf8')).join('\n');
      for (const m of text.matchAll(/`lab ((?:[a-z][\w|-]*)(?:[^`\n$]*))`/g)) {
        for (const argv of argvsOf(m[1]!)) {
          seen++;
          const r = await checkArgv(rootCommand, argv);
          if (r.status !== 'ok') bad.push(`${relative(WORKSPACE, f)}: \`lab ${m[1]}\`: ${r.why}`);
        }
      }
    }
    expect(seen).toBeGreaterThan(20);
    expect(bad).toEqual([]);
  });

  it('every quoted dotted setting is a field of lab.yaml or a persona', () => {
    const schemas = jsonSchemas() as unknown as Record<string, unknown>;
    const known = new Set<string>();
    for (const s of Object.values(schemas)) for (const p of schemaPaths(s)) known.add(p);
    expect(known.has('vm.disks.size')).toBe(true);
    const bad: string[] = [];
    for (const f of files) {
      const text = hintLines(readFileSync(f, 'utf8')).join('\n');
      for (const m of text.matchAll(/`([a-z][A-Za-z]*(?:\.[a-z][A-Za-z]*)+)(?:\[\])?(?:[:=][^`]*)?`/g)) {
        const path = m[1]!.replace(/^site\./, '');
        if (/\.(ya?ml|md|json|ts|js|mjs|age|key|pub|conf|service|timer|path|sh|d|lock|toml|txt|env)$/.test(path) || /^(node|process|ctx|this|io|os\.homedir|import)\./.test(path)) continue;
        if (!known.has(path)) bad.push(`${relative(WORKSPACE, f)}: \`${m[0]}\``);
      }
    }
    expect(bad).toEqual([]);
  });
});
