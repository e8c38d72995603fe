import { resolveLazy, walkCommands, type Lazy } from '../../packages/cli/src/command-walk.js';

/** The parts of a citty command definition the check reads (structural: citty is the CLI's dependency). */
interface ArgDef {
  readonly type?: string;
  readonly alias?: string | readonly string[];
}
type ArgsDef = Readonly<Record<string, ArgDef>>;
export interface AnyCommand {
  readonly subCommands?: unknown;
  readonly args?: unknown;
  readonly run?: unknown;
}

/** What checking one `lab …` argv against the CLI's command tree found. */
export type ArgvCheck =
  | { readonly status: 'ok'; readonly path: readonly string[] }
  /** The command is not in this version of lab (yet): its name, or its module, is missing. */
  | { readonly status: 'unavailable'; readonly path: readonly string[]; readonly why: string }
  | { readonly status: 'bad'; readonly path: readonly string[]; readonly why: string };

function flagNames(args: ArgsDef): Set<string> {
  const known = new Set<string>();
  for (const [name, def] of Object.entries(args)) {
    if (def.type === 'positional') continue;
    known.add(name);
    if (def.type === 'boolean') known.add(`no-${name}`);
    const alias = def.alias === undefined ? [] : typeof def.alias === 'string' ? [def.alias] : def.alias;
    alias.forEach((a) => known.add(a));
  }
  return known;
}

/** `--name`, `--name=v`, `-y`, `-vy` → the names they set; `--` ends flags. */
export function flagsOf(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    if (a === '--') break;
    const m = /^--?([^=]+)/.exec(a);
    if (!m || /^-\d/.test(a) || a === '-') continue;
    if (a.startsWith('--')) out.push(m[1]!);
    else out.push(...m[1]!);
  }
  return out;
}

/**
 * Walk `argv` down lab's citty command tree as `lab`'s main does (the first non-flag words
 * name subcommands), then check every flag is one the command declares. Lazy subcommands are
 * loaded; one whose module is missing counts as unavailable, like a name that is not there.
 */
export async function checkArgv(root: AnyCommand, argv: readonly string[]): Promise<ArgvCheck> {
  const walk = await walkCommands(root, argv);
  const where = `lab ${walk.path.join(' ')}`;
  if (walk.kind === 'unknown') return { status: 'unavailable', path: walk.path, why: `no command '${where}' (has: ${walk.known.join(', ')})` };
  if (walk.kind === 'unloadable') return { status: 'unavailable', path: walk.path, why: `'${where}' does not load: ${(walk.error as Error).message.split('\n')[0]}` };
  const { cmd, path, rest } = walk;
  if (!cmd.run) return { status: 'bad', path, why: `'lab ${path.join(' ')}' needs a subcommand` };
  const known = flagNames(cmd.args ? await resolveLazy(cmd.args as Lazy<ArgsDef>) : {});
  known.add('help');
  known.add('h');
  const unknown = flagsOf(rest).filter((f) => !known.has(f));
  if (unknown.length > 0) return { status: 'bad', path, why: `'lab ${path.join(' ')}' has no option ${unknown.map((f) => (f.length === 1 ? `-${f}` : `--${f}`)).join(', ')} (has: ${[...known].sort().join(', ')})` };
  return { status: 'ok', path };
}
