import { LabError } from '@lab/core';
import { shq, type SshConnection } from '@lab/ssh';
import { normalizeRef } from './images.js';
import { LABEL_SERVICE_HASH, LABEL_STACK, MANIFEST_FILE, type ObservedContainer, type ObservedStack, type ReleaseManifest, type StackRecord, type WorkloadObservation } from './types.js';

/**
 * The one observation script: stacks under stacksDir (releases, `current`, file digests of the
 * current release, manifest, recorded state), every Compose container with its labels and
 * health, and the compose version. One round trip per host.
 */
export function observeScript(stacksDir: string, composeCommand: string): string {
  const sd = shq(stacksDir);
  return [
    `echo "@@docker $(command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 && echo yes || echo no)"`,
    `echo "@@compose $(${composeCommand} version --short 2>/dev/null | head -n1)"`,
    `if [ -d ${sd} ]; then for d in ${sd}/*/; do [ -d "$d" ] || continue; d=\${d%/}`,
    '  echo "@@stack ${d##*/}"',
    '  echo "@@current $(readlink "$d/current" 2>/dev/null | sed \'s#.*/##\')"',
    `  echo "@@releases $(ls -1 "$d/releases" 2>/dev/null | grep -v '^\\.' | tr '\\n' ' ')"`,
    '  if [ -d "$d/current/" ]; then',
    `    (cd "$d/current/" && find . -type f ! -name ${MANIFEST_FILE} -print0 | sort -z | xargs -0 -r sha256sum) | sed 's/^/@@sum /'`,
    `    echo "@@manifest $(base64 -w0 "$d/current/${MANIFEST_FILE}" 2>/dev/null)"`,
    '  fi',
    '  echo "@@record $(base64 -w0 "$d/state.json" 2>/dev/null)"',
    'done; fi',
    'if command -v docker >/dev/null 2>&1; then',
    '  ids=$(docker ps -aq --filter label=com.docker.compose.project)',
    `  [ -z "$ids" ] || docker inspect --format '@@ctr {{.Id}} {{.Name}} {{.State.Status}} {{with index .State "Health"}}{{.Status}}{{else}}none{{end}} {{json .Config.Labels}}' $ids`,
    "  docker images --no-trunc --format '@@img {{.Repository}}:{{.Tag}} {{.ID}}' 2>/dev/null | grep -v '<none>'",
    'fi',
    'true',
  ].join('\n');
}

function decode<T>(b64: string): T | undefined {
  if (!b64) return undefined;
  try {
    return JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Pure parser of the observation script's output (fixture-tested). */
export function parseObservation(stdout: string): WorkloadObservation {
  let docker = false;
  let composeVersion: string | undefined;
  const stacks: ObservedStack[] = [];
  const containers: ObservedContainer[] = [];
  const images: Record<string, string> = {};
  let cur: { name: string; current?: string; releases: string[]; manifest?: ReleaseManifest; fileDigests: Record<string, string>; record?: StackRecord } | undefined;
  const flush = () => {
    if (cur) stacks.push(cur);
    cur = undefined;
  };
  for (const line of stdout.split('\n')) {
    const m = /^@@(\w+) ?(.*)$/.exec(line);
    if (!m) continue;
    const [, tag, rest = ''] = m;
    switch (tag) {
      case 'docker':
        docker = rest.trim() === 'yes';
        break;
      case 'compose':
        composeVersion = rest.trim().replace(/^v/, '') || undefined;
        break;
      case 'stack':
        flush();
        cur = { name: rest.trim(), releases: [], fileDigests: {} };
        break;
      case 'current':
        if (cur && rest.trim()) cur.current = rest.trim();
        break;
      case 'releases':
        if (cur) cur.releases = rest.trim().split(/\s+/).filter(Boolean);
        break;
      case 'sum': {
        const s = /^([0-9a-f]{64})\s+\.\/(.+)$/.exec(rest);
        if (cur && s) cur.fileDigests[s[2]!] = s[1]!;
        break;
      }
      case 'manifest': {
        const v = decode<ReleaseManifest>(rest.trim());
        if (cur && v) cur.manifest = v;
        break;
      }
      case 'record': {
        const v = decode<StackRecord>(rest.trim());
        if (cur && v) cur.record = v;
        break;
      }
      case 'img': {
        const [ref, id] = rest.trim().split(/\s+/);
        if (ref && id) images[normalizeRef(ref)] = id;
        break;
      }
      case 'ctr': {
        flush();
        const c = /^(\S+) \/?(\S+) (\S+) (\S+) (.*)$/.exec(rest);
        if (!c) break;
        const labels = (JSON.parse(c[5]!) ?? {}) as Record<string, string>;
        containers.push({
          id: c[1]!,
          name: c[2]!,
          state: c[3]!,
          health: c[4]!,
          project: labels['com.docker.compose.project'] ?? '',
          service: labels['com.docker.compose.service'] ?? '',
          ...(labels[LABEL_SERVICE_HASH] ? { serviceHash: labels[LABEL_SERVICE_HASH] } : {}),
          ...(labels['com.docker.compose.config-hash'] ? { configHash: labels['com.docker.compose.config-hash'] } : {}),
          ...(labels[LABEL_STACK] ? { labStack: labels[LABEL_STACK] } : {}),
        });
        break;
      }
    }
  }
  flush();
  return { docker, ...(composeVersion ? { composeVersion } : {}), stacks, containers, images };
}

export interface ObserveOptions {
  readonly connection: SshConnection;
  readonly stacksDir: string;
  readonly composeCommand: string;
}

/** Read the workload state of one guest in one round trip. */
export async function observeWorkloads(o: ObserveOptions): Promise<WorkloadObservation> {
  const r = await o.connection.script(observeScript(o.stacksDir, o.composeCommand), { sudo: true, timeoutMs: 60_000 });
  if (r.code !== 0) {
    throw new LabError({ code: 'LAB_L4_OBSERVE_FAILED', summary: `cannot read the workloads of ${o.connection.label}`, detail: r.stderr.trim().split('\n').slice(-5).join('\n'), hint: 'check that the guest is up and the lab user has password-less sudo' });
  }
  return parseObservation(r.stdout);
}
