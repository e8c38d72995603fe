import { spawn } from 'node:child_process';
import { defineCommand } from 'citty';
import { ExitCode } from '@lab/core';
import { openGuest } from '@lab/engine';
import { createContext, globalArgs } from '../context.js';

/**
 * `lab ssh --persona X [-- command]`: a persona's guest, reached as L3 and L4 reach it (the
 * node's jump host, the lab's key, host keys pinned by L2). With a command it runs there and its
 * output streams back; without one, OpenSSH opens an interactive session. Whatever is changed
 * by hand is drift: `lab drift` finds it and `lab up` puts the intent back.
 */
export const sshCommand = defineCommand({
  meta: { name: 'ssh', description: 'Run a command in a persona’s guest (or open a shell there), through the lab’s jump host and pinned keys' },
  args: {
    ...globalArgs,
    persona: { type: 'string', description: 'The persona whose guest to reach', valueHint: 'name', required: true },
    sudo: { type: 'boolean', description: 'Run the command as root (sudo)', default: false },
    print: { type: 'boolean', description: 'Print the OpenSSH command line instead of running it (valid while the lab’s jump host runs)', default: false },
  },
  async run({ args, rawArgs }) {
    const ctx = createContext(args);
    const dash = rawArgs.indexOf('--');
    const command = dash >= 0 ? rawArgs.slice(dash + 1).join(' ') : '';
    const guest = await openGuest(ctx, args.persona);
    try {
      if (command) {
        const r = await guest.run(command, { sudo: args.sudo, onStdout: (s) => process.stdout.write(s), onStderr: (s) => process.stderr.write(s) });
        return r.code === 0 ? ExitCode.Ok : ExitCode.Error;
      }
      const argv = await guest.openSshArgv();
      if (args.print || !process.stdin.isTTY) {
        ctx.io.out(argv.map((a) => (/[\s'"]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a)).join(' '));
        return ExitCode.Ok;
      }
      const code = await new Promise<number>((resolve) => {
        const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
        child.on('close', (c) => resolve(c ?? 1));
        child.on('error', () => resolve(127));
      });
      return code === 0 ? ExitCode.Ok : ExitCode.Error;
    } finally {
      await guest.close();
    }
  },
});
