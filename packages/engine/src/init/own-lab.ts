import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { LabError, Secret } from '@lab/core';
import { collectSecretRefs, loadLab } from '@lab/intent';
import { defaultIdentityFile, generateIdentity, loadIdentities, openSecretStore, writeIdentityFile } from '@lab/secrets';
import { generateKeyPair } from '@lab/ssh';
import { generateSecretValue, shapeProblem, secretShape, type SecretShape } from './secret-values.js';

export type FileAction = 'created' | 'kept' | 'replaced';

export interface InitSecret {
  readonly name: string;
  readonly shape: SecretShape;
  readonly action: 'kept' | 'generated' | 'prompted';
  /** For a generated hash: the password it was made from, never stored anywhere. */
  readonly password?: Secret<string>;
  readonly note?: string;
}

export interface InitResult {
  readonly root: string;
  readonly identityFile: string;
  readonly identity: FileAction;
  readonly recipient: string;
  /** Recipients lab.yaml named before, replaced by this one (their secrets were unreadable here). */
  readonly replacedRecipients: readonly string[];
  readonly sshKeyFile?: string;
  readonly sshKey?: FileAction;
  readonly secrets: readonly InitSecret[];
  /** Whether lab.yaml was written (false on a second run: nothing to do). */
  readonly labYamlChanged: boolean;
  /** Files moved aside by --force, so nothing is lost by accident. */
  readonly backups: readonly string[];
}

export interface InitOptions {
  /** The lab (a folder with lab.yaml and personas/). */
  readonly root: string;
  /** The age identity; default `$LAB_AGE_KEY_FILE`, else `$XDG_CONFIG_HOME/lab/age.key`. */
  readonly identityFile?: string;
  /**
   * The lab's SSH key; default beside the identity (`…/lab/id_ed25519`). `false` leaves
   * `ssh.identityFile` as it is (the operator's own key).
   */
  readonly sshKeyFile?: string | false;
  /** Replace an existing identity or SSH key (the old file is kept as `<file>.bak-<time>`). */
  readonly force?: boolean;
  /**
   * A value for a secret that must be set (missing, or unreadable with this identity); undefined
   * means "generate one of its shape". Prompted values are checked against the shape.
   */
  readonly ask?: (secret: { readonly name: string; readonly shape: SecretShape }) => Promise<string | undefined> | string | undefined;
  /** Refuse an asked value that does not fit its shape (default true; tests plant canaries). */
  readonly checkShape?: boolean;
}

/** `~/…` for a path under the home directory: lab.yaml is committed, a home path is personal. */
function homeRelative(file: string): string {
  const home = homedir();
  return file.startsWith(`${home}/`) ? `~/${file.slice(home.length + 1)}` : file;
}

const expandHome = (file: string): string => (file === '~' || file.startsWith('~/') ? join(homedir(), file.slice(2)) : file);

async function moveAside(file: string, backups: string[]): Promise<void> {
  const to = `${file}.bak-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(file, to);
  backups.push(to);
}

async function ensureIdentity(file: string, force: boolean, backups: string[]): Promise<{ action: FileAction; recipient: string }> {
  if (existsSync(file) && !force) return { action: 'kept', recipient: (await loadIdentities(file)).recipients[0]! };
  const replaced = existsSync(file);
  if (replaced) await moveAside(file, backups);
  const { identity, recipient } = await generateIdentity();
  await writeIdentityFile(file, identity);
  return { action: replaced ? 'replaced' : 'created', recipient };
}

async function ensureSshKey(file: string, force: boolean, backups: string[]): Promise<FileAction> {
  if (existsSync(file) && !force) return 'kept';
  const replaced = existsSync(file);
  if (replaced) {
    await moveAside(file, backups);
    if (existsSync(`${file}.pub`)) await moveAside(`${file}.pub`, backups);
  }
  const pair = generateKeyPair('lab');
  await writeFile(file, pair.privateKey.reveal(), { mode: 0o600, flag: 'wx' });
  await writeFile(`${file}.pub`, `${pair.publicKey}\n`, { flag: 'w' });
  return replaced ? 'replaced' : 'created';
}

/**
 * Make a checkout of a lab the operator's own (adr/0181), idempotently: an age identity outside
 * the repository, its recipient in lab.yaml's `secrets.recipients`, every secret the intent
 * references readable with it (kept when it already is, otherwise generated in the shape its
 * reader expects, or asked for), and an SSH key for the lab named by `ssh.identityFile`. An
 * existing identity or key is never replaced without `force`. Nothing is printed; the result
 * says what was done.
 */
export async function initLab(options: InitOptions): Promise<InitResult> {
  const root = resolve(options.root);
  const labFile = join(root, 'lab.yaml');
  if (!existsSync(labFile)) {
    throw new LabError({ code: 'LAB_INIT_NO_LAB', summary: `no lab.yaml in ${root}`, hint: 'run `lab init` in a checkout of a lab, or pass --root <dir>' });
  }
  const force = options.force === true;
  const backups: string[] = [];
  const identityFile = resolve(options.identityFile ?? defaultIdentityFile());
  if (identityFile.startsWith(`${root}/`)) {
    throw new LabError({ code: 'LAB_INIT_IDENTITY_IN_REPO', summary: `the age identity ${identityFile} would be inside the repository`, hint: 'keep it outside: unset LAB_AGE_KEY_FILE to use ~/.config/lab/age.key, or pass --identity-file <path outside the checkout>' });
  }
  const identity = await ensureIdentity(identityFile, force, backups);

  const text = await readFile(labFile, 'utf8');
  const doc = parseDocument(text);
  const before = ((doc.getIn(['secrets', 'recipients']) as { toJSON(): unknown } | undefined)?.toJSON() ?? []) as string[];
  const replacedRecipients = before.includes(identity.recipient) ? [] : before;
  if (!before.includes(identity.recipient)) doc.setIn(['secrets', 'recipients'], [identity.recipient]);

  let sshKeyFile: string | undefined;
  let sshKey: FileAction | undefined;
  if (options.sshKeyFile !== false) {
    sshKeyFile = resolve(expandHome(options.sshKeyFile ?? join(dirname(identityFile), 'id_ed25519')));
    sshKey = await ensureSshKey(sshKeyFile, force, backups);
    if (expandHome(String(doc.getIn(['ssh', 'identityFile']) ?? '')) !== sshKeyFile) doc.setIn(['ssh', 'identityFile'], homeRelative(sshKeyFile));
  }
  const changed = doc.toString() !== text;
  if (changed) await writeFile(labFile, doc.toString());

  const lab = await loadLab(root);
  const recipients = before.includes(identity.recipient) ? before : [identity.recipient];
  const store = openSecretStore({ root, dir: lab.site.site.secrets.dir, recipients, identityFile });
  const uses = new Map<string, { name: string; path: string }>();
  for (const u of collectSecretRefs(lab)) if (!uses.has(u.name)) uses.set(u.name, u);
  const secrets: InitSecret[] = [];
  for (const use of [...uses.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const shape = secretShape(use);
    if (await readable(store, use.name)) {
      secrets.push({ name: use.name, shape, action: 'kept' });
      continue;
    }
    const asked = await options.ask?.({ name: use.name, shape });
    if (asked !== undefined && asked !== '') {
      const problem = options.checkShape === false ? undefined : shapeProblem(shape, asked);
      if (problem) throw new LabError({ code: 'LAB_INIT_SECRET_SHAPE', summary: `the value given for ${use.name} does not fit: ${problem}`, hint: `run \`lab init --prompt\` again, or leave it empty to generate one` });
      await store.set(use.name, new Secret(asked));
      secrets.push({ name: use.name, shape, action: 'prompted' });
      continue;
    }
    const g = generateSecretValue(shape, use.name);
    await store.set(use.name, new Secret(g.value));
    secrets.push({ name: use.name, shape, action: 'generated', ...(g.password ? { password: new Secret(g.password) } : {}), ...(g.note ? { note: g.note } : {}) });
  }
  return { root, identityFile, identity: identity.action, recipient: identity.recipient, replacedRecipients, ...(sshKeyFile ? { sshKeyFile, sshKey } : {}), secrets, labYamlChanged: changed, backups };
}

async function readable(store: ReturnType<typeof openSecretStore>, name: string): Promise<boolean> {
  try {
    await store.get(name);
    return true;
  } catch {
    return false;
  }
}
