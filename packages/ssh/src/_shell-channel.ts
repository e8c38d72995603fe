import { randomBytes } from 'node:crypto';
import type { ClientChannel } from 'ssh2';
import type { LabError } from '@lab/core';

/**
 * A persistent root shell on one SSH channel: scripts are sent length-prefixed, run one at a
 * time in a subshell with stdin at /dev/null, and each answer ends with a marker line carrying
 * the exit code (a random nonce: output cannot forge it). Compared with an exec per script, a
 * round trip then costs no sshd session setup, no sudo and no shell start on the guest.
 */
export function shellLoop(mark: string): string {
  return [
    'export LC_ALL=C',
    'exec 3<&0 0</dev/null',
    // read -N counts bytes under LC_ALL=C, so a script is exactly the length announced.
    'while IFS= read -r -u 3 lab_len && [ -n "$lab_len" ]; do',
    '  IFS= read -r -u 3 -N "$lab_len" lab_script || break',
    '  ( eval "$lab_script" ) </dev/null',
    '  lab_rc=$?',
    `  printf '\\n%s %d\\n' '${mark}' "$lab_rc"`,
    `  printf '\\n%s\\n' '${mark}' >&2`,
    'done',
  ].join('\n');
}

export function newMark(): string {
  return `@@LAB-SHELL-${randomBytes(8).toString('hex')}`;
}

interface Pending {
  readonly onStdout?: (chunk: string) => void;
  readonly onStderr?: (chunk: string) => void;
  out: string;
  err: string;
  code?: number;
  errDone: boolean;
  resolve(r: { code: number; stdout: string; stderr: string }): void;
  reject(e: Error): void;
}

/** Drives one shell channel; `run` is called by the connection one script at a time. */
export class ShellChannel {
  private readonly channel: ClientChannel;
  private readonly mark: string;
  private current: Pending | undefined;
  private closedWith: LabError | undefined;
  private killed = false;

  /** `onClose` turns the end of the channel into the error pending and later scripts get. */
  constructor(channel: ClientChannel, mark: string, onClose: (stderr: string) => LabError) {
    this.channel = channel;
    this.mark = mark;
    const outEnd = new RegExp(`\\n${mark} (\\d+)\\n`);
    const errEnd = `\n${mark}\n`;
    channel.on('data', (chunk: Buffer) => {
      const p = this.current;
      if (!p) return;
      const text = chunk.toString('utf8');
      p.out += text;
      const m = outEnd.exec(p.out);
      if (m) {
        p.code = Number(m[1]);
        p.out = p.out.slice(0, m.index);
        this.settle();
      } else p.onStdout?.(text);
    });
    channel.stderr.on('data', (chunk: Buffer) => {
      const p = this.current;
      if (!p) return;
      const text = chunk.toString('utf8');
      p.err += text;
      const i = p.err.indexOf(errEnd);
      if (i >= 0) {
        p.err = p.err.slice(0, i);
        p.errDone = true;
        this.settle();
      } else p.onStderr?.(text);
    });
    channel.on('close', () => {
      this.closedWith = onClose(this.current?.err ?? '');
      this.current?.reject(this.closedWith);
      this.current = undefined;
    });
  }

  get isOpen(): boolean {
    return this.closedWith === undefined && !this.killed;
  }

  run(script: string, options: { onStdout?: (s: string) => void; onStderr?: (s: string) => void }): Promise<{ code: number; stdout: string; stderr: string }> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      this.current = { ...options, out: '', err: '', errDone: false, resolve, reject };
      this.channel.write(`${Buffer.byteLength(script)}\n${script}`);
    });
  }

  /** End the shell: the loop sees an empty line and exits. */
  end(): void {
    if (this.closedWith) return;
    this.channel.end('\n');
  }

  /** Kill it (a script overran its timeout): the channel closes, the next script gets a new shell. */
  kill(): void {
    this.killed = true;
    this.channel.signal('KILL');
    this.channel.close();
  }

  private settle(): void {
    const p = this.current;
    if (!p || p.code === undefined || !p.errDone) return;
    this.current = undefined;
    p.resolve({ code: p.code, stdout: p.out, stderr: p.err });
  }
}
