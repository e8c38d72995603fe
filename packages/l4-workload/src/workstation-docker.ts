import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { LabError } from '@lab/core';
import { normalizeRef, type WorkstationImages } from './images.js';
import type { WorkstationImage } from './types.js';

/**
 * The workstation's Docker engine as the source of image pushes (adr/0150): what it holds
 * (`docker image inspect`) and a `docker save` stream of one image. Injected into plan and
 * apply, so tests can use another source.
 */
export interface ImageSource {
  inspect(refs: readonly string[]): Promise<WorkstationImages>;
  /** A tar stream of the image (`docker save`); `done` settles when the command ends. */
  save(ref: string): { readonly stream: Readable; readonly done: Promise<void> };
}

function run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('docker', [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** Parses `docker image inspect` JSON into facts by the names asked for (pure, tested). */
export function parseInspect(json: string, refs: readonly string[]): WorkstationImages {
  const out: Record<string, WorkstationImage> = {};
  const list = JSON.parse(json || '[]') as { Id: string; Size: number; RepoTags?: string[]; Config?: { Labels?: Record<string, string> | null } }[];
  for (const ref of refs) {
    const n = normalizeRef(ref);
    const img = list.find((i) => (i.RepoTags ?? []).map(normalizeRef).includes(n));
    if (!img) continue;
    const standIn = img.Config?.Labels?.['dev.lab.stand-in'];
    out[n] = { id: img.Id, sizeBytes: img.Size, ...(standIn ? { standInFor: standIn } : {}) };
  }
  return out;
}

/** The local Docker engine (the `docker` CLI, as the user running lab). */
export function dockerImageSource(): ImageSource {
  return {
    async inspect(refs) {
      if (refs.length === 0) return {};
      let r;
      try {
        r = await run(['image', 'inspect', ...refs]);
      } catch (cause) {
        throw new LabError({ code: 'LAB_L4_WORKSTATION_DOCKER', summary: 'cannot run `docker` on this workstation to read the images to push', hint: 'install Docker and start it (workloads.imageDelivery: push reads images from this machine\'s engine)', cause });
      }
      // A missing image makes the command fail but still prints the others.
      if (r.code !== 0 && !/No such image/i.test(r.stderr)) {
        throw new LabError({ code: 'LAB_L4_WORKSTATION_DOCKER', summary: 'cannot read images from this workstation\'s Docker engine', detail: r.stderr.trim().split('\n').slice(-5).join('\n'), hint: 'check that the Docker engine runs and you may use it: docker info' });
      }
      return parseInspect(r.stdout, refs);
    },
    save(ref) {
      const p = spawn('docker', ['save', ref], { stdio: ['ignore', 'pipe', 'pipe'] });
      const err: Buffer[] = [];
      p.stderr.on('data', (c: Buffer) => err.push(c));
      const done = new Promise<void>((resolve, reject) => {
        p.on('error', reject);
        p.on('close', (code) => {
          if (code === 0) resolve();
          else reject(new LabError({ code: 'LAB_L4_WORKSTATION_DOCKER', summary: `docker save ${ref} failed on this workstation (exit ${code})`, detail: Buffer.concat(err).toString('utf8').trim().split('\n').slice(-5).join('\n'), hint: `check the image: docker image inspect ${ref}` }));
        });
      });
      return { stream: p.stdout, done };
    },
  };
}
