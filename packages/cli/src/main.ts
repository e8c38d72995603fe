/**
 * The `lab` command line. Commands are data (citty definitions) resolved lazily; this module is
 * the only place that turns errors into exit codes: 0 ok/no changes, 1 error, 2 changes pending.
 */
import { parseArgs, renderUsage, type ArgsDef, type CommandDef } from 'citty';
import { ExitCode, isLabError, LabError, toLabError } from '@lab/core';
import { processIo, surviveClosedPipes, useOutput, type Output } from './context.js';
import { rootCommand } from './commands/index.js';
import { resolveLazy, walkCommands } from './command-walk.js';

type AnyCommand = CommandDef<ArgsDef>;

/** The command argv names, or the usage error of a word that names none. */
async function resolveCommand(argv: readonly string[]): Promise<{ cmd: AnyCommand; path: string[]; rest: string[] }> {
  const walk = await walkCommands(rootCommand as AnyCommand, argv);
  if (walk.kind === 'unloadable') throw walk.error;
  if (walk.kind === 'unknown') {
    const parent = walk.path.slice(0, -1);
    throw new LabError({
      code: 'LAB_CLI_UNKNOWN_COMMAND',
      summary: `unknown command '${walk.path.join(' ')}'`,
      hint: `run \`lab ${parent.join(' ')}${parent.length ? ' ' : ''}--help\` to see the commands (${walk.known.join(', ')})`,
    });
  }
  return walk;
}

export async function main(argv: readonly string[], given: Output = processIo): Promise<number> {
  const wantsJson = argv.includes('--json');
  if (given === processIo) surviveClosedPipes();
  // With --json stdout holds one document: a command that already wrote one (a failed apply
  // writes its plan with the error) gets no second one from here.
  // (Only then is stdout wrapped: the human renderer recognises the process's own streams.)
  let wroteStdout = false;
  const io: Output = wantsJson ? { out: (t) => ((wroteStdout = true), given.out(t)), err: (t) => given.err(t) } : given;
  useOutput(io);
  try {
    if (argv.length === 1 && argv[0] === '--version') {
      const { LAB_VERSION } = await import('./version.js');
      io.out(LAB_VERSION);
      return ExitCode.Ok;
    }
    const { cmd, path, rest } = await resolveCommand(argv);
    if (rest.includes('--help') || rest.includes('-h') || !cmd.run) {
      io.out(await renderUsage(cmd));
      return cmd.run || rest.includes('--help') || rest.includes('-h') ? ExitCode.Ok : ExitCode.Error;
    }
    const argsDef = cmd.args ? await resolveLazy(cmd.args) : {};
    rejectUnknownFlags(rest, argsDef, path);
    const args = parseArgs(rest, argsDef);
    for (const [name, def] of Object.entries(argsDef)) {
      if (def.required && (args[name] === undefined || args[name] === '')) {
        throw new LabError({
          code: 'LAB_CLI_USAGE',
          summary: `lab ${path.join(' ')}: missing ${def.type === 'positional' ? `<${name}>` : `--${name}`}`,
          hint: `run \`lab ${path.join(' ')} --help\``,
        });
      }
    }
    const result = await cmd.run({ rawArgs: [...rest], args, cmd });
    return typeof result === 'number' ? result : ExitCode.Ok;
  } catch (error) {
    const e = isLabError(error) ? error : toLabError(error);
    if (wantsJson && !wroteStdout) io.out(JSON.stringify({ ok: false, error: e.toJSON() }, null, 2));
    io.err(e.format());
    if (!isLabError(error) && process.env.LAB_DEBUG) io.err(String((error as Error).stack));
    return ExitCode.Error;
  }
}

/** citty ignores unknown flags; a typo like `--persone media` must not silently do something else. */
function rejectUnknownFlags(rest: readonly string[], argsDef: ArgsDef, path: readonly string[]): void {
  const known = new Set<string>();
  for (const [name, def] of Object.entries(argsDef)) {
    known.add(name);
    if (def.type === 'boolean') known.add(`no-${name}`);
    const aliases = 'alias' in def && def.alias ? (Array.isArray(def.alias) ? def.alias : [def.alias]) : [];
    aliases.forEach((a) => known.add(a));
  }
  for (const a of rest) {
    if (a === '--') break;
    const m = /^--?([^=]+)/.exec(a);
    if (!m || /^-\d/.test(a)) continue;
    const names = a.startsWith('--') ? [m[1]!] : [...m[1]!];
    for (const n of names) {
      if (!known.has(n)) {
        throw new LabError({
          code: 'LAB_CLI_USAGE',
          summary: `lab ${path.join(' ')}: unknown option '${a.startsWith('--') ? `--${n}` : `-${n}`}'`,
          hint: `run \`lab ${path.join(' ')} --help\` for the options`,
        });
      }
    }
  }
}
