import { randomBytes } from 'node:crypto';
import { LabError } from '@lab/core';
import { shq } from '@lab/ssh';
import { FactSet, factKey, uniqueFacts, type BatchKind, type Fact } from './fact.js';
import { UNIT_PROPERTIES } from './systemd.js';

/**
 * All facts in one shell script, so one remote command (one round trip) observes a whole
 * persona. Each fragment runs in its own subshell between marker lines carrying a random nonce
 * (file contents cannot forge a marker), and its exit code is recorded so parsers can tell
 * "absent" from "empty". The same text is appended to mutation scripts: facts are then
 * re-read in the very command that changed them.
 */
export interface FactBatch {
  readonly facts: readonly Fact<unknown>[];
  readonly body: string;
  /** Split a command's stdout into what came before the facts and the parsed facts. */
  parse(stdout: string): { readonly before: string; readonly facts: FactSet };
}

/**
 * Probes shared by a family of facts, run once per gather: one `stat` (and one `sha256sum`)
 * for every path, one `systemctl show` for every unit. Their results live in associative
 * arrays the members' `batched` fragments read, so 40 paths cost 4 processes, not 200.
 */
const PRELUDES: Record<BatchKind, (args: readonly string[]) => string> = {
  path: (args) =>
    [
      'declare -A LAB_STAT=() LAB_SUM=()',
      `lab_paths=(${args.map(shq).join(' ')})`,
      `while IFS=$'\\t' read -r n rest; do LAB_STAT[$n]=$rest; done < <(stat --printf '%n\\t%F|%a|%U|%G|%u|%g|%s\\n' -- "\${lab_paths[@]}" 2>/dev/null)`,
      'lab_files=()',
      `for n in "\${!LAB_STAT[@]}"; do case \${LAB_STAT[$n]} in 'regular file|'*|'regular empty file|'*) lab_files+=("$n") ;; esac; done`,
      '[ ${#lab_files[@]} -eq 0 ] || while read -r h n; do LAB_SUM[$n]=$h; done < <(sha256sum -- "${lab_files[@]}" 2>/dev/null)',
    ].join('\n'),
  unit: (args) =>
    [
      'declare -A LAB_UNIT=()',
      `lab_units=(${args.map(shq).join(' ')})`,
      'lab_i=0; lab_block=',
      // Blocks come back in argument order, separated by a blank line.
      `while IFS= read -r line; do if [ -z "$line" ]; then LAB_UNIT[\${lab_units[$lab_i]}]=$lab_block; lab_i=$((lab_i + 1)); lab_block=; else lab_block+="$line"$'\\n'; fi; done < <(systemctl show --property=${UNIT_PROPERTIES} -- "\${lab_units[@]}" 2>/dev/null; echo)`,
    ].join('\n'),
};

export function factBatch(facts: Iterable<Fact<unknown>>, nonce = randomBytes(8).toString('hex')): FactBatch {
  const list = uniqueFacts(facts);
  const tag = `@@LAB-${nonce}`;
  const kinds = new Map<BatchKind, string[]>();
  for (const f of list) if (f.batched) kinds.set(f.batched.kind, [...(kinds.get(f.batched.kind) ?? []), f.batched.arg]);
  const preludes = [...kinds].map(([kind, args]) => PRELUDES[kind]([...new Set(args)]));
  // Fragments run as functions, not subshells: no fork per fact; `return` ends one fragment.
  const body = [
    ...preludes,
    ...list.map((f, i) =>
      [`lab_fact() {`, f.batched?.command ?? f.command, '}', `printf '\\n%s\\n' '${tag} ${i}'`, 'lab_fact 2>/dev/null </dev/null', `printf '\\n%s %d\\n' '${tag}-end ${i}' $?`].join('\n'),
    ),
  ].join('\n');
  return {
    facts: list,
    body,
    parse(stdout) {
      const firstStart = stdout.indexOf(`\n${tag} 0\n`);
      const before = list.length === 0 ? stdout : firstStart < 0 ? stdout : stdout.slice(0, firstStart);
      const entries: [Fact<unknown>, unknown][] = [];
      list.forEach((fact, i) => {
        const open = `\n${tag} ${i}\n`;
        const start = stdout.indexOf(open);
        const endRe = new RegExp(`\\n${tag}-end ${i} (\\d+)\\n`);
        const end = endRe.exec(stdout.slice(start < 0 ? 0 : start));
        if (start < 0 || !end) {
          throw new LabError({
            code: 'LAB_L3_FACTS_TRUNCATED',
            summary: `the guest's answer stops before fact ${factKey(fact)}`,
            detail: 'the batched fact script was cut short (connection dropped or the guest killed it)',
            hint: 'run the command again',
          });
        }
        const raw = stdout.slice(start + open.length, start + end.index);
        entries.push([fact, safeParse(fact, raw, Number(end[1]))]);
      });
      return { before, facts: new FactSet().with(entries) };
    },
  };
}

function safeParse(fact: Fact<unknown>, raw: string, code: number): unknown {
  try {
    return fact.parse(raw, code);
  } catch (cause) {
    throw new LabError({
      code: 'LAB_L3_FACT_PARSE',
      summary: `could not read fact ${factKey(fact)} from the guest's output`,
      detail: `${cause instanceof Error ? cause.message : String(cause)}\noutput: ${JSON.stringify(raw.slice(0, 300))}`,
      hint: 'this is a bug in lab or an unsupported guest OS (lab supports Debian 12); please report it with the output above',
      cause,
    });
  }
}
