import { EventEmitter } from 'node:events';
import pLimit from 'p-limit';
import type { ClientChannel } from 'ssh2';
import { redact, type Secret } from '@lab/core';
import { forwardThrough, openClient, type Ssh2Client } from './_client.js';
import { closedError, commandFailed, disconnected, silent, sudoRefused, timedOut } from './errors.js';
import { startWatchdog, type WatchVerdict } from './_watchdog.js';
import { atomicWriteScript, guardScript, shq, STDIN_SCRIPT_COMMAND, type AtomicWriteOptions } from './shell.js';
import { ShellChannel, newMark, shellLoop } from './_shell-channel.js';
import { DEFAULT_TIMEOUTS, describeEndpoint, portOf, type SshTarget } from './target.js';

/** A connection to a jump host, possibly shared; `release` is called once per user. */
export interface JumpLink {
  readonly client: Ssh2Client;
  release(): void;
}

/** Open a private connection to the target's jump host. */
export async function openJump(target: SshTarget): Promise<JumpLink> {
  const t = { ...DEFAULT_TIMEOUTS, ...target.timeouts };
  const client = await openClient(target.jump!, { knownHostsFile: target.knownHostsFile, connectMs: t.connectMs, keepaliveMs: t.keepaliveMs });
  let released = false;
  return {
    client,
    release: () => {
      if (released) return;
      released = true;
      client.end();
    },
  };
}

function onceReleased(link: JumpLink): JumpLink {
  let released = false;
  return {
    client: link.client,
    release: () => {
      if (released) return;
      released = true;
      link.release();
    },
  };
}

export interface ExecOptions {
  /**
   * Bytes written to the command's stdin, then EOF. A stream is piped with backpressure (large
   * transfers such as `docker save | docker load`); while it flows, `timeoutMs` measures
   * silence (no byte sent or received), not the command's length.
   */
  readonly stdin?: string | Buffer | NodeJS.ReadableStream;
  /** Run as root through sudo when the login user is not root. */
  readonly sudo?: boolean;
  /** Overall bound for this call (default: the target's `commandMs`). */
  readonly timeoutMs?: number;
  /** Stop the command after this long without output (default: the target's `silenceMs`). */
  readonly silenceMs?: number;
  /** What the command does, for error messages (default: its first line). */
  readonly label?: string;
  /** Streamed output, chunk by chunk as it arrives (for live progress). */
  readonly onStdout?: (chunk: string) => void;
  readonly onStderr?: (chunk: string) => void;
  /** Secrets to mask in any error message built from the output. */
  readonly secrets?: readonly Secret<string>[];
}

export interface ScriptOptions extends Omit<ExecOptions, 'stdin'> {
  /**
   * Run on a new exec channel instead of the connection's persistent shell: for scripts that
   * must run alongside others on the same host (the shell runs one script at a time).
   */
  readonly fresh?: boolean;
}

export interface ExecResult {
  readonly code: number | null;
  readonly signal?: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export interface ConnectionStats {
  /** Exec channels opened (each costs an sshd session setup on the guest). */
  readonly execs: number;
  /** Round trips: execs plus scripts run on a persistent shell. */
  readonly roundTrips: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

function isStream(v: unknown): v is NodeJS.ReadableStream {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && typeof (v as { pipe?: unknown }).pipe === 'function';
}

/** ssh2's messages for a transport that is already down. */
const GONE = /not connected|no response|socket (closed|ended)|write after end|ECONNRESET|EPIPE/i;

const SUDO_DENIED = /^sudo: (a password is required|a terminal is required|.*is not in the sudoers file|.*not allowed to execute)/m;

/**
 * One authenticated SSH connection to one host, possibly through a jump host. Commands run on
 * channels multiplexed over it (at most `maxChannels` at once); `close()` ends it cleanly,
 * `destroy()` drops it as a network failure would.
 */
export class SshConnection extends EventEmitter {
  readonly target: SshTarget;
  readonly label: string;
  readonly isRoot: boolean;
  private readonly client: Ssh2Client;
  private readonly jump: JumpLink | undefined;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly inflight = new Set<(error: Error) => void>();
  private state: 'open' | 'closing' | 'closed' = 'open';
  private counters = { execs: 0, roundTrips: 0, bytesSent: 0, bytesReceived: 0 };
  private readonly shells = new Map<boolean, Promise<ShellChannel>>();
  private readonly shellLimit = pLimit(1);

  private constructor(target: SshTarget, client: Ssh2Client, jump: JumpLink | undefined) {
    super();
    this.target = target;
    this.label = describeEndpoint(target);
    this.isRoot = target.username === 'root';
    this.client = client;
    this.jump = jump ? onceReleased(jump) : undefined;
    // OpenSSH allows 10 sessions per connection (MaxSessions); two may be persistent shells.
    this.limit = pLimit(target.maxChannels ?? 7);
    const onGone = (error?: Error) => {
      if (this.state === 'closed') return;
      const wasOpen = this.state === 'open';
      this.state = 'closed';
      const reason = disconnected(this.label, 'while a command was running', error);
      for (const abort of this.inflight) abort(reason);
      this.inflight.clear();
      this.jump?.release();
      this.emit('close', wasOpen ? reason : undefined);
    };
    client.on('close', () => onGone());
    client.on('error', (error: Error) => onGone(error));
    if (jump) {
      // A shared jump connection outlives this one: detach from it when this one goes.
      const jumpClosed = () => onGone(new Error('the jump host connection closed'));
      const jumpError = (error: Error) => onGone(error);
      jump.client.on('close', jumpClosed);
      jump.client.on('error', jumpError);
      this.once('close', () => {
        jump.client.off('close', jumpClosed);
        jump.client.off('error', jumpError);
      });
    }
  }

  /**
   * Connect (through the jump host when the target has one) and authenticate. `jump` lends an
   * already open connection to the jump host (the pool shares one per jump host); otherwise a
   * private one is opened and closed with this connection.
   */
  static async open(target: SshTarget, options: { readonly jump?: JumpLink } = {}): Promise<SshConnection> {
    const t = { ...DEFAULT_TIMEOUTS, ...target.timeouts };
    const common = { knownHostsFile: target.knownHostsFile, connectMs: t.connectMs, keepaliveMs: t.keepaliveMs };
    if (!target.jump) return new SshConnection(target, await openClient(target, common), undefined);
    const via = describeEndpoint(target.jump);
    const jump = options.jump ?? (await openJump(target));
    try {
      const sock = await forwardThrough(jump.client, target.host, portOf(target), describeEndpoint(target), via);
      const client = await openClient(target, { ...common, sock, via });
      return new SshConnection(target, client, jump);
    } catch (error) {
      jump.release();
      throw error;
    }
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Commands running right now (the pool evicts only idle connections). */
  get busy(): boolean {
    return this.inflight.size > 0 || this.limit.pendingCount > 0;
  }

  get stats(): ConnectionStats {
    return { ...this.counters };
  }

  /** Run one command; resolves with its exit code and output (a non-zero exit is not an error here). */
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return this.limit(() => this.execNow(command, options));
  }

  /** Like exec, but a non-zero exit raises `LAB_SSH_COMMAND_FAILED` with the tail of stderr. */
  async run(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.exec(command, options);
    if (r.code !== 0) throw commandFailed(this.label, command, r.code, redact(r.stderr, options.secrets ?? []));
    return r;
  }

  /**
   * Run a bash script sent on stdin (as root with `sudo`), guarded so that a script cut short by
   * a dropped connection runs nothing. One remote command, one round trip.
   */
  script(body: string, options: ScriptOptions = {}): Promise<ExecResult> {
    if (options.fresh) return this.exec(STDIN_SCRIPT_COMMAND, { ...options, stdin: guardScript(body) });
    return this.shellLimit(() => this.scriptOnShell(guardScript(body), options));
  }

  private scriptOnShell(script: string, options: ScriptOptions): Promise<ExecResult> {
    const started = performance.now();
    const sudo = options.sudo === true && !this.isRoot;
    const what = options.label ?? 'script';
    return new Promise<ExecResult>((resolve, reject) => {
      let watch: ReturnType<typeof startWatchdog> | undefined;
      const fail = (error: Error) => {
        watch?.stop();
        reject(error);
      };
      this.shell(sudo).then((sh) => {
        this.counters.roundTrips += 1;
        this.counters.bytesSent += Buffer.byteLength(script);
        watch = startWatchdog(this.limits(options), (verdict) => {
          sh.kill();
          fail(this.limitError(what, verdict));
        });
        const w = watch;
        sh.run(script, {
          onStdout: (t) => {
            w.saw(t);
            options.onStdout?.(t);
          },
          onStderr: (t) => {
            w.saw(t);
            options.onStderr?.(t);
          },
        }).then((r) => {
          w.stop();
          this.counters.bytesReceived += Buffer.byteLength(r.stdout) + Buffer.byteLength(r.stderr);
          resolve({ code: r.code, stdout: r.stdout, stderr: r.stderr, durationMs: Math.round(performance.now() - started) });
        }, fail);
      }, fail);
    });
  }

  private limits(options: Pick<ExecOptions, 'timeoutMs' | 'silenceMs'>, streamed = false): { silenceMs: number; overallMs: number } {
    const t = this.target.timeouts;
    // A streamed stdin's `timeoutMs` has always meant silence (a transfer may take hours).
    if (streamed && options.silenceMs === undefined && options.timeoutMs !== undefined) {
      return { silenceMs: options.timeoutMs, overallMs: t?.commandMs ?? DEFAULT_TIMEOUTS.commandMs };
    }
    return {
      silenceMs: options.silenceMs ?? t?.silenceMs ?? DEFAULT_TIMEOUTS.silenceMs,
      overallMs: options.timeoutMs ?? t?.commandMs ?? DEFAULT_TIMEOUTS.commandMs,
    };
  }

  private limitError(what: string, verdict: WatchVerdict): Error {
    return verdict.kind === 'silent' ? silent(this.label, what, verdict.silentMs, verdict.lastLines) : timedOut(this.label, what, verdict.elapsedMs, verdict.lastLines);
  }

  /** The persistent shell (root through sudo, or the login user), opened on first use. */
  private shell(sudo: boolean): Promise<ShellChannel> {
    const existing = this.shells.get(sudo);
    if (existing) {
      return existing.then((sh) => {
        if (sh.isOpen) return sh;
        this.shells.delete(sudo);
        return this.shell(sudo);
      });
    }
    const mark = newMark();
    const { command, stdin } = this.wrap(`bash -c ${shq(shellLoop(mark))}`, { sudo });
    const opening = this.limitOpenChannel(command).then((channel) => {
      if (stdin !== undefined) channel.write(stdin);
      return new ShellChannel(channel, mark, (stderr) => {
        if (sudo && SUDO_DENIED.test(stderr)) return sudoRefused(this.label, this.target.username, stderr);
        return disconnected(this.label, 'while a script was running');
      });
    });
    this.shells.set(sudo, opening);
    opening.catch(() => this.shells.delete(sudo));
    return opening;
  }

  private limitOpenChannel(command: string): Promise<ClientChannel> {
    if (this.state !== 'open') return Promise.reject(disconnected(this.label, 'before the script started'));
    this.counters.execs += 1;
    return new Promise((resolve, reject) => {
      try {
        this.client.exec(command, (error, channel) => {
          if (error) reject(GONE.test(error.message) || this.state !== 'open' ? disconnected(this.label, 'while opening a channel', error) : error);
          else resolve(channel);
        });
      } catch (error) {
        reject(disconnected(this.label, 'before the script started', error));
      }
    });
  }

  /** Write a file atomically (temp file, owner, mode, rename) in one round trip, as root. */
  async upload(path: string, content: string | Buffer | Secret<string>, options: AtomicWriteOptions = {}): Promise<void> {
    const text = typeof content === 'string' || Buffer.isBuffer(content) ? content : content.reveal();
    const secrets = typeof content === 'string' || Buffer.isBuffer(content) ? [] : [content];
    const r = await this.script(atomicWriteScript(path, text, options), { sudo: true, secrets });
    if (r.code !== 0) throw commandFailed(this.label, `write ${path}`, r.code, r.stderr);
  }

  /** End the session politely and wait for the server to close it. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    for (const sh of this.shells.values()) void sh.then((s) => s.end(), () => undefined);
    this.state = 'closing';
    await new Promise<void>((resolve) => {
      this.client.once('close', () => resolve());
      this.client.end();
      setTimeout(resolve, 2_000).unref();
    });
    this.jump?.release();
    // The client's close event normally did this already; after the timeout it is our turn.
    if (!this.isOpen && (this.state as string) !== 'closed') {
      this.state = 'closed';
      this.emit('close', undefined);
    }
  }

  /** Drop the TCP connection without a goodbye, as a network failure would (tests, abort). */
  destroy(): void {
    const sock = (this.client as unknown as { _sock?: { destroy(): void } })._sock;
    if (sock) sock.destroy();
    else this.client.end();
  }

  private wrap(command: string, options: Pick<ExecOptions, 'sudo' | 'stdin'>): { command: string; stdin?: string | Buffer; stream?: NodeJS.ReadableStream; prefix?: Buffer } {
    if (isStream(options.stdin)) {
      const inner = this.wrap(command, { ...(options.sudo === undefined ? {} : { sudo: options.sudo }) });
      return { command: inner.command, stream: options.stdin, ...(inner.stdin === undefined ? {} : { prefix: Buffer.from(inner.stdin) }) };
    }
    if (!options.sudo || this.isRoot) return { command, ...(options.stdin === undefined ? {} : { stdin: options.stdin }) };
    if (!this.target.sudoPassword) {
      return { command: `sudo -n -H -- sh -c ${shq(command)}`, ...(options.stdin === undefined ? {} : { stdin: options.stdin }) };
    }
    // sudo -S reads exactly one line (byte by byte), so the rest of stdin reaches the command.
    const prefix = Buffer.from(`${this.target.sudoPassword.reveal()}\n`);
    const rest = options.stdin === undefined ? Buffer.alloc(0) : Buffer.from(options.stdin);
    return { command: `sudo -S -p '' -H -- sh -c ${shq(command)}`, stdin: Buffer.concat([prefix, rest]) };
  }

  private execNow(command: string, options: ExecOptions): Promise<ExecResult> {
    if (this.state !== 'open') return Promise.reject(this.state === 'closed' ? disconnected(this.label, 'before the command started') : closedError(this.label));
    const started = performance.now();
    const what = options.label ?? `command \`${command.split('\n')[0]?.slice(0, 60)}\``;
    const { command: remote, stdin, stream: source, prefix } = this.wrap(command, options);
    this.counters.execs += 1;
    this.counters.roundTrips += 1;
    return new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let code: number | null = null;
      let signal: string | undefined;
      let done = false;
      let watch: ReturnType<typeof startWatchdog> | undefined;
      const finish = (error?: Error) => {
        if (done) return;
        done = true;
        watch?.stop();
        this.inflight.delete(abort);
        if (error) return reject(error);
        const stderr = Buffer.concat(err).toString('utf8');
        if (options.sudo && !this.isRoot && code === 1 && SUDO_DENIED.test(stderr)) {
          return reject(sudoRefused(this.label, this.target.username, redact(stderr, options.secrets ?? [])));
        }
        resolve({
          code,
          ...(signal ? { signal } : {}),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr,
          durationMs: Math.round(performance.now() - started),
        });
      };
      const abort = (error: Error) => finish(error);
      this.inflight.add(abort);
      let attempt = 0;
      const start = () => this.client.exec(remote, (error, stream) => {
        if (error && this.state === 'open' && /open failed/i.test(error.message) && attempt < 40) {
          // The server is at its MaxSessions (channels it has not finished tearing down
          // count too): wait for one to go and try again.
          attempt += 1;
          setTimeout(start, Math.min(25 * attempt, 250));
          return;
        }
        if (error) return finish(this.state === 'open' && !GONE.test(error.message) ? error : disconnected(this.label, 'while opening a channel', error));
        const w = startWatchdog(this.limits(options, source !== undefined), (verdict) => {
          stream.signal('KILL');
          stream.close();
          finish(this.limitError(what, verdict));
        });
        watch = w;
        // With a streamed stdin, a byte sent is a sign of life too.
        const alive = () => {
          if (source && !done) w.alive();
        };
        stream.on('data', (chunk: Buffer) => {
          alive();
          this.counters.bytesReceived += chunk.length;
          out.push(chunk);
          const text = chunk.toString('utf8');
          w.saw(text);
          options.onStdout?.(text);
        });
        stream.stderr.on('data', (chunk: Buffer) => {
          alive();
          this.counters.bytesReceived += chunk.length;
          err.push(chunk);
          const text = chunk.toString('utf8');
          w.saw(text);
          options.onStderr?.(text);
        });
        stream.on('exit', (c: number | null, s?: string) => {
          code = c;
          if (s) signal = s;
        });
        stream.on('close', () => {
          if (code !== null || signal !== undefined) return finish();
          // No exit status: either the server closed the channel oddly or the connection is
          // going away; the client's own close event comes a tick later.
          setImmediate(() => finish(this.state === 'open' ? undefined : disconnected(this.label, 'while a command was running')));
        });
        if (source) {
          if (prefix) stream.write(prefix);
          source.on('data', (chunk: Buffer | string) => {
            alive();
            this.counters.bytesSent += Buffer.byteLength(chunk);
          });
          // The source failing (the local `docker save` died) ends the remote stdin early; the
          // remote command then fails on a truncated input and reports it.
          source.on('error', () => stream.end());
          source.pipe(stream);
        } else if (stdin !== undefined) {
          this.counters.bytesSent += Buffer.byteLength(stdin);
          stream.end(stdin);
        } else stream.end();
      });
      try {
        start();
      } catch (error) {
        // ssh2 throws synchronously when the socket is already gone but its close event is pending.
        finish(error instanceof Error && GONE.test(error.message) ? disconnected(this.label, 'before the command started', error) : (error as Error));
      }
    });
  }
}
