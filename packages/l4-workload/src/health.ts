import { shq } from '@lab/ssh';
import type { HealthProbe } from './types.js';

export interface HealthInput {
  readonly project: string;
  /** Services that must run; empty means every container of the project. */
  readonly services: readonly string[];
  readonly containers: boolean;
  readonly probes: readonly HealthProbe[];
  readonly timeoutS: number;
}

export interface HealthResult {
  readonly healthy: boolean;
  /** Last status of each service and probe, e.g. `web=running/healthy`, `probe:web=fail`. */
  readonly status: readonly string[];
}

function probeLine(p: HealthProbe): string {
  if (p.kind === 'tcp') return `timeout 3 bash -c ${shq(`exec 5<>/dev/tcp/${p.host}/${p.port}`)} 2>/dev/null`;
  // Plain bash, so the gate needs nothing installed in the guest (no curl, no wget).
  const req = `GET ${p.path ?? '/'} HTTP/1.0\\r\\nHost: ${p.host}\\r\\nConnection: close\\r\\n\\r\\n`;
  const body = [
    `exec 5<>/dev/tcp/${p.host}/${p.port} || exit 1`,
    `printf '${req.replace(/'/g, '')}' >&5`,
    'r=$(cat <&5)',
    `[ "$(printf '%s' "$r" | head -n1 | cut -d' ' -f2)" = ${shq(String(p.status ?? 200))} ] || exit 1`,
    p.contains === undefined ? 'true' : `printf '%s' "$r" | grep -qF -- ${shq(p.contains)}`,
  ].join('\n');
  return `timeout 5 bash -c ${shq(body)} 2>/dev/null`;
}

/**
 * The health gate, run inside the guest as one script: every second until the deadline, each
 * expected service must have a running container (healthy when it defines a HEALTHCHECK and
 * `containers` is on) and every probe must pass. Prints `@@status` with each round's status,
 * then `@@healthy` or `@@timeout` with the last status of each item.
 */
export function healthScript(h: HealthInput): string {
  const svcList = h.services.map(shq).join(' ');
  return [
    `deadline=$(( $(date +%s) + ${Math.max(1, Math.round(h.timeoutS))} ))`,
    'while :; do',
    '  ok=1; st=""',
    `  ids=$(docker ps -aq --filter label=com.docker.compose.project=${shq(h.project)})`,
    `  lines=$([ -z "$ids" ] || docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{with index .State "Health"}}{{.Status}}{{else}}none{{end}}' $ids 2>/dev/null)`,
    `  svcs=${svcList ? `"${h.services.join(' ')}"` : `$(printf '%s\\n' "$lines" | cut -d' ' -f1 | sort -u)`}`,
    '  [ -n "$svcs" ] || ok=0',
    '  for s in $svcs; do',
    `    l=$(printf '%s\\n' "$lines" | awk -v s="$s" '$1==s' | head -n1)`,
    '    state=$(echo "$l" | cut -d" " -f2); health=$(echo "$l" | cut -d" " -f3)',
    '    [ -n "$state" ] || state=missing',
    '    st="$st $s=$state/${health:-none}"',
    '    [ "$state" = running ] || ok=0',
    h.containers ? '    case "$health" in ""|none|healthy) ;; *) ok=0 ;; esac' : '',
    '  done',
    ...h.probes.map((p) => `  if ${probeLine(p)}; then st="$st probe:${p.name}=ok"; else st="$st probe:${p.name}=fail"; ok=0; fi`),
    '  if [ $ok = 1 ]; then echo "@@healthy$st"; return 0; fi',
    '  if [ $(date +%s) -ge $deadline ]; then echo "@@timeout$st"; return 0; fi',
    // A line per round: live progress for the operator, and a sign of life for the silence limit.
    '  echo "@@status$st"',
    '  sleep 1',
    'done',
  ].filter(Boolean).join('\n');
}

export function parseHealth(stdout: string): HealthResult {
  const line = stdout.split('\n').find((l) => l.startsWith('@@healthy') || l.startsWith('@@timeout')) ?? '@@timeout';
  return { healthy: line.startsWith('@@healthy'), status: line.replace(/^@@\w+/, '').trim().split(/\s+/).filter(Boolean) };
}

/** The latest `@@status` line of a chunk of the gate's output (live progress), if any. */
export function parseHealthStatus(chunk: string): readonly string[] | undefined {
  const line = chunk.split('\n').filter((l) => l.startsWith('@@status')).at(-1);
  return line === undefined ? undefined : line.replace(/^@@status/, '').trim().split(/\s+/).filter(Boolean);
}
