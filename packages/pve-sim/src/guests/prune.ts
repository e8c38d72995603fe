import { DISK_REPOSITORY, LABEL_INSTANCE, LABEL_OWNER_PID, SNAPSHOT_REPOSITORY, imageInstance } from './_container.js';
import { createDockerCli } from './_docker-cli.js';

export interface PruneOptions {
  /** An instance never pruned: the calling simulator's own, which it adopts. */
  readonly keepInstance?: string;
  readonly docker?: string;
  /** Whether the simulator process that created a guest still runs; default: signal 0 probe. */
  readonly isAlive?: (pid: number) => boolean;
}

export interface PruneResult {
  readonly containers: readonly string[];
  readonly images: readonly string[];
}

/**
 * Removes guests whose simulator died without cleaning up (a killed test run): containers
 * labelled with an instance whose owner pid no longer runs, and those instances' snapshot and
 * disk images.
 */
export async function pruneStaleGuests(options: PruneOptions = {}): Promise<PruneResult> {
  const cli = createDockerCli(options.docker);
  const alive = options.isAlive ?? processAlive;
  const listed = await cli.run([
    'ps', '-a', '--filter', `label=${LABEL_INSTANCE}`,
    '--format', `{{.Names}}\t{{.Label "${LABEL_INSTANCE}"}}\t{{.Label "${LABEL_OWNER_PID}"}}`,
  ]);
  const staleInstances = new Set<string>();
  const containers: string[] = [];
  for (const line of listed.stdout.split('\n')) {
    const [name, instance, pid] = line.trim().split('\t');
    if (!name || !instance || instance === options.keepInstance) continue;
    // Owner pid 0: a persistent lab's guest, removed by `lab destroy`, never by pruning.
    if (pid === '0') continue;
    if (alive(Number(pid))) continue;
    staleInstances.add(instance);
    await cli.run(['rm', '-f', '-v', name], { allowFailure: true });
    containers.push(name);
  }
  const images: string[] = [];
  for (const repo of [SNAPSHOT_REPOSITORY, DISK_REPOSITORY]) {
    const refs = await cli.run(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=${repo}`]);
    for (const ref of refs.stdout.split('\n').map((l) => l.trim())) {
      const instance = ref ? imageInstance(ref) : undefined;
      if (!instance || !staleInstances.has(instance)) continue;
      await cli.run(['rmi', '-f', ref], { allowFailure: true });
      images.push(ref);
    }
  }
  return { containers, images };
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface RemoveInstanceOptions {
  readonly docker?: string;
  /** The state dir whose data-disk files may still be attached to loop devices (detached too). */
  readonly stateDir?: string;
}

/**
 * Removes every guest of one simulator instance — containers, snapshot and disk images, and the
 * loop devices its data disks were attached to — whatever their owner pid: what a lab that
 * starts over (`lab demo --fresh`) must do before it deletes its state, or a new simulator on the
 * same state dir would adopt the old guests (their old host keys and disks).
 */
export async function removeInstanceGuests(instance: string, options: RemoveInstanceOptions = {}): Promise<PruneResult> {
  const cli = createDockerCli(options.docker);
  const listed = await cli.run(['ps', '-a', '--filter', `label=${LABEL_INSTANCE}=${instance}`, '--format', '{{.Names}}'], { allowFailure: true });
  const containers: string[] = [];
  for (const name of listed.stdout.split('\n').map((l) => l.trim()).filter(Boolean)) {
    await cli.run(['rm', '-f', '-v', name], { allowFailure: true });
    containers.push(name);
  }
  const images: string[] = [];
  for (const repo of [SNAPSHOT_REPOSITORY, DISK_REPOSITORY]) {
    const refs = await cli.run(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=${repo}`], { allowFailure: true });
    for (const ref of refs.stdout.split('\n').map((l) => l.trim())) {
      if (!ref || imageInstance(ref) !== instance) continue;
      await cli.run(['rmi', '-f', ref], { allowFailure: true });
      images.push(ref);
    }
  }
  if (options.stateDir) await detachLoops(options.stateDir);
  return { containers, images };
}

/** Detaches the loop devices whose backing file lies under `dir` (data disks of removed guests). */
async function detachLoops(dir: string): Promise<void> {
  const { execFile } = await import('node:child_process');
  const run = (args: string[]) => new Promise<string>((resolve) => execFile('losetup', args, (error, stdout) => resolve(error ? '' : String(stdout))));
  for (const line of (await run(['--list', '--noheadings', '--output', 'NAME,BACK-FILE'])).split('\n')) {
    const [dev, file] = line.trim().split(/\s+/);
    if (dev && file?.startsWith(`${dir}/`)) await run(['--detach', dev]);
  }
}
