import net from 'node:net';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabError, Secret } from '@lab/core';
import { SshConnection, SshPool, STDIN_SCRIPT_COMMAND, generateKeyPair, pinHostKey, type SshTarget } from '@lab/ssh';
import { available, startGuest, unavailableMessage, type Guest } from './_guest.js';
import { startTestJumpHost, type TestJumpHost } from './_jump.js';

const avail = await available();
const inCi = process.env.CI === 'true';
const suite = avail.ok || inCi ? describe : describe.skip;
if (!avail.ok && !inCi) console.warn(`[@lab/ssh] skipping transport tests: ${unavailableMessage(avail)}`);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (error) {
    return error instanceof LabError ? error.code : `not a LabError: ${String(error)}`;
  }
}

async function errorOf(p: Promise<unknown>): Promise<LabError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof LabError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

suite('SSH transport against a real guest', () => {
  let guest: Guest;
  let conn: SshConnection;

  beforeAll(async () => {
    if (!avail.ok) throw new Error(unavailableMessage(avail));
    guest = await startGuest({ name: 'ssh' });
    conn = await SshConnection.open(guest.target);
  });
  afterAll(async () => {
    await conn?.close();
    await guest?.stop();
  });

  it('streams output while the command runs', async () => {
    const chunks: { at: number; text: string }[] = [];
    const t0 = performance.now();
    const r = await conn.exec('echo first; sleep 0.4; echo second', { onStdout: (text) => chunks.push({ at: performance.now() - t0, text }) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('first\nsecond\n');
    expect(chunks[0]?.text).toBe('first\n');
    expect(r.durationMs - (chunks[0]?.at ?? 0)).toBeGreaterThan(300);
  });

  it('streams a large stdin with backpressure, through sudo, timing out on silence only', async () => {
    const { PassThrough } = await import('node:stream');
    const { createHash } = await import('node:crypto');
    const src = new PassThrough();
    const hash = createHash('sha256');
    // 4 MiB in 64 chunks, 100 ms apart: the whole transfer outlasts timeoutMs, no silence does.
    const feed = (async () => {
      for (let i = 0; i < 64; i++) {
        const chunk = Buffer.alloc(64 * 1024, i);
        hash.update(chunk);
        if (!src.write(chunk)) await new Promise((r) => src.once('drain', r));
        await new Promise((r) => setTimeout(r, 150));
      }
      src.end();
    })();
    const r = await conn.exec('sha256sum', { sudo: true, stdin: src, timeoutMs: 3_000 });
    await feed;
    expect(r.code).toBe(0);
    expect(r.stdout.split(' ')[0]).toBe(hash.digest('hex'));
    expect(r.durationMs).toBeGreaterThan(3_000);
  });

  it('runs scripts as root through sudo and keeps stdin away from their commands', async () => {
    expect((await conn.exec('id -un')).stdout.trim()).toBe('lab');
    const r = await conn.script('id -u\ncat\necho "after cat"', { sudo: true });
    expect(r.stdout).toBe('0\nafter cat\n');
  });

  it('runs scripts on one persistent shell: no new channel per script, exact output, exit codes', async () => {
    const c = await SshConnection.open(guest.target);
    try {
      await c.script('true', { sudo: true });
      const before = c.stats;
      const a = await c.script('printf "no newline"; echo oops >&2; exit 3', { sudo: true });
      expect(a).toMatchObject({ code: 3, stdout: 'no newline', stderr: 'oops\n' });
      const b = await c.script('echo "$(id -u) $$"', { sudo: true });
      const d = await c.script('echo "$(id -u) $$"', { sudo: true });
      expect(b.stdout.split(' ')[0]).toBe('0');
      expect(d.stdout).toBe(b.stdout); // same shell process answered both
      expect(c.stats.execs - before.execs).toBe(0);
      expect(c.stats.roundTrips - before.roundTrips).toBe(3);
      const big = 'x'.repeat(300_000);
      expect((await c.script(`printf '%s' '${big}' | wc -c`, { sudo: true })).stdout.trim()).toBe('300000');
    } finally {
      await c.close();
    }
  });

  it('serialises scripts on the shell, runs fresh ones beside it, and replaces a shell killed by a timeout', async () => {
    const c = await SshConnection.open(guest.target);
    try {
      // The shell script waits for a file only the fresh one creates: it prints x only if the
      // fresh script ran beside it (behaviour, not timing).
      const mark = `/tmp/lab-beside-${process.pid}-${Date.now()}`;
      const [x, y, z] = await Promise.all([
        c.script(`for i in $(seq 1 400); do [ -e ${mark} ] && break; sleep 0.05; done; [ -e ${mark} ] && echo x`, { sudo: true }),
        c.script('echo y', { sudo: true }),
        c.script(`touch ${mark}; echo z`, { sudo: true, fresh: true }),
      ]);
      expect([x.stdout, y.stdout, z.stdout]).toEqual(['x\n', 'y\n', 'z\n']);
      expect(await codeOf(c.script('sleep 5', { sudo: true, timeoutMs: 300 }))).toBe('LAB_SSH_TIMEOUT');
      expect((await c.script('echo after', { sudo: true })).stdout).toBe('after\n');
    } finally {
      await c.close();
    }
  });

  it('runs nothing of a script cut short (guarded body)', async () => {
    const r = await conn.exec(STDIN_SCRIPT_COMMAND, {
      stdin: 'lab_main() {\ntouch /tmp/ran-half\n',
    });
    expect(r.code).not.toBe(0);
    expect(await guest.sh('test -e /tmp/ran-half && echo yes || echo no')).toBe('no\n');
  });

  it('uploads atomically with owner and mode, leaving no temp file', async () => {
    await guest.sh('mkdir -p /srv/up && echo old > /srv/up/conf && chown lab /srv/up/conf');
    const inodeBefore = (await guest.sh('stat -c %i /srv/up/conf')).trim();
    await conn.upload('/srv/up/conf', new Secret('token=s3cr3t\n'), { mode: '0640', owner: 'root', group: 'lab' });
    expect(await guest.sh('cat /srv/up/conf; stat -c "%a %U %G %i" /srv/up/conf; ls -A /srv/up')).toBe(
      `token=s3cr3t\n640 root lab ${(await guest.sh('stat -c %i /srv/up/conf')).trim()}\nconf\n`,
    );
    expect((await guest.sh('stat -c %i /srv/up/conf')).trim()).not.toBe(inodeBefore);
  });

  it('rewrites a bind-mounted file (Docker /etc/hosts) in place instead of renaming', async () => {
    const before = await guest.sh('cat /etc/hosts');
    await conn.upload('/etc/hosts', `${before}10.9.9.9 upload-test\n`);
    expect(await guest.sh('grep upload-test /etc/hosts')).toContain('10.9.9.9');
    await conn.upload('/etc/hosts', before);
  });

  it('creates missing parent directories when asked', async () => {
    await conn.upload('/srv/deep/er/file', 'x\n', { mkdirs: true });
    expect(await guest.sh('cat /srv/deep/er/file')).toBe('x\n');
  });

  it('times out a hung command and keeps the connection usable', async () => {
    expect(await codeOf(conn.exec('sleep 5', { timeoutMs: 300 }))).toBe('LAB_SSH_TIMEOUT');
    expect((await conn.exec('echo alive')).stdout).toBe('alive\n');
  });

  it('lets a command that keeps printing outlive the silence limit, and cuts one that falls silent with its last line', async () => {
    // Limits far apart from the printing cadence (every 0.1 s, limit 2 s): load cannot blur them.
    const chatty = await conn.exec('for i in $(seq 1 40); do echo "tick $i"; sleep 0.1; done', { silenceMs: 2_000 });
    expect(chatty.code).toBe(0);
    expect(chatty.stdout.trim().split('\n')).toHaveLength(40);
    const quiet = await errorOf(conn.exec('echo "Setting up docker.io"; echo "waiting on a lock" >&2; sleep 60', { silenceMs: 1_000 }));
    expect(quiet.code).toBe('LAB_SSH_SILENT');
    expect(quiet.summary).toMatch(/printed nothing for \d+\.\ds/);
    expect(quiet.detail).toContain('waiting on a lock');
    expect(quiet.detail).toContain('Setting up docker.io');
    expect(quiet.hint).toContain('ssh.silenceTimeout');
    const onShell = await errorOf(conn.script('echo "Unpacking nftables"; sleep 60', { sudo: true, silenceMs: 1_000, label: 'install nftables' }));
    expect(onShell.code).toBe('LAB_SSH_SILENT');
    expect(onShell.summary).toMatch(/^install nftables on /);
    expect(onShell.detail).toContain('Unpacking nftables');
    expect((await conn.script('echo fine', { sudo: true })).stdout).toBe('fine\n');
  });

  it('multiplexes many commands over one connection within the channel limit', async () => {
    const before = conn.stats.execs;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => conn.exec(`echo ${i}`)));
    expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(conn.stats.execs - before).toBe(20);
  });

  it('refuses an unknown host key, naming the file and the line to add', async () => {
    const empty = `${guest.knownHostsFile}.empty`;
    await writeFile(empty, '');
    const e = await errorOf(SshConnection.open({ ...guest.target, knownHostsFile: empty }));
    expect(e.code).toBe('LAB_SSH_HOSTKEY_UNKNOWN');
    expect(e.detail).toContain(`${empty} has no key`);
    expect(e.hint).toContain(`add this line to ${empty}: [127.0.0.1]:${guest.port} ssh-ed25519 `);
  });

  it('refuses a changed host key and tells how to forget the old one', async () => {
    const other = generateKeyPair();
    const file = `${guest.knownHostsFile}.changed`;
    await pinHostKey(file, '127.0.0.1', guest.port, other.blob);
    const e = await errorOf(SshConnection.open({ ...guest.target, knownHostsFile: file }));
    expect(e.code).toBe('LAB_SSH_HOSTKEY_CHANGED');
    expect(e.detail).toContain(`${file}:1`);
    expect(e.hint).toContain(`ssh-keygen -R '[127.0.0.1]:${guest.port}' -f ${file}`);
  });

  it('reports a wrong key as an authentication failure', async () => {
    const wrong = generateKeyPair().privateKey;
    expect(await codeOf(SshConnection.open({ ...guest.target, privateKey: wrong }))).toBe('LAB_SSH_AUTH');
  });

  it('reports a closed port as unreachable with a hint', async () => {
    const free = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const e = await errorOf(SshConnection.open({ ...guest.target, port: free }));
    expect(e.code).toBe('LAB_SSH_UNREACHABLE');
    expect(e.hint).toMatch(/is the VM running/);
  });

  it('reports sudo refused for a user without sudo rights', async () => {
    await guest.sh(
      `id plain >/dev/null 2>&1 || useradd -m -s /bin/bash plain; install -d -m 700 -o plain /home/plain/.ssh; ` +
        `echo '${guest.publicKey}' > /home/plain/.ssh/authorized_keys; chown plain /home/plain/.ssh/authorized_keys`,
    );
    const c = await SshConnection.open({ ...guest.target, username: 'plain' });
    try {
      const e = await errorOf(c.script('id -u', { sudo: true }));
      expect(e.code).toBe('LAB_SSH_SUDO');
      expect(e.hint).toContain('NOPASSWD');
    } finally {
      await c.close();
    }
  });

  it('uses a sudo password from stdin without putting it on the command line', async () => {
    await guest.sh(`echo 'plain:pw-for-sudo' | chpasswd && echo 'plain ALL=(ALL) ALL' > /etc/sudoers.d/plain`);
    const c = await SshConnection.open({ ...guest.target, username: 'plain', sudoPassword: new Secret('pw-for-sudo') });
    try {
      const r = await c.script("id -u; ps -eo args | grep -c '[p]w-for-sudo' || true", { sudo: true });
      expect(r.stdout.split('\n')[0]).toBe('0');
      expect(r.stdout.split('\n')[1]).toBe('0');
    } finally {
      await c.close();
      await guest.sh('rm -f /etc/sudoers.d/plain');
    }
  });

  it('fails commands in flight when the connection drops, and the pool reconnects', async () => {
    const pool = new SshPool();
    const c1 = await pool.get(guest.target);
    expect(await pool.get(guest.target)).toBe(c1);
    const pending = c1.exec('sleep 5');
    setTimeout(() => c1.destroy(), 200);
    expect(await codeOf(pending)).toBe('LAB_SSH_DISCONNECTED');
    const c2 = await pool.get(guest.target);
    expect(c2).not.toBe(c1);
    expect((await c2.exec('echo back')).stdout).toBe('back\n');
    expect(pool.stats).toMatchObject({ opened: 2, reused: 1, open: 1 });
    await pool.closeAll();
    expect(c2.isOpen).toBe(false);
    expect(await codeOf(c2.exec('true'))).toBe('LAB_SSH_DISCONNECTED');
  });

  it('evicts the least recently used idle connection at the pool limit', async () => {
    const pool = new SshPool({ maxConnections: 1 });
    const plain: SshTarget = { ...guest.target, username: 'plain' };
    const c1 = await pool.get(guest.target);
    const c2 = await pool.get(plain);
    expect(c1.isOpen).toBe(false);
    expect(c2.isOpen).toBe(true);
    await pool.closeAll();
  });

  describe('through a jump host (ProxyJump)', () => {
    let jump: TestJumpHost;
    let target: SshTarget;

    beforeAll(async () => {
      jump = await startTestJumpHost({ '10.0.10.5:22': { host: '127.0.0.1', port: guest.port } });
      const file = `${guest.knownHostsFile}.jump`;
      await pinHostKey(file, '127.0.0.1', jump.port, jump.hostKey);
      await pinHostKey(file, '10.0.10.5', 22, await guest.sh('cat /etc/ssh/ssh_host_ed25519_key.pub'));
      target = {
        host: '10.0.10.5',
        username: 'lab',
        privateKey: guest.privateKey,
        knownHostsFile: file,
        jump: { host: '127.0.0.1', port: jump.port, username: 'jump', privateKey: jump.privateKey },
      };
    });
    afterAll(() => jump?.close());

    it('reaches the declared address only through the jump host, both keys pinned', async () => {
      const c = await SshConnection.open(target);
      try {
        expect((await c.script('hostname; id -u', { sudo: true })).code).toBe(0);
        expect(jump.forwards).toEqual(['10.0.10.5:22']);
        expect(jump.connections()).toBe(1);
      } finally {
        await c.close();
      }
    });

    it('the pool shares one jump connection between the guests behind it', async () => {
      const pool = new SshPool();
      const [a, b] = await Promise.all([pool.get(target), pool.get({ ...target, username: 'plain' })]);
      expect(a).not.toBe(b);
      expect((await a.exec('id -un')).stdout).toBe('lab\n');
      expect((await b.exec('id -un')).stdout).toBe('plain\n');
      expect(jump.connections()).toBe(1);
      await a.close();
      expect((await b.exec('echo still')).stdout).toBe('still\n');
      await pool.closeAll();
      await new Promise((r) => setTimeout(r, 200));
      expect(jump.connections()).toBe(0);
    });

    it('checks the guest key under its declared address, not the loopback port', async () => {
      const file = `${guest.knownHostsFile}.jump-missing`;
      await pinHostKey(file, '127.0.0.1', jump.port, jump.hostKey);
      const e = await errorOf(SshConnection.open({ ...target, knownHostsFile: file }));
      expect(e.code).toBe('LAB_SSH_HOSTKEY_UNKNOWN');
      expect(e.hint).toContain(': 10.0.10.5 ssh-ed25519 ');
    });

    it('says which hop failed when the jump host cannot forward', async () => {
      const e = await errorOf(SshConnection.open({ ...target, host: '10.0.10.99' }));
      expect(e.code).toBe('LAB_SSH_UNREACHABLE');
      expect(e.summary).toContain('through jump@127.0.0.1');
    });
  });
});
