import { colorWanted, createHumanReporter, createNdjsonReporter, type Reporter } from '@lab/core';
import { findLabRoot } from './root.js';

/** Flags every command accepts. */
export const globalArgs = {
  root: { type: 'string', description: 'Lab directory (holds lab.yaml); default: nearest ancestor with one', valueHint: 'dir' },
  json: { type: 'boolean', description: 'Machine-readable output on stdout', default: false },
  verbose: { type: 'boolean', alias: 'v', description: 'More detail on stderr', default: false },
  color: { type: 'boolean', description: 'Colour on stderr (default: when a TTY; --no-color turns it off)' },
  detail: { type: 'boolean', description: 'Show plans in full, every change with its diffs (default: a summary when long)', default: false },
} as const;

export interface GlobalFlags {
  readonly root?: string;
  readonly json?: boolean;
  readonly verbose?: boolean;
  readonly color?: boolean;
  readonly detail?: boolean;
}

export interface Output {
  /** Results go to stdout; progress and diagnostics go to stderr through the reporter. */
  out(text: string): void;
  err(text: string): void;
}

export interface CliContext {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly color: boolean;
  readonly reporter: Reporter;
  readonly io: Output;
  /** Shows a secret once, on stderr only (the engine's `reveal`). */
  reveal(text: string): void;
  /** Lazily found, so `lab schema` works outside a lab. */
  root(): string;
}

/** Streams whose reader went away (`lab schema | head`): what is still written is dropped. */
const closed = new WeakSet<NodeJS.WritableStream>();

const writeTo = (stream: NodeJS.WriteStream, t: string): void => {
  if (!closed.has(stream)) stream.write(t.endsWith('\n') ? t : `${t}\n`);
};

export const processIo: Output = {
  out: (t) => writeTo(process.stdout, t),
  err: (t) => writeTo(process.stderr, t),
};

let guarded = false;

/**
 * A closed pipe on stdout or stderr (`lab schema | head`, a pager quit early) is not a failure
 * of the command: the command runs to its end — an apply is never cut short because nobody
 * reads its output — and what it still writes there is dropped. Installed once, by main().
 */
export function surviveClosedPipes(): void {
  if (guarded) return;
  guarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') {
        closed.add(stream);
        return;
      }
      throw error;
    });
  }
}

let currentIo: Output = processIo;

// The live renderer writes partial lines (spinner, \r); only the real stderr gets them.
function humanStream(io: Output): { isTTY?: boolean; write(s: string): unknown } {
  if (io === processIo) return { isTTY: process.stderr.isTTY, write: (s: string) => (closed.has(process.stderr) ? true : process.stderr.write(s)) };
  return { isTTY: false, write: (s: string) => io.err(s.replace(/\n$/, '')) };
}

/** main() routes command output through the Output it was given (tests capture it). */
export function useOutput(io: Output): void {
  currentIo = io;
}

export function createContext(flags: GlobalFlags, io: Output = currentIo): CliContext {
  const json = flags.json === true;
  const color = flags.color ?? colorWanted(process.stderr);
  // In --json mode progress still goes to stderr, as NDJSON events, so stdout stays one document.
  const reporter = json
    ? createNdjsonReporter({ write: (s: string) => (flags.verbose ? io.err(s) : undefined) })
    : createHumanReporter({ color, verbose: flags.verbose === true, detail: flags.detail === true, stream: humanStream(io) });
  let root: string | undefined;
  return {
    json,
    verbose: flags.verbose === true,
    color,
    reporter,
    io,
    reveal: (text) => io.err(text),
    root: () => (root ??= findLabRoot(flags.root)),
  };
}
