/**
 * Runbooks are Markdown whose shell blocks a test runs. Each ```sh block is preceded by a marker
 * comment that says what the test does with it:
 *
 *   <!-- runbook: run -->                       run it, in order, in a scratch lab on the simulator
 *   <!-- runbook: parse — needs a real guest --> check that every `lab` command in it parses
 *   <!-- runbook: manual — on the new node -->   hardware steps; must not contain `lab` commands
 *
 * A trailing `# exit 2` / `# exits 0 or 2` comment on a command states its expected exit code
 * (default 0). Pure: text in, blocks out.
 */

export type BlockMode = 'run' | 'parse' | 'manual';

export interface RunbookCommand {
  /** The command as bash will see it: continuation lines joined, a heredoc kept with its body. */
  readonly text: string;
  /** 1-based line in the Markdown file. */
  readonly line: number;
  readonly expect: readonly number[];
}

export interface RunbookBlock {
  readonly mode: BlockMode;
  /** Why a block is not run (the text after the dash of the marker). */
  readonly reason: string;
  readonly line: number;
  readonly commands: readonly RunbookCommand[];
}

export interface Runbook {
  readonly file: string;
  readonly title: string;
  readonly blocks: readonly RunbookBlock[];
  /** Lines of the opening fences of ```sh blocks without a marker: the test refuses them. */
  readonly unmarked: readonly number[];
}

const MARKER = /^<!--\s*runbook:\s*(run|parse|manual)\s*(?:[—–-]+\s*(.*?))?\s*-->\s*$/;
const EXPECT = /#.*\bexits?\s+(\d)(?:\s*(?:or|\/|,)\s*(\d))?/;

function expectOf(line: string): number[] {
  const m = EXPECT.exec(line);
  if (!m) return [0];
  return [Number(m[1]), ...(m[2] ? [Number(m[2])] : [])];
}

/** Split a block's lines into commands: `\` continuations joined, heredoc bodies attached. */
export function splitCommands(lines: readonly string[], firstLine: number): RunbookCommand[] {
  const out: RunbookCommand[] = [];
  let i = 0;
  while (i < lines.length) {
    const start = i;
    const raw = lines[i]!;
    if (raw.trim() === '' || raw.trim().startsWith('#')) {
      i += 1;
      continue;
    }
    const parts = [raw];
    while (parts[parts.length - 1]!.endsWith('\\') && i + 1 < lines.length) parts.push(lines[++i]!);
    // The expectation is written on the command itself, never read from a heredoc's body.
    const expect = expectOf(parts.join(' '));
    const heredoc = /<<-?\s*(['"]?)([A-Za-z_]+)\1/.exec(parts.join('\n'));
    if (heredoc) {
      const end = heredoc[2]!;
      while (i + 1 < lines.length && lines[i]!.trim() !== end) parts.push(lines[++i]!);
    }
    out.push({ text: parts.join('\n'), line: firstLine + start, expect });
    i += 1;
  }
  return out;
}

export function parseRunbook(file: string, markdown: string): Runbook {
  const lines = markdown.split('\n');
  const title = (lines.find((l) => l.startsWith('# ')) ?? file).replace(/^# /, '');
  const blocks: RunbookBlock[] = [];
  const unmarked: number[] = [];
  let marker: { mode: BlockMode; reason: string } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = MARKER.exec(line.trim());
    if (m) {
      marker = { mode: m[1] as BlockMode, reason: m[2] ?? '' };
      continue;
    }
    if (/^```(sh|bash|shell)\s*$/.test(line)) {
      const body: string[] = [];
      const at = i + 1;
      while (i + 1 < lines.length && !/^```\s*$/.test(lines[i + 1]!)) body.push(lines[++i]!);
      i += 1;
      if (!marker) unmarked.push(at);
      else blocks.push({ ...marker, line: at, commands: splitCommands(body, at + 1) });
      marker = undefined;
      continue;
    }
    // A marker belongs to the block right after it (blank lines allowed), not to a later one.
    if (line.trim() !== '' && marker) marker = undefined;
  }
  return { file, title, blocks, unmarked };
}
