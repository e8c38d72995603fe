import { Transform } from 'node:stream';
import { LabError, runStep, type Reporter } from '@lab/core';
import { shq, type SshConnection } from '@lab/ssh';
import { formatBytes, type ImagePush } from './images.js';
import { remoteDetail } from './remote-detail.js';
import type { ImageSource } from './workstation-docker.js';

/** Room `docker load` needs beyond the image itself (metadata, the unpacking of the last layer). */
const HEADROOM = 64 * 1024 * 1024;
/** A push that sends and receives nothing for this long has stalled (silence, not length). */
const SILENCE_MS = 120_000;

export function diskFullError(guest: string, ref: string, detail: string, needed?: number, free?: number): LabError {
  const amounts = needed !== undefined && free !== undefined ? `: it needs about ${formatBytes(needed)}, ${formatBytes(free)} is free` : '';
  return new LabError({
    code: 'LAB_L4_GUEST_DISK_FULL',
    summary: `guest ${guest} has no room for image ${ref}${amounts}`,
    detail,
    hint: `free space in the guest's Docker storage (docker image prune, in the guest), or grow its root disk (vm.disks[root].size in the persona, then lab apply --layer l2)`,
  });
}

/** `@@id <id or empty>` and `@@free <bytes>` of the guest, for one image. */
function preflightScript(ref: string): string {
  return [
    `echo "@@id $(docker image inspect -f '{{.Id}}' ${shq(ref)} 2>/dev/null)"`,
    `root=$(docker info -f '{{.DockerRootDir}}' 2>/dev/null); [ -d "$root" ] || root=/var/lib/docker; [ -d "$root" ] || root=/`,
    `echo "@@free $(df -P -B1 "$root" | awk 'NR==2 {print $4}')"`,
  ].join('\n');
}

export interface PushOptions {
  readonly connection: SshConnection;
  readonly guest: string;
  readonly source: ImageSource;
  readonly reporter: Reporter;
  readonly group?: string;
}

/**
 * Make the guest hold `p.ref` as the image `p.id`: skipped when it already does; otherwise
 * `docker save` on the workstation streams into `docker load` in the guest over the lab's SSH
 * connection, with byte progress. A cut transfer loads nothing (docker load reads the whole
 * archive first), so a re-run pushes again and converges.
 */
export async function pushImage(o: PushOptions, p: ImagePush): Promise<'pushed' | 'present'> {
  const c = o.connection;
  const pre = await c.script(preflightScript(p.ref), { sudo: true, timeoutMs: 60_000 });
  if (pre.code !== 0) {
    throw new LabError({ code: 'LAB_L4_STEP_FAILED', summary: `cannot read the images of ${o.guest} before pushing ${p.ref} (exit ${pre.code})`, detail: remoteDetail(pre), hint: 'check that Docker runs in the guest: systemctl status docker' });
  }
  const id = /^@@id (.*)$/m.exec(pre.stdout)?.[1]?.trim();
  if (id === p.id) return 'present';
  const free = Number(/^@@free (\d+)$/m.exec(pre.stdout)?.[1] ?? NaN);
  const needed = p.sizeBytes + HEADROOM;
  if (Number.isFinite(free) && free < needed) throw diskFullError(o.guest, p.ref, `docker load was not started; nothing changed in ${o.guest}`, needed, free);
  return runStep(
    o.reporter,
    `push image ${p.ref} (${formatBytes(p.sizeBytes)}${p.standInFor ? `, stand-in for ${p.standInFor}` : ''})`,
    async (progress) => {
      const save = o.source.save(p.ref);
      let sent = 0;
      let last = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          sent += chunk.length;
          const now = Date.now();
          if (now - last >= 1000) {
            last = now;
            const pct = p.sizeBytes > 0 ? Math.min(99, Math.floor((sent / p.sizeBytes) * 100)) : undefined;
            progress(`${p.ref}: ${formatBytes(sent)} of ${formatBytes(p.sizeBytes)}`, pct, { bytes: sent, totalBytes: p.sizeBytes });
          }
          cb(null, chunk);
        },
      });
      save.stream.on('error', (e) => counter.destroy(e));
      save.stream.pipe(counter);
      const saved = save.done.then(
        () => undefined,
        (e: unknown) => e,
      );
      const r = await c.exec('docker load', { sudo: true, stdin: counter, silenceMs: SILENCE_MS, label: `docker load of ${p.ref}` });
      const saveError = await saved;
      progress(`${p.ref}: ${formatBytes(sent)} sent`, 100, { bytes: sent, totalBytes: p.sizeBytes });
      if (saveError) throw saveError;
      if (r.code !== 0) {
        const detail = remoteDetail(r);
        if (/no space left on device/i.test(`${r.stderr}\n${r.stdout}`)) throw diskFullError(o.guest, p.ref, detail);
        throw new LabError({ code: 'LAB_L4_IMAGE_PUSH_FAILED', summary: `docker load of ${p.ref} failed on ${o.guest} (exit ${r.code}) after ${formatBytes(sent)}`, detail, hint: 'fix the cause shown and apply again: a push that did not finish loaded nothing and is sent again' });
      }
      const after = await c.script(`docker image inspect -f '{{.Id}}' ${shq(p.ref)}`, { sudo: true, timeoutMs: 60_000 });
      if (after.stdout.trim() !== p.id) {
        throw new LabError({ code: 'LAB_L4_IMAGE_PUSH_FAILED', summary: `after docker load, ${o.guest} holds ${p.ref} as ${after.stdout.trim() || 'nothing'}, not ${p.id}`, detail: remoteDetail(r), hint: 'apply again; if it repeats, compare `docker image inspect` on both sides' });
      }
      return 'pushed' as const;
    },
    o.group ? { group: o.group } : {},
  );
}
