import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LabError } from '@lab/core';
import { createDockerCli } from './_docker-cli.js';

/** tools/guest-image/build.sh in this repository. */
export const GUEST_IMAGE_SCRIPT = fileURLToPath(new URL('../../../../tools/guest-image/build.sh', import.meta.url));

export interface GuestImageOptions {
  /** Debian release of the image: `bookworm` (default, Debian 12) or `trixie` (Debian 13). */
  readonly suite?: string;
  /** Rebuild even when the recipe's tag exists. */
  readonly force?: boolean;
  /** Build script; default {@link GUEST_IMAGE_SCRIPT}. */
  readonly script?: string;
  /** Each progress line of the build (stderr of the script). */
  readonly onProgress?: (line: string) => void;
  /** Default 15 minutes: debootstrap downloads a few hundred packages. */
  readonly timeoutMs?: number;
}

export interface GuestImage {
  /** `lab-guest:<suite>-<recipe hash>`. */
  readonly tag: string;
  /** Whether this call built it (false: the recipe's image already existed). */
  readonly built: boolean;
  readonly ms: number;
}

/** The tag the current recipe builds; needs neither root nor Docker. */
export async function guestImageTag(script: string = GUEST_IMAGE_SCRIPT, suite?: string): Promise<string> {
  const { stdout } = await runScript(script, ['--print-tag', ...suiteArgs(suite)], 30_000);
  return lastLine(stdout);
}

/**
 * Makes sure the guest image of the current recipe exists, building it (as root, with
 * debootstrap from this machine's apt mirror) when it does not.
 */
export async function ensureGuestImage(options: GuestImageOptions = {}): Promise<GuestImage> {
  const script = options.script ?? GUEST_IMAGE_SCRIPT;
  const t0 = performance.now();
  const wanted = await guestImageTag(script, options.suite);
  const cli = createDockerCli();
  const exists = (await cli.run(['image', 'inspect', '--format', '{{.Id}}', wanted], { allowFailure: true })).code === 0;
  if (exists && !options.force) return { tag: wanted, built: false, ms: Math.round(performance.now() - t0) };
  if (process.getuid?.() !== 0) {
    throw new LabError({
      code: 'LAB_SIM_GUEST_IMAGE_MISSING',
      summary: `guest image ${wanted} does not exist and building it needs root`,
      hint: `sudo ${script}${suiteArgs(options.suite).map((a) => ` ${a}`).join('')}`,
    });
  }
  const args = [...(options.force ? ['--force'] : []), ...suiteArgs(options.suite)];
  const { stdout } = await runScript(script, args, options.timeoutMs ?? 900_000, options.onProgress);
  return { tag: lastLine(stdout), built: true, ms: Math.round(performance.now() - t0) };
}

function suiteArgs(suite: string | undefined): string[] {
  return suite && suite !== 'bookworm' ? [`--suite=${suite}`] : [];
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.trim() ?? '';
}

function runScript(
  script: string,
  args: readonly string[],
  timeoutMs: number,
  onProgress?: (line: string) => void,
): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(script, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onProgress?.(line);
    });
    child.on('error', (cause) =>
      reject(new LabError({ code: 'LAB_SIM_GUEST_IMAGE_FAILED', summary: `cannot run ${script}`, cause })),
    );
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout });
      reject(
        new LabError({
          code: 'LAB_SIM_GUEST_IMAGE_FAILED',
          summary: `guest image build failed (${signal ? `killed by ${signal}` : `exit ${code}`})`,
          detail: stderr.split('\n').slice(-20).join('\n'),
          hint: `sudo ${script}`,
        }),
      );
    });
  });
}
