import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { Secret } from '@lab/core';
import { forwardRemoteSocket, shq, type SshConnection } from '@lab/ssh';
import { captureError } from './errors.js';
import type { RepositoryAccess } from './types.js';

/** A repository as the guest's restic sees it for the length of one operation. */
export interface OpenRepository {
  readonly name: string;
  /** RESTIC_REPOSITORY in the guest. */
  readonly url: string;
  /** Extended options restic needs for this backend (`-o …`). */
  readonly options: readonly string[];
  readonly password: Secret<string>;
  close(): Promise<void>;
}

export interface OpenRepositoryOptions {
  /** Serve a local repository append-only: restic may add data and remove only its locks. */
  readonly appendOnly?: boolean;
}

/** The guest side of the bridge: restic's rclone backend runs `socat STDIO <remote>`. */
const RCLONE_BACKEND_OPTIONS = ['-o', 'rclone.program=socat', '-o', 'rclone.args=STDIO'] as const;

let rcloneChecked: Promise<void> | undefined;

function checkRclone(): Promise<void> {
  rcloneChecked ??= new Promise<void>((resolve, reject) => {
    execFile('rclone', ['version'], { timeout: 15_000, env: { ...process.env, RCLONE_CONFIG: '/dev/null' } }, (error) => {
      if (!error) return resolve();
      rcloneChecked = undefined;
      reject(
        captureError('LAB_CAPTURE_RCLONE_MISSING', 'rclone is not installed on this machine; lab serves local restic repositories to guests through `rclone serve restic`', {
          hint: 'sudo apt-get install rclone',
          cause: error,
        }),
      );
    });
  });
  return rcloneChecked;
}

/** One `rclone serve restic --stdio` per connection, confined to the repository directory. */
function serve(stream: Duplex, path: string, appendOnly: boolean, children: Set<ChildProcess>): void {
  const child = spawn('rclone', ['serve', 'restic', '--stdio', ...(appendOnly ? ['--append-only'] : []), path], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { ...process.env, RCLONE_CONFIG: '/dev/null' },
  });
  children.add(child);
  stream.pipe(child.stdin!);
  child.stdout!.pipe(stream);
  const done = () => {
    children.delete(child);
    stream.end();
  };
  child.on('exit', done);
  child.on('error', done);
  stream.on('error', () => child.kill('SIGTERM'));
  child.stdin!.on('error', () => undefined);
}

/**
 * Make a repository reachable by restic in the guest. An sftp repository is the guest's own
 * business (its URL, its network, root's SSH keys in the guest). A local one lives on this
 * machine: a unix socket in a private directory of the guest is forwarded back over the lab's
 * SSH connection, and each connection to it gets an `rclone serve restic --stdio` here, rooted
 * at the repository (adr/0105-restic-bridge-for-local-repositories.md).
 */
export async function openRepository(conn: SshConnection, access: RepositoryAccess, options: OpenRepositoryOptions = {}): Promise<OpenRepository> {
  const loc = access.location;
  if (loc.type === 'sftp') return { name: access.name, url: loc.url, options: [], password: access.password, close: async () => undefined };
  await checkRclone();
  await mkdir(loc.path, { recursive: true, mode: 0o700 });
  // Created as the login user: sshd binds the socket with that user's rights (mode 0600);
  // root's restic connects anyway, other users of the guest cannot enter the directory.
  const dir = (await conn.run('umask 077 && mktemp -d /tmp/lab-restic.XXXXXXXX')).stdout.trim();
  const socket = `${dir}/repo.sock`;
  const children = new Set<ChildProcess>();
  let forward;
  try {
    forward = await forwardRemoteSocket(conn, socket, (stream) => serve(stream, loc.path, options.appendOnly === true, children));
  } catch (error) {
    await conn.exec(`rm -rf ${shq(dir)}`).catch(() => undefined);
    throw error;
  }
  const fwd = forward;
  return {
    name: access.name,
    url: `rclone:UNIX-CONNECT:${socket}`,
    options: RCLONE_BACKEND_OPTIONS,
    password: access.password,
    async close() {
      await fwd.close();
      for (const child of children) child.kill('SIGTERM');
      if (conn.isOpen) await conn.exec(`rm -rf ${shq(dir)}`).catch(() => undefined);
    },
  };
}

/** Open, use, close: the bridge never outlives the operation. */
export async function withRepository<T>(conn: SshConnection, access: RepositoryAccess, options: OpenRepositoryOptions, fn: (repo: OpenRepository) => Promise<T>): Promise<T> {
  const repo = await openRepository(conn, access, options);
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}
