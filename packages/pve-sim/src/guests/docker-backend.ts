import { LabError } from '@lab/core';
import type { AgentInterface, GuestBackend, GuestPowerState, GuestSpec } from './backend.js';
import {
  DISK_REPOSITORY,
  ETC_SAVE,
  QGA_CALL,
  SNAPSHOT_REPOSITORY,
  assertInstance,
  assertSnapshotName,
  containerName,
  createArgs,
  diskImage,
  guestLabels,
  isGuestImage,
  publishedLoopbackPort,
  snapshotImage,
} from './_container.js';
import { createDockerCli, type DockerCli } from './_docker-cli.js';
import { orderInterfaces, parseQgaReply } from './_agent.js';
import { agentNotRunning, noSnapshot, notRunning, snapshotExists } from './_errors.js';
import { placeSeed } from './_place-seed.js';
import { attachDisk, detachFiles, disksFile, firstTarFile, GUEST_DISKS, HOST_DISKS_FILE, hostDisksFile, parseHostDisks } from './_disks.js';
import { createKeyedSerial } from './_serial.js';

export type GuestAction =
  | 'create'
  | 'seed'
  | 'start'
  | 'stop'
  | 'shutdown'
  | 'reboot'
  | 'destroy'
  | 'snapshot'
  | 'rollback'
  | 'delete-snapshot'
  | 'clone';

/** One finished docker-side operation, for logs and timings (library code never prints). */
export interface GuestEvent {
  readonly vmid: number;
  readonly action: GuestAction;
  readonly ms: number;
  readonly detail?: string;
}

export interface DockerBackendOptions {
  /** The guest image, `lab-guest:bookworm-<hash>` (see `ensureGuestImage`). */
  readonly image: string;
  /** Guest images of other Debian releases by release name (`{ trixie: 'lab-guest:trixie-…' }`). */
  readonly images?: Readonly<Record<string, string>>;
  /** A release's guest image when `images` has none (the CLI builds it on first use). */
  readonly imageFor?: (release: string) => Promise<string>;
  /**
   * Names this simulator's containers and images (`lab-<instance>-<vmid>`) and labels them, so
   * a restarted simulator with the same instance adopts its guests and `pruneStaleGuests`
   * can remove those of a dead one. 1–40 of `a-z 0-9 -`.
   */
  readonly instance: string;
  /** The docker CLI to run. Default `docker`. */
  readonly docker?: string;
  /** Guest TCP ports published on 127.0.0.1 (fixed when the container is created). Default `[22]`. */
  readonly publish?: readonly number[];
  /** `close()` removes the guests and their images instead of stopping them (tests). */
  readonly removeOnClose?: boolean;
  /**
   * Guests of a lab that outlive the process that started them (the CLI's embedded simulator,
   * where every command is a new process): labelled with owner pid 0, so `pruneStaleGuests`
   * never takes them for leftovers of a dead simulator.
   */
  readonly persistent?: boolean;
  readonly onEvent?: (event: GuestEvent) => void;
}

interface ContainerInfo {
  readonly Id: string;
  readonly State: { readonly Running: boolean; readonly Paused: boolean; readonly Status?: string; readonly ExitCode?: number };
  readonly NetworkSettings: {
    readonly Ports: Record<string, readonly { HostIp?: string; HostPort?: string }[] | null> | null;
  };
}

const CLEAN_REBOOT_TIMEOUT_S = 60;

/**
 * Real guests: each VM is a Debian container booting systemd from the lab guest image, driven
 * through the docker CLI (adr/0031). The container is created on first start; before every
 * boot the VM's NoCloud seed and NIC list are copied in, so cloud-init and the image's
 * lab-guest-net unit give it the VM's users, keys, hostname, NIC names, MACs and addresses
 * (adr/0030). Snapshots are committed images; a rollback replaces the container.
 */
export function createDockerBackend(options: DockerBackendOptions): GuestBackend {
  assertInstance(options.instance);
  const { instance } = options;
  const cli: DockerCli = createDockerCli(options.docker);
  const serial = createKeyedSerial<number>();
  const specs = new Map<number, GuestSpec>();
  const touched = new Set<number>();
  const publish = options.publish ?? [22];
  const name = (vmid: number): string => containerName(instance, vmid);

  async function timed<T>(vmid: number, action: GuestAction, op: () => Promise<T>, detail?: string): Promise<T> {
    const t0 = performance.now();
    const result = await op();
    options.onEvent?.({ vmid, action, ms: Math.round(performance.now() - t0), ...(detail ? { detail } : {}) });
    return result;
  }

  async function inspect(vmid: number): Promise<ContainerInfo | undefined> {
    const r = await cli.run(['container', 'inspect', name(vmid)], { allowFailure: true });
    if (r.code === 0) return (JSON.parse(r.stdout) as ContainerInfo[])[0];
    if (/no such (container|object)/i.test(r.stderr)) return undefined;
    throw new LabError({ code: 'LAB_SIM_DOCKER_FAILED', summary: `docker container inspect failed`, detail: r.stderr.trim() });
  }

  async function imageExists(ref: string): Promise<boolean> {
    const r = await cli.run(['image', 'inspect', '--format', '{{.Id}}', ref], { allowFailure: true });
    return r.code === 0;
  }

  async function removeContainer(vmid: number): Promise<void> {
    const r = await cli.run(['rm', '-f', '-v', name(vmid)], { allowFailure: true });
    if (r.code !== 0 && !/no such container/i.test(r.stderr)) {
      throw new LabError({ code: 'LAB_SIM_DOCKER_FAILED', summary: `could not remove ${name(vmid)}`, detail: r.stderr.trim() });
    }
  }

  /** The guest image of a release: bookworm (or unknown) is `image`, others from `images`/`imageFor`. */
  async function releaseImage(release: string | undefined): Promise<string> {
    if (!release || release === 'bookworm') return options.image;
    const known = options.images?.[release];
    if (known) return known;
    if (options.imageFor) return options.imageFor(release);
    throw new LabError({
      code: 'LAB_SIM_GUEST_IMAGE_MISSING',
      summary: `no guest image for Debian ${release} was given to the simulator`,
      hint: `sudo tools/guest-image/build.sh --suite=${release}`,
    });
  }

  async function ensureContainer(spec: GuestSpec): Promise<ContainerInfo> {
    const existing = await inspect(spec.vmid);
    if (existing) return existing;
    const disk = diskImage(instance, spec.vmid);
    const fresh = !(await imageExists(disk));
    const base = fresh ? await releaseImage(spec.release) : disk;
    if (fresh && !(await imageExists(base))) {
      throw new LabError({
        code: 'LAB_SIM_GUEST_IMAGE_MISSING',
        summary: `guest image ${base} does not exist`,
        hint: `sudo tools/guest-image/build.sh${spec.release && spec.release !== 'bookworm' ? ` --suite=${spec.release}` : ''}`,
      });
    }
    const labels = guestLabels(instance, spec.node, spec.vmid, options.persistent ? 0 : process.pid);
    await timed(spec.vmid, 'create', () => cli.run(createArgs({ name: name(spec.vmid), image: base, labels, publish })), base);
    const created = await inspect(spec.vmid);
    if (!created) throw new LabError({ code: 'LAB_SIM_DOCKER_FAILED', summary: `${name(spec.vmid)} vanished after create` });
    return created;
  }

  /** A guest whose container stopped on its own (exit code, last log lines), or undefined. */
  async function exitedError(vmid: number): Promise<LabError | undefined> {
    const info = await inspect(vmid);
    if (!info || info.State.Running || (info.State.Status !== 'exited' && info.State.Status !== 'dead')) return undefined;
    const logs = await cli.run(['logs', '--tail', '20', name(vmid)], { allowFailure: true });
    const tail = `${logs.stdout}${logs.stderr}`.trim();
    return new LabError({
      code: 'LAB_SIM_GUEST_EXITED',
      summary: `the guest of VM ${vmid} (container ${name(vmid)}) exited with code ${info.State.ExitCode ?? '?'} right after it started`,
      detail: tail ? `last lines of its log:\n${tail}` : 'its log is empty',
      hint: `read the whole log with \`docker logs ${name(vmid)}\`; many guests on one machine need room: sysctl fs.inotify.max_user_instances (about 8 per guest)`,
    });
  }

  async function agentCall(vmid: number, command: string): Promise<{ ok: true; value: unknown } | { ok: false }> {
    const r = await cli.run(['exec', name(vmid), QGA_CALL, command], { allowFailure: true, timeoutMs: 15_000 });
    if (r.code !== 0) return { ok: false };
    return { ok: true, value: parseQgaReply(command, r.stdout) };
  }

  async function guestImages(vmid: number): Promise<string[]> {
    const r = await cli.run(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=${SNAPSHOT_REPOSITORY}`]);
    const d = await cli.run(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=${DISK_REPOSITORY}`]);
    return `${r.stdout}\n${d.stdout}`
      .split('\n')
      .map((l) => l.trim())
      .filter((ref) => ref !== '' && isGuestImage(ref, instance, vmid));
  }

  /** Attach the data disks to loop devices and describe them for the guest (adr/0175). */
  async function diskFiles(spec: GuestSpec): Promise<Record<string, string>> {
    const attached = [];
    for (const disk of spec.disks ?? []) attached.push(await attachDisk(disk));
    return { disks: disksFile(spec.bootDevice, attached), 'host-disks': hostDisksFile(attached) };
  }

  /** The host files backing the guest's disks, as placed at its last boot (running or not). */
  async function attachedFiles(vmid: number): Promise<string[]> {
    const r = await cli.run(['cp', `${name(vmid)}:${HOST_DISKS_FILE}`, '-'], { allowFailure: true });
    return r.code === 0 ? parseHostDisks(firstTarFile(Buffer.from(r.stdout, 'utf8'))) : [];
  }

  /** After the guest stopped: free its loop devices (the files keep the data). */
  async function releaseDisks(files: readonly string[]): Promise<void> {
    if (files.length > 0) await detachFiles(files);
  }

  const backend: GuestBackend = {
    kind: 'docker',

    start(spec) {
      return serial.run(spec.vmid, async () => {
        specs.set(spec.vmid, spec);
        touched.add(spec.vmid);
        const info = await ensureContainer(spec);
        const extra = await diskFiles(spec);
        await timed(spec.vmid, 'seed', () => placeSeed(cli, name(spec.vmid), spec, extra));
        if (!info.State.Running) {
          await timed(spec.vmid, 'start', () => cli.run(['start', name(spec.vmid)]));
          // A guest that dies at once (no room for systemd, a broken image) is reported now,
          // with its exit code and log, not found later by a wait that runs to its deadline.
          const exited = await exitedError(spec.vmid);
          if (exited) throw exited;
        }
        // A disk attached to a running VM: the guest sees it now, as with PVE's disk hotplug.
        else if ((spec.disks ?? []).length > 0) await cli.run(['exec', name(spec.vmid), GUEST_DISKS], { allowFailure: true });
      });
    },

    exited(vmid) {
      return touched.has(vmid) ? exitedError(vmid) : Promise.resolve(undefined);
    },

    stop(vmid) {
      return serial.run(vmid, () =>
        timed(vmid, 'stop', async () => {
          const files = await attachedFiles(vmid);
          const r = await cli.run(['stop', '-t', '0', name(vmid)], { allowFailure: true });
          if (r.code !== 0 && !/no such container/i.test(r.stderr)) {
            throw new LabError({ code: 'LAB_SIM_DOCKER_FAILED', summary: `could not stop VM ${vmid}`, detail: r.stderr.trim() });
          }
          await releaseDisks(files);
        }),
      );
    },

    shutdown(vmid, timeoutMs) {
      // The stop signal is SIGRTMIN+3, systemd's clean poweroff; docker kills after the timeout.
      const seconds = Math.max(0, Math.ceil(timeoutMs / 1000));
      return serial.run(vmid, () =>
        timed(vmid, 'shutdown', async () => {
          const files = await attachedFiles(vmid);
          const r = await cli.run(['stop', '-t', String(seconds), name(vmid)], {
            allowFailure: true,
            timeoutMs: timeoutMs + 60_000,
          });
          if (r.code !== 0 && !/no such container/i.test(r.stderr)) {
            throw new LabError({ code: 'LAB_SIM_DOCKER_FAILED', summary: `could not shut down VM ${vmid}`, detail: r.stderr.trim() });
          }
          await releaseDisks(files);
        }),
      );
    },

    reboot(vmid) {
      return serial.run(vmid, () =>
        timed(vmid, 'reboot', async () => {
          const info = await inspect(vmid);
          if (!info?.State.Running) throw notRunning(vmid);
          await cli.run(['stop', '-t', String(CLEAN_REBOOT_TIMEOUT_S), name(vmid)], { timeoutMs: 120_000 });
          const spec = specs.get(vmid);
          if (spec) await placeSeed(cli, name(vmid), spec, await diskFiles(spec));
          await cli.run(['start', name(vmid)]);
        }),
      );
    },

    destroy(vmid) {
      return serial.run(vmid, () =>
        timed(vmid, 'destroy', async () => {
          const files = await attachedFiles(vmid);
          await removeContainer(vmid);
          await releaseDisks(files);
          for (const ref of await guestImages(vmid)) await cli.run(['rmi', '-f', ref], { allowFailure: true });
          specs.delete(vmid);
          touched.delete(vmid);
        }),
      );
    },

    async state(vmid): Promise<GuestPowerState> {
      const info = await inspect(vmid);
      return info?.State.Running ? 'running' : 'stopped';
    },

    snapshot(vmid, snapname) {
      assertSnapshotName(snapname);
      return serial.run(vmid, () =>
        timed(vmid, 'snapshot', async () => {
          const target = snapshotImage(instance, vmid, snapname);
          if (await imageExists(target)) throw snapshotExists(vmid, snapname);
          const info = await inspect(vmid);
          if (info) {
            // The guest's path unit saves these on change; saving now closes the race with a
            // hostname set a moment ago. A guest without the helper is committed as it is.
            if (info.State.Running) await cli.run(['exec', name(vmid), ...ETC_SAVE], { allowFailure: true });
            await cli.run(['commit', '--message', `snapshot ${snapname} of VM ${vmid}`, name(vmid), target], {
              timeoutMs: 600_000,
            });
            return;
          }
          // No container yet (never started, or rolled back): the disk is an image already.
          const disk = diskImage(instance, vmid);
          await cli.run(['tag', (await imageExists(disk)) ? disk : options.image, target]);
        }, snapname),
      );
    },

    rollback(vmid, snapname) {
      return serial.run(vmid, () =>
        timed(vmid, 'rollback', async () => {
          const source = snapshotImage(instance, vmid, snapname);
          if (!(await imageExists(source))) throw noSnapshot(vmid, snapname);
          // Like Proxmox without RAM state: the VM ends stopped; the next start creates the
          // container from the snapshot's filesystem.
          const files = await attachedFiles(vmid);
          await removeContainer(vmid);
          await releaseDisks(files);
          await cli.run(['tag', source, diskImage(instance, vmid)]);
        }, snapname),
      );
    },

    deleteSnapshot(vmid, snapname) {
      return serial.run(vmid, () =>
        timed(vmid, 'delete-snapshot', async () => {
          const ref = snapshotImage(instance, vmid, snapname);
          if (!(await imageExists(ref))) throw noSnapshot(vmid, snapname);
          // By tag, -f only untags while a container or another tag still uses the layers.
          await cli.run(['rmi', '-f', ref]);
        }, snapname),
      );
    },

    cloneFilesystem(sourceVmid, targetVmid) {
      return serial.run(sourceVmid, () =>
        timed(targetVmid, 'clone', async () => {
          const target = diskImage(instance, targetVmid);
          const info = await inspect(sourceVmid);
          // PVE clones a running VM live; `docker commit` copies a running container the same way.
          if (info) {
            await cli.run(['commit', '--message', `clone of VM ${sourceVmid}`, name(sourceVmid), target], {
              timeoutMs: 600_000,
            });
            return;
          }
          const sourceDisk = diskImage(instance, sourceVmid);
          if (await imageExists(sourceDisk)) await cli.run(['tag', sourceDisk, target]);
        }, `from ${sourceVmid}`),
      );
    },

    async flush(vmid) {
      const info = await inspect(vmid);
      if (info?.State.Running) await cli.run(['exec', name(vmid), 'sync'], { allowFailure: true, timeoutMs: 120_000 });
    },

    async agentPing(vmid) {
      if (specs.get(vmid)?.agent === false) return false;
      const info = await inspect(vmid);
      if (!info?.State.Running) return false;
      const reply = await agentCall(vmid, 'guest-ping');
      return reply.ok;
    },

    async agentNetworkInterfaces(vmid): Promise<readonly AgentInterface[]> {
      const spec = specs.get(vmid);
      if (spec?.agent === false) throw agentNotRunning(vmid);
      const reply = await agentCall(vmid, 'guest-network-get-interfaces');
      if (!reply.ok || !Array.isArray(reply.value)) throw agentNotRunning(vmid);
      return orderInterfaces(reply.value as AgentInterface[], spec);
    },

    async endpoint(vmid, port) {
      const info = await inspect(vmid);
      if (!info?.State.Running) return undefined;
      const hostPort = publishedLoopbackPort(info.NetworkSettings.Ports, port);
      return hostPort === undefined ? undefined : { host: '127.0.0.1', port: hostPort };
    },

    async close() {
      const vmids = [...touched];
      await Promise.all(vmids.map((vmid) => (options.removeOnClose ? backend.destroy(vmid) : backend.stop(vmid))));
    },
  };
  return backend;
}
