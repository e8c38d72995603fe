import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { ExitCode, LabError, Secret } from '@lab/core';
import { loadSite } from '@lab/intent';
import {
  defaultIdentityFile,
  generateIdentity,
  openSecretStore,
  writeIdentityFile,
  type SecretStore,
} from '@lab/secrets';
import { createContext, globalArgs, type CliContext } from '../context.js';
import { promptHidden, readStdin } from '../_stdin.js';

async function storeFor(ctx: CliContext): Promise<SecretStore> {
  const root = ctx.root();
  const { site } = await loadSite(root);
  return openSecretStore({ root, dir: site.secrets.dir, recipients: site.secrets.recipients });
}

const nameArg = { name: { type: 'positional', description: 'Secret name, e.g. media/jellyfin-api-key', required: true } } as const;

const set = defineCommand({
  meta: { name: 'set', description: 'Encrypt a value to the recipients in lab.yaml (value from stdin or a hidden prompt, never from argv)' },
  args: { ...globalArgs, ...nameArg },
  async run({ args }) {
    const ctx = createContext(args);
    const store = await storeFor(ctx);
    const value = process.stdin.isTTY ? await promptHidden(`value for ${args.name}: `) : (await readStdin()).replace(/\r?\n$/, '');
    if (value === '') {
      throw new LabError({ code: 'LAB_SECRET_EMPTY', summary: `refusing to store an empty value for ${args.name}`, hint: `echo -n 'value' | lab secret set ${args.name}` });
    }
    await store.set(args.name, new Secret(value));
    ctx.io.err(`encrypted ${args.name} → ${store.fileOf(args.name)} (${store.recipients.length} recipient(s))`);
    return ExitCode.Ok;
  },
});

const get = defineCommand({
  meta: { name: 'get', description: 'Decrypt a secret and print it on stdout' },
  args: { ...globalArgs, ...nameArg },
  async run({ args }) {
    const ctx = createContext(args);
    const store = await storeFor(ctx);
    const value = await store.get(args.name);
    // The one deliberate reveal: the operator asked for the plaintext.
    ctx.io.out(value.reveal());
    return ExitCode.Ok;
  },
});

const list = defineCommand({
  meta: { name: 'list', description: 'List secret names (no decryption)' },
  args: { ...globalArgs },
  async run({ args }) {
    const ctx = createContext(args);
    const store = await storeFor(ctx);
    const entries = await store.list();
    if (ctx.json) {
      ctx.io.out(JSON.stringify(entries.map((e) => ({ name: e.name, file: e.file, recipients: e.recipients, modified: e.mtime.toISOString() })), null, 2));
    } else if (entries.length === 0) {
      ctx.io.err('no secrets yet; add one with `lab secret set <name>`');
    } else {
      for (const e of entries) ctx.io.out(`${e.name.padEnd(40)} ${String(e.recipients ?? '?').padStart(2)} recipient(s)  ${e.mtime.toISOString().slice(0, 10)}`);
    }
    return ExitCode.Ok;
  },
});

const edit = defineCommand({
  meta: { name: 'edit', description: 'Edit a secret in $EDITOR (a private temporary file, removed afterwards)' },
  args: { ...globalArgs, ...nameArg },
  async run({ args }) {
    const ctx = createContext(args);
    const store = await storeFor(ctx);
    const editor = process.env.VISUAL ?? process.env.EDITOR ?? 'vi';
    const { changed } = await store.edit(
      args.name,
      (current) => {
        const dir = mkdtempSync(join(tmpdir(), 'lab-secret-'));
        const file = join(dir, 'value');
        try {
          writeFileSync(file, current.reveal(), { mode: 0o600 });
          const r = spawnSync(editor, [file], { stdio: 'inherit', shell: true });
          if (r.status !== 0) {
            throw new LabError({ code: 'LAB_SECRET_EDIT', summary: `editor '${editor}' exited with ${r.status ?? r.signal}; secret unchanged`, hint: 'set $EDITOR to an editor that exits 0 on save' });
          }
          return new Secret(readFileSync(file, 'utf8').replace(/\r?\n$/, ''));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      { create: true },
    );
    ctx.io.err(changed ? `re-encrypted ${args.name}` : `${args.name} unchanged`);
    return ExitCode.Ok;
  },
});

const rotate = defineCommand({
  meta: { name: 'rotate', description: 'Re-encrypt every secret to the current recipients in lab.yaml' },
  args: { ...globalArgs },
  async run({ args }) {
    const ctx = createContext(args);
    const store = await storeFor(ctx);
    const { rotated } = await store.rotate();
    if (ctx.json) ctx.io.out(JSON.stringify({ rotated }, null, 2));
    else ctx.io.err(`re-encrypted ${rotated.length} secret(s) to ${store.recipients.length} recipient(s)`);
    return ExitCode.Ok;
  },
});

const init = defineCommand({
  meta: { name: 'init', description: 'Create your age identity (outside the repo) and print the public key to add to lab.yaml' },
  args: { ...globalArgs, 'identity-file': { type: 'string', description: 'Where to write it (default: $LAB_AGE_KEY_FILE or ~/.config/lab/age.key)' } },
  async run({ args }) {
    const ctx = createContext(args);
    const file = args['identity-file'] ?? defaultIdentityFile();
    const { identity, recipient } = await generateIdentity();
    // Outside a lab, the git working-tree check still applies.
    let repository: string | undefined;
    try {
      repository = ctx.root();
    } catch {
      repository = undefined;
    }
    await writeIdentityFile(file, identity, repository === undefined ? {} : { repository });
    ctx.io.err(`wrote your identity to ${file} (mode 0600). Keep it out of Git and back it up.`);
    ctx.io.err('add this public key to secrets.recipients in lab.yaml, then run `lab secret rotate`:');
    ctx.io.out(recipient);
    return ExitCode.Ok;
  },
});

export const secretCommand = defineCommand({
  meta: { name: 'secret', description: 'Secrets encrypted in Git with age: init, set, get, list, edit, rotate' },
  subCommands: { init, set, get, list, edit, rotate },
});
