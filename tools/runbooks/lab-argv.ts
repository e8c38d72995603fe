/**
 * The `lab …` invocations inside a shell command — at its start, after `|`, `&&`, `||`, `;`,
 * inside `$( … )`, or after `VAR=value` assignments — as argv arrays. Words are split the way
 * the shell splits them (quotes and backslashes), without expanding anything: checking that a
 * command and its flags exist needs names, not values.
 */

/** Shell words of `text`, up to an unquoted `#` comment. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      const next = text[++i]!;
      if (next !== '\n') {
        cur += next;
        inWord = true;
      }
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else if (c === '#' && !inWord) {
      break;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** Split at unquoted `|`, `&&`, `||`, `;`, `$(` and `)` into simple commands. */
function simpleCommands(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  // The quoting each open `$(` interrupted: inside it, the shell reads a fresh command.
  const outer: ('"' | "'" | undefined)[] = [];
  const cut = (): void => {
    out.push(cur);
    cur = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      cur += c;
    } else if (c === '$' && text[i + 1] === '(') {
      outer.push(quote);
      quote = undefined;
      cut();
      i += 1;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      cur += c;
    } else if (c === ')' && outer.length > 0) {
      cut();
      quote = outer.pop();
    } else if (c === "'" || c === '"') {
      quote = c;
      cur += c;
    } else if (c === '#' && (cur === '' || /\s$/.test(cur))) {
      // A comment runs to the end of its line.
      while (i + 1 < text.length && text[i + 1] !== '\n') i += 1;
    } else if (c === '|' || c === ';' || c === '&' || c === ')' || c === '\n') {
      cut();
    } else cur += c;
  }
  cut();
  return out.map((s) => s.trim()).filter(Boolean);
}

/** argv (after `lab`) of every `lab` invocation in a shell command. */
export function labInvocations(command: string): string[][] {
  const body = command.split('\n');
  // A heredoc's body is data, not commands.
  const head = /<<-?\s*['"]?[A-Za-z_]+/.test(body[0] ?? '') ? [body[0]!] : body;
  const found: string[][] = [];
  for (const simple of simpleCommands(head.join('\n').replace(/\\\n/g, ' '))) {
    const words = shellWords(simple);
    let k = 0;
    while (k < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[k]!)) k++;
    if (words[k] === 'lab') found.push(words.slice(k + 1).filter((w) => !/^[<>]|^\d?>/.test(w)));
  }
  return found;
}
