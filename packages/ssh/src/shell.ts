/**
 * Shell text builders shared by every layer that talks to a guest. Scripts travel on stdin and
 * never on the command line, so secrets inside them are not visible in `ps`.
 */

/** POSIX single-quote a word: `it's` → `'it'\''s'`. Plain words stay readable. */
export function shq(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The remote command that runs a bash script fed on stdin. The whole script is read first (into
 * a shell variable: never onto a command line) and stdin is then /dev/null, so commands inside it
 * (apt-get, cat…) cannot swallow the rest of the script. Reading it whole, rather than sourcing
 * `/dev/fd/3`, also works when stdin is a socket, which cannot be reopened by path.
 */
export const STDIN_SCRIPT_COMMAND = `bash -c 'exec 3<&0 0</dev/null; lab_script=$(cat <&3); exec 3<&-; eval "$lab_script"'`;

/**
 * Wrap script text so that a connection dropped while it is being sent runs nothing: the body
 * is a function that is only called on the very last line. A truncated script is a syntax error
 * (unclosed brace) or never reaches the call.
 */
export function guardScript(body: string): string {
  return `export LC_ALL=C\nlab_main() {\n${body}\n}\nlab_main; exit $?\n`;
}

export interface AtomicWriteOptions {
  /** Octal string like `0644`. */
  readonly mode?: string;
  readonly owner?: string;
  readonly group?: string;
  /** Create missing parent directories (root-owned, 0755). */
  readonly mkdirs?: boolean;
  /**
   * A command that checks the temp file before it replaces the target, `%s` standing for its
   * path (`visudo -cf %s`, `sshd -t -f %s`, `nft -c -f %s`): a broken file never lands.
   */
  readonly validate?: string;
}

/** `base64 -d` of a heredoc into "$lab_t"; `onError` runs when decoding fails. */
function heredocBase64(content: Buffer, onError: string): string {
  const b64 = content.toString('base64').replace(/.{1,76}/g, '$&\n');
  return `base64 -d >"$lab_t" <<'LAB_EOF' || ${onError}\n${b64}LAB_EOF`;
}

/**
 * Shell that writes `content` to `path` atomically: a temp file in the same directory gets the
 * content, owner and mode first, then `mv` replaces the target in one rename — readers see the
 * old or the new file, never half of one. A file that is itself a mount point (Docker bind-mounts
 * /etc/hosts, /etc/hostname, /etc/resolv.conf into containers) cannot be renamed over; it is
 * rewritten in place instead.
 */
export function atomicWriteScript(path: string, content: string | Buffer, options: AtomicWriteOptions = {}): string {
  const p = shq(path);
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  const lines = [
    options.mkdirs ? `mkdir -p ${shq(dir)} || return 1` : '',
    `lab_t=$(mktemp ${shq(`${dir === '/' ? '' : dir}/.${base}.lab-XXXXXX`)}) || return 1`,
    heredocBase64(buf, '{ rm -f "$lab_t"; return 1; }'),
    options.owner || options.group
      ? `chown ${shq(`${options.owner ?? 'root'}:${options.group ?? 'root'}`)} "$lab_t" || { rm -f "$lab_t"; return 1; }`
      : '',
    `chmod ${options.mode ?? '0644'} "$lab_t" || { rm -f "$lab_t"; return 1; }`,
    options.validate
      ? `${options.validate.replace('%s', '"$lab_t"')} >&2 || { echo ${shq(`${path} failed validation (${options.validate})`)} >&2; rm -f "$lab_t"; return 1; }`
      : '',
    `if awk -v p=${p} '$5 == p { f = 1 } END { exit !f }' /proc/self/mountinfo; then`,
    `  cat "$lab_t" >${p} && chown --reference="$lab_t" ${p} && chmod --reference="$lab_t" ${p}; lab_rc=$?; rm -f "$lab_t"; [ $lab_rc = 0 ] || return 1`,
    'else',
    `  mv -f "$lab_t" ${p} || { rm -f "$lab_t"; return 1; }`,
    'fi',
  ];
  return lines.filter(Boolean).join('\n');
}

/**
 * Wait for cloud-init's first boot to finish, where cloud-init exists (its verdict is its own
 * business). Unlike `cloud-init status --wait`, it prints where cloud-init is every 2 s: live
 * progress for the operator, and a sign of life for the silence limit (adr/0155).
 */
export const CLOUD_INIT_WAIT_SCRIPT = [
  'command -v cloud-init >/dev/null 2>&1 || exit 0',
  'while :; do',
  '  s=$(cloud-init status 2>/dev/null | sed -n "s/^status: //p")',
  '  case "$s" in running|"not run"|"") echo "cloud-init: ${s:-starting}"; sleep 2 ;; *) break ;; esac',
  'done',
].join('\n');
