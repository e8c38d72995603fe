import { randomBytes } from 'node:crypto';
import { LabError } from '@lab/core';
import { FactSet, factKey, uniqueFacts, type Fact } from './fact.js';

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

export function factBatch(facts: Iterable<Fact<unknown>>, nonce = randomBytes(8).toString('hex')): FactBatch {
  const list = uniqueFacts(facts);
  const tag = `@@LAB-${nonce}`;
  const body = list
    .map((f, i) => [`printf '\\n%s\\n' '${tag} ${i}'`, `( ${f.command}\n) 2>/dev/null`, `printf '\\n%s %d\\n' '${tag}-end ${i}' $?`].join('\n'))
    .join('\n');
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
