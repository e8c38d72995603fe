/**
 * The error detail of a remote command: the tool's own last lines. Compose and docker write
 * their errors to stderr, some tools to stdout; both are shown (stderr last), never nothing.
 */
export function remoteDetail(r: { readonly stdout: string; readonly stderr: string }, lines = 12): string {
  const tail = (t: string) => t.replace(/\r/g, '').trimEnd().split('\n').filter((l) => l.trim() !== '').slice(-lines);
  const err = tail(r.stderr);
  const out = tail(r.stdout).filter((l) => !l.startsWith('@@'));
  const parts = [...(out.length ? [err.length ? 'stdout:' : '', ...out] : []), ...(err.length && out.length ? ['stderr:'] : []), ...err].filter((l, i) => l !== '' || i > 0);
  return parts.length ? parts.join('\n') : '(the command printed nothing)';
}
