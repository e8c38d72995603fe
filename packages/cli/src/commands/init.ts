import { defineCommand } from 'citty';
import { ExitCode } from '@lab/core';
import { initLab, type InitResult } from '@lab/engine';
import { createContext, globalArgs, type CliContext } from '../context.js';
import { promptHidden } from '../_stdin.js';

/** `lab init`: make this checkout the operator's own (adr/0181). Parse, ask, render; the engine does it. */
export const initCommand = defineCommand({
  meta: { name: 'init', description: 'Make this checkout yours: age identity (outside the repo), its recipient in lab.yaml, the secrets, an SSH key for the lab' },
  args: {
    ...globalArgs,
    'identity-file': { type: 'string', description: 'Your age identity (default: $LAB_AGE_KEY_FILE, else $XDG_CONFIG_HOME/lab/age.key)', valueHint: 'path' },
    'ssh-key': { type: 'string', description: 'The lab’s SSH private key, set as ssh.identityFile (default: beside the identity, …/lab/id_ed25519)', valueHint: 'path' },
    prompt: { type: 'boolean', description: 'Ask for each secret that must be set (empty: generate one)', default: false },
    force: { type: 'boolean', description: 'Replace an existing identity and SSH key (the old files are kept as <file>.bak-<time>)', default: false },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const result = await initLab({
      root: ctx.root(),
      ...(args['identity-file'] ? { identityFile: args['identity-file'] } : {}),
      ...(args['ssh-key'] ? { sshKeyFile: args['ssh-key'] } : {}),
      force: args.force,
      ...(args.prompt ? { ask: ({ name, shape }: { name: string; shape: string }) => promptHidden(`${name} (${shape}; empty to generate): `) } : {}),
    });
    if (ctx.json) ctx.io.out(JSON.stringify(result, null, 2));
    else render(ctx, result);
    return ExitCode.Ok;
  },
});

function render(ctx: CliContext, r: InitResult): void {
  const say = (t: string) => ctx.io.err(t);
  say(`identity   ${r.identity.padEnd(8)} ${r.identityFile} (recipient ${r.recipient})`);
  if (r.replacedRecipients.length > 0) say(`lab.yaml   secrets.recipients: ${r.recipient} replaces ${r.replacedRecipients.join(', ')}`);
  if (r.sshKeyFile) say(`ssh key    ${r.sshKey!.padEnd(8)} ${r.sshKeyFile} (ssh.identityFile)`);
  const counts = (['generated', 'prompted', 'kept'] as const).map((a) => [a, r.secrets.filter((s) => s.action === a).length] as const).filter(([, n]) => n > 0);
  say(`secrets    ${counts.map(([a, n]) => `${n} ${a}`).join(', ') || 'none referenced'}`);
  for (const s of r.secrets.filter((x) => x.action !== 'kept')) say(`  ${s.action.padEnd(9)} ${s.name} (${s.shape})${s.note ? `: ${s.note}` : ''}`);
  for (const s of r.secrets.filter((x) => x.password)) ctx.reveal(`  the password behind ${s.name} (shown once, stored nowhere): ${s.password!.reveal()}`);
  for (const b of r.backups) say(`moved aside: ${b}`);
  const nothing = r.identity === 'kept' && (r.sshKey ?? 'kept') === 'kept' && !r.labYamlChanged && r.secrets.every((s) => s.action === 'kept');
  say(nothing ? 'This checkout was already yours: nothing changed.' : 'This checkout is yours: commit lab.yaml and secrets/, then try `pnpm lab validate` and `pnpm lab up --all`.');
}
