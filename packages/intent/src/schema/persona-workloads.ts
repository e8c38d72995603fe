import { z } from 'zod';
import { valueOrSecret } from '../secret-ref.js';
import type { Build } from './_build.js';
import { fileSpec } from './_files.js';
import { absPath, bool, calendar, duration, got, httpUrl, int, msg, obj, oneOf, pattern, relPath, scalar, text } from './_leaf.js';

const STACK_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function stackName(example: string) {
  return pattern(STACK_NAME, 'a stack name', example, 'a Docker Compose project name: lowercase letters, digits, "_" and "-"');
}

function health(b: Build) {
  return obj({
    containers: bool().default(true).describe('Wait until every container that defines a HEALTHCHECK reports healthy.'),
    probes: b
      .list(
        'workloads.stacks[].health.probes',
        obj({
          name: pattern(/^[a-z0-9][a-z0-9_-]*$/, 'a probe name', 'web').describe('Names the probe in reports.'),
          http: httpUrl('http://127.0.0.1:8096/health').optional().describe('GET this URL from inside the guest.'),
          tcp: pattern(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'host:port', '127.0.0.1:53').optional().describe('Open a TCP connection from inside the guest.'),
          status: int(100, 599, 'an HTTP status').default(200).describe('Expected HTTP status.'),
          contains: text().optional().describe('Text the HTTP response body must contain.'),
        }).superRefine((p, ctx) => {
          if (b.mode === 'final' && (p.http === undefined) === (p.tcp === undefined)) {
            ctx.addIssue({ code: 'custom', message: msg('a probe needs exactly one of http or tcp', 'http: http://127.0.0.1:<port>/ or tcp: 127.0.0.1:<port>') });
          }
        }),
      )
      .default([])
      .describe('Probes run inside the guest after `up`; lab retries them until `timeout`.'),
    timeout: duration().default(300).describe('How long to wait for containers and probes before the apply fails.'),
  });
}

function stack(b: Build) {
  return obj({
    name: stackName('media').describe('Compose project name; files live in `<stacksDir>/<name>/` in the guest.'),
    compose: b
      .req(
        z.union([relPath('compose/jellyfin.yaml'), z.record(z.string(), z.unknown())], {
          error: (iss) => msg(`expected a compose file path or an inline compose document, got ${got(iss.input)}`),
        }),
      )
      .describe('Compose file next to the YAML that declares it (resolved to a lab-root-relative path), or an inline compose document.'),
    env: b
      .record(
        pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name', 'TZ'),
        valueOrSecret(scalar()),
      )
      .default({})
      .describe('Written to `.env` next to the compose file (mode 0600); secret references are resolved at apply time.'),
    files: fileSpec(b, 'workloads.stacks[].files', relPath('config/Caddyfile')).default([]).describe('Extra files in the stack directory (paths relative to it).'),
    health: health(b).prefault({}).describe('How lab decides the stack is up.'),
    profiles: b.list('workloads.stacks[].profiles', text('a profile')).default([]).describe('Compose profiles to enable.'),
    dependsOn: b.list('workloads.stacks[].dependsOn', stackName('proxy')).default([]).describe('Stacks of this persona that must be up first.'),
    pull: oneOf(['missing', 'always', 'never']).default('missing').describe('Image pull policy for `up`.'),
    state: oneOf(['up', 'down']).default('up').describe('`down` stops the stack but keeps its volumes.'),
  });
}

export function workloadsSchema(b: Build) {
  return obj({
    composeCommand: oneOf(['docker compose', 'docker-compose']).default('docker compose').describe('Compose CLI in the guest: the v2 plugin or the standalone binary.'),
    imageDelivery: oneOf(['registry', 'push']).optional().describe('How this persona\'s guest gets its images; overrides lab.yaml `workloads.imageDelivery` (`registry`: Compose pulls; `push`: lab streams them from the workstation\'s Docker engine over SSH).'),
    stacksDir: absPath('/opt/lab/stacks').default('/opt/lab/stacks').describe('Parent directory of stack directories in the guest.'),
    stacks: b.list('workloads.stacks', stack(b)).default([]).describe('Docker Compose stacks.'),
  });
}

export function captureSchema(b: Build) {
  const repo = pattern(/^[a-z_][a-z0-9_.-]{0,63}$/, 'a repository name', 'local');
  return obj({
    enabled: bool().default(true).describe('Take scheduled captures.'),
    repository: b.req(repo).describe('Backup repository from lab.yaml `repositories`.'),
    paths: b.req(b.list('capture.paths', absPath('/srv/media/config'))).describe('Data paths in the guest to capture.'),
    exclude: b.list('capture.exclude', text('a pattern')).default([]).describe('Exclude patterns (restic syntax), e.g. `**/cache`.'),
    schedule: calendar('*-*-* 03:30').default('daily').describe('When to capture (systemd.time(7) calendar event).'),
    retention: obj({
      keepLast: int(0, 10_000, 'a count').default(0).describe('Keep the newest N snapshots.'),
      daily: int(0, 10_000, 'a count').default(7).describe('Keep the last snapshot of each of the last N days.'),
      weekly: int(0, 10_000, 'a count').default(4).describe('Keep the last snapshot of each of the last N weeks.'),
      monthly: int(0, 10_000, 'a count').default(6).describe('Keep the last snapshot of each of the last N months.'),
      yearly: int(0, 10_000, 'a count').default(0).describe('Keep the last snapshot of each of the last N years.'),
    })
      .prefault({})
      .describe('Which snapshots `forget --prune` keeps.'),
    consistency: obj({
      strategy: oneOf(['pause', 'hook', 'none']).default('pause').describe('`pause`: stop stacks during the snapshot; `hook`: run `pre`/`post` commands; `none`: crash-consistent.'),
      stacks: b.list('capture.consistency.stacks', stackName('media')).default([]).describe('Stacks to pause; empty means every stack of the persona.'),
      pre: text('a shell command').optional().describe('Command run in the guest before the snapshot, e.g. a database dump.'),
      post: text('a shell command').optional().describe('Command run after the snapshot, also when it failed.'),
      timeout: duration().default(600).describe('Longest the workload may be paused or the hook may run.'),
    })
      .prefault({})
      .describe('How to get a consistent copy of live data.'),
    replicate: obj({
      repository: b.req(repo).describe('Second repository (lab.yaml) receiving a copy of each snapshot.'),
      schedule: calendar('weekly').default('weekly').describe('When to copy (systemd.time(7) calendar event).'),
    })
      .optional()
      .describe('Copy snapshots to another repository (the off-site leg of 3-2-1).'),
    restoreDrill: obj({
      schedule: calendar('monthly').default('monthly').describe('When to run the drill (systemd.time(7) calendar event).'),
      scope: oneOf(['files', 'stacks'])
        .default('files')
        .describe('`files`: restore into a scratch directory and verify checksums; `stacks`: restore into a throwaway clone and run the health checks.'),
    })
      .optional()
      .describe('Regularly prove that the latest snapshot restores.'),
    vm: obj({
      enabled: bool().default(false).describe('Also take Proxmox (vzdump) backups of the whole VM.'),
      storage: b.req(pattern(/^[a-z_][a-z0-9_.-]{0,63}$/, 'a storage name', 'local')).describe('Storage with `backup` content.'),
      schedule: calendar('Sun 02:00').default('weekly').describe('When to back up the VM (systemd.time(7) calendar event).'),
      mode: oneOf(['snapshot', 'suspend', 'stop']).default('snapshot').describe('vzdump mode.'),
      compress: oneOf(['zstd', 'lzo', 'gzip', 'none']).default('zstd').describe('vzdump compression.'),
      keep: int(1, 1000, 'a count').default(2).describe('How many VM backups to keep.'),
    })
      .optional()
      .describe('Whole-VM backups, complementary to data captures.'),
  });
}

