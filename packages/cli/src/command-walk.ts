/**
 * How `lab` reads the command words of an argv: walk down the citty command tree, the first
 * non-flag word naming a subcommand each time. Shared by `main` and the runbook checker
 * (tools/runbooks/cli-tree.ts), so a runbook's command is checked exactly as `lab` would run
 * it. The types are structural so that the checker needs no citty of its own.
 */

export type Lazy<T> = T | Promise<T> | (() => T | Promise<T>);

/** The parts of a citty command definition the walk reads. */
export interface CommandNode {
  readonly subCommands?: unknown;
  readonly run?: unknown;
}

export async function resolveLazy<T>(v: Lazy<T>): Promise<T> {
  return typeof v === 'function' ? await (v as () => T | Promise<T>)() : await v;
}

export type Walk<C> =
  /** `cmd` is the command argv names; `rest` is argv without its command words. */
  | { readonly kind: 'found'; readonly cmd: C; readonly path: string[]; readonly rest: string[] }
  /** `path` ends with a word that names no subcommand of a command that needs one. */
  | { readonly kind: 'unknown'; readonly path: string[]; readonly known: readonly string[] }
  /** The subcommand at `path` is declared but its (lazy) definition failed to load. */
  | { readonly kind: 'unloadable'; readonly path: string[]; readonly error: unknown };

/**
 * Walk `argv` from `root`: `secret set x` → [secret, set], rest ['x']. A command that runs
 * itself takes a word that names none of its subcommands as an argument.
 */
export async function walkCommands<C extends CommandNode>(root: C, argv: readonly string[]): Promise<Walk<C>> {
  let cmd = root;
  const path: string[] = [];
  let rest = [...argv];
  for (;;) {
    const subs = cmd.subCommands ? await resolveLazy(cmd.subCommands as Lazy<Record<string, Lazy<C>>>) : undefined;
    const i = rest.findIndex((a) => !a.startsWith('-'));
    if (!subs || i < 0) break;
    const name = rest[i]!;
    const next = subs[name];
    if (!next) {
      if (cmd.run) break;
      return { kind: 'unknown', path: [...path, name], known: Object.keys(subs) };
    }
    try {
      cmd = await resolveLazy(next);
    } catch (error) {
      return { kind: 'unloadable', path: [...path, name], error };
    }
    path.push(name);
    rest = [...rest.slice(0, i), ...rest.slice(i + 1)];
  }
  return { kind: 'found', cmd, path, rest };
}
