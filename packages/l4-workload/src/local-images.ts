import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError, runStep, type Reporter } from '@lab/core';
import { readImageOverrides } from './image-overrides-file.js';
import type { ImageOverrides } from './image-overrides.js';

/** The first `tools/test-images` with a build.sh above `from` (source tree, or a bundle inside the checkout). */
function findImagesDir(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'tools/test-images/build.sh'))) return join(dir, 'tools/test-images');
    if (dirname(dir) === dir) return undefined;
  }
}

/** tools/test-images of this checkout (recipes, build.sh, image-overrides.yaml); pass `dir` to use another. */
export const LOCAL_IMAGES_DIR = findImagesDir(fileURLToPath(new URL('.', import.meta.url))) ?? findImagesDir(process.cwd()) ?? resolve('tools/test-images');

export interface LocalImage {
  readonly image: string;
  readonly kind: 'debian' | 'stand-in';
  /** Seconds the build took; 0 when the image was current (`cached`). */
  readonly seconds: number;
  readonly cached: boolean;
  /** `Debian prometheus=2.42.0…` or `stand-in for Grafana (grafana/grafana), serves /api/health only`. */
  readonly what: string;
}

export interface EnsureLocalImagesOptions {
  readonly reporter: Reporter;
  /** tools/test-images; default: the one of this checkout. */
  readonly dir?: string;
  /** Recipe names (default: all of them). */
  readonly recipes?: readonly string[];
  /** Ends the build when it prints nothing for this long (default 10 minutes). */
  readonly silenceMs?: number;
  readonly group?: string;
}

export interface LocalImagesResult {
  readonly images: readonly LocalImage[];
  /** tools/test-images/image-overrides.yaml: upstream image → local image (lab.yaml workloads.imageOverrides). */
  readonly overrides: ImageOverrides;
  readonly durationMs: number;
}

/** Parses build.sh's `@@image <name> <kind> <seconds> <what>` lines (pure, tested). */
export function parseBuildOutput(stdout: string): LocalImage[] {
  const out: LocalImage[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^@@image (\S+) (debian|stand-in) (\d+) (.*)$/.exec(line.trim());
    if (m) out.push({ image: m[1]!, kind: m[2] as LocalImage['kind'], seconds: Number(m[3]), cached: m[4] === 'cached', what: m[4]! });
  }
  return out;
}

/**
 * Make sure this workstation's Docker engine holds lab's local images (tools/test-images: the
 * real programs Debian packages, and labelled stand-ins for the others), building those whose
 * recipe changed (cached by recipe hash: a second call builds nothing). Runs build.sh as root
 * (through `sudo -n` when lab is not root) and reports each image as it is done. The demo and
 * the real-guest tests call this, then deploy with `workloads.imageDelivery: push` and
 * `workloads.imageOverrides` set to the returned `overrides`.
 */
export async function ensureLocalImages(o: EnsureLocalImagesOptions): Promise<LocalImagesResult> {
  const dir = o.dir ?? LOCAL_IMAGES_DIR;
  const script = join(dir, 'build.sh');
  if (!existsSync(script)) throw new LabError({ code: 'LAB_L4_LOCAL_IMAGES', summary: `no image recipes at ${dir}`, hint: 'run from a checkout of lab (tools/test-images), or pass its path' });
  const started = performance.now();
  const silenceMs = o.silenceMs ?? 600_000;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const [cmd, args] = root ? ['bash', [script, ...(o.recipes ?? [])]] : ['sudo', ['-n', 'bash', script, ...(o.recipes ?? [])]];
  const images = await runStep(
    o.reporter,
    'local images (tools/test-images, cached by recipe hash)',
    (progress) =>
      new Promise<LocalImage[]>((resolveRun, reject) => {
        const p = spawn(cmd as string, args as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        let timer: NodeJS.Timeout;
        const arm = () => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            p.kill('SIGTERM');
            reject(new LabError({ code: 'LAB_L4_LOCAL_IMAGES', summary: `building local images printed nothing for ${Math.round(silenceMs / 1000)} s`, detail: `last seen: ${(stderr || stdout).trim().split('\n').slice(-3).join('\n') || 'nothing'}`, hint: `run it by hand to see where it stops: sudo bash ${script}` }));
          }, silenceMs);
        };
        arm();
        p.stdout.on('data', (c: Buffer) => {
          arm();
          stdout += c.toString('utf8');
          for (const img of parseBuildOutput(c.toString('utf8'))) progress(`${img.image}: ${img.cached ? 'current' : `built in ${img.seconds}s`}${img.kind === 'stand-in' ? ' (stand-in)' : ''}`);
        });
        p.stderr.on('data', (c: Buffer) => {
          arm();
          stderr += c.toString('utf8');
        });
        p.on('error', (e) => {
          clearTimeout(timer);
          reject(new LabError({ code: 'LAB_L4_LOCAL_IMAGES', summary: `cannot run ${cmd}`, hint: 'install bash and Docker, and run lab as root or with password-less sudo', cause: e }));
        });
        p.on('close', (code) => {
          clearTimeout(timer);
          if (code === 0) return resolveRun(parseBuildOutput(stdout));
          reject(new LabError({ code: 'LAB_L4_LOCAL_IMAGES', summary: `building local images failed (exit ${code})`, detail: stderr.trim().split('\n').slice(-8).join('\n') || '(no output)', hint: `fix the cause shown and run again (sudo bash ${script}); images already built are kept` }));
        });
      }),
    o.group ? { group: o.group } : {},
  );
  const overrides = await localImagesOverrides(dir);
  return { images, overrides, durationMs: Math.round(performance.now() - started) };
}

/** The override map that runs the local images in place of the upstream ones. */
export function localImagesOverrides(dir: string = LOCAL_IMAGES_DIR): Promise<ImageOverrides> {
  return readImageOverrides(join(dir, 'image-overrides.yaml'));
}
