import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabError } from '@lab/core';
import { SshConnection, forwardRemoteSocket } from '@lab/ssh';
import { available, startGuest, unavailableMessage, type Guest } from './_guest.js';

const avail = await available();
const inCi = process.env.CI === 'true';
const suite = avail.ok || inCi ? describe : describe.skip;
if (!avail.ok && !inCi) console.warn(`[@lab/ssh] skipping socket forward tests: ${unavailableMessage(avail)}`);

/** A client in the guest: connect to the socket as root, send a line, print the answer. */
function clientScript(path: string, line: string): string {
  const py = [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX)',
    's.connect(sys.argv[1])',
    's.sendall(sys.argv[2].encode() + b"\\n")',
    's.shutdown(socket.SHUT_WR)',
    'out = b""',
    'while True:',
    '    b = s.recv(65536)',
    '    if not b: break',
    '    out += b',
    'sys.stdout.write(out.decode())',
  ].join('\n');
  return `python3 -c '${py}' '${path}' '${line}'`;
}

suite('reverse unix socket forwarding over a real OpenSSH server', () => {
  let guest: Guest;
  let conn: SshConnection;
  let dir: string;

  beforeAll(async () => {
    if (!avail.ok) throw new Error(unavailableMessage(avail));
    guest = await startGuest({ name: 'fwd' });
    conn = await SshConnection.open(guest.target);
    dir = (await conn.run('mktemp -d /tmp/lab-fwd.XXXXXX')).stdout.trim();
  }, 120_000);
  afterAll(async () => {
    await conn?.close();
    await guest?.stop();
  });

  it('brings connections to the remote socket back here; root in the guest can use it, the socket is the login user’s', async () => {
    const a = await forwardRemoteSocket(conn, `${dir}/a.sock`, (stream) => {
      let got = '';
      stream.on('data', (d: Buffer) => (got += d.toString()));
      stream.on('end', () => stream.end(`a heard ${got.trim()}\n`));
    });
    const b = await forwardRemoteSocket(conn, `${dir}/b.sock`, (stream) => {
      stream.on('data', () => undefined);
      stream.on('end', () => stream.end('b answers\n'));
    });
    const both = await conn.script([clientScript(`${dir}/a.sock`, 'hello'), clientScript(`${dir}/b.sock`, 'x'), clientScript(`${dir}/a.sock`, 'again')].join('\n'), { sudo: true });
    expect(both.stderr).not.toMatch(/Traceback|Error/);
    expect(both.stdout).toBe('a heard hello\nb answers\na heard again\n');
    expect(a.accepted).toBe(2);
    expect(b.accepted).toBe(1);
    expect((await conn.run(`stat -c '%U %a' ${dir}/a.sock`)).stdout.trim()).toBe('lab 600');
    await a.close();
    await b.close();
    const after = await conn.script(`rm -f ${dir}/a.sock; ${clientScript(`${dir}/a.sock`, 'gone')}`, { sudo: true });
    expect(after.code).not.toBe(0);
  }, 60_000);

  it('refuses a path the login user cannot create, with a hint', async () => {
    const error = await forwardRemoteSocket(conn, '/root/lab-no.sock', () => undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).code).toBe('LAB_SSH_FORWARD_REFUSED');
    expect((error as LabError).hint).toMatch(/AllowStreamLocalForwarding/);
  }, 30_000);
});
