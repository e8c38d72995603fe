import { formatDuration, formatSize, type Lab, type LoadedPersona, type Stack } from '@lab/intent';
import type { JournalEntry } from '../journal/entry.js';
import { APPLY_COMMANDS, lastBackup, lastRun, lastVerifiedRestore, vmCreation } from '../journal/queries.js';
import { composeFacts, plainEnv, type ComposeFacts, type PublishedPort } from './_compose.js';

/** A journalled run as the docs show it: date, result, commit. Only journal times appear in docs. */
export interface RunRef {
  readonly time: string;
  readonly result: string;
  readonly commit: string | undefined;
}

export interface NicFacts {
  readonly index: number;
  readonly bridge: string;
  readonly vlan: number | undefined;
  readonly vlanName: string | undefined;
  /** `10.0.20.10` or `dhcp`. */
  readonly ip: string;
  readonly cidr: string;
  readonly gateway: string | undefined;
}

export interface StackFacts extends ComposeFacts {
  readonly name: string;
  readonly state: string;
  readonly dependsOn: readonly string[];
  readonly probes: readonly string[];
}

export interface UrlFacts {
  readonly url: string;
  readonly from: string;
}

export interface PersonaFacts {
  readonly p: LoadedPersona;
  readonly name: string;
  readonly stage: string;
  readonly ttl: string | undefined;
  readonly node: string;
  readonly vmid: string;
  readonly address: string;
  readonly nics: readonly NicFacts[];
  readonly image: string;
  readonly disks: readonly string[];
  readonly stacks: readonly StackFacts[];
  readonly ports: readonly PublishedPort[];
  readonly urls: readonly UrlFacts[];
  readonly lastApply: RunRef | undefined;
  readonly lastBackup: RunRef | undefined;
  readonly lastVerifiedRestore: RunRef | undefined;
  readonly vmCreated: RunRef | undefined;
}

export function runRef(e: JournalEntry | undefined): RunRef | undefined {
  if (!e) return undefined;
  return { time: `${e.time.slice(0, 16).replace('T', ' ')} UTC`, result: e.result, commit: e.git ? `${e.git.commit}${e.git.dirty ? '+dirty' : ''}` : undefined };
}

export function formatRun(r: RunRef | undefined, never = 'never'): string {
  if (!r) return never;
  return `${r.time}${r.result === 'ok' ? '' : ` (${r.result})`}${r.commit ? ` @ ${r.commit}` : ''}`;
}

/** `debian-12@stable` → `debian-12@20250210-2019 (stable)`, from the catalogue in lab.yaml. */
function imageOf(lab: Lab, p: LoadedPersona): string {
  const { name, version } = p.persona.vm.image;
  if (version !== 'stable') return `${name}@${version}`;
  const stable = lab.site.site.images.find((i) => i.name === name)?.stable;
  return stable ? `${name}@${stable} (stable)` : `${name}@stable`;
}

function nicsOf(lab: Lab, p: LoadedPersona): NicFacts[] {
  return p.persona.vm.nics.map((n, index) => {
    const bridge = lab.site.site.bridges.find((b) => b.name === n.bridge);
    const vlan = n.vlan === undefined ? undefined : bridge?.vlans.find((v) => v.id === n.vlan);
    return { index, bridge: n.bridge, vlan: n.vlan, vlanName: vlan?.name, ip: n.ip === 'dhcp' ? 'dhcp' : n.ip.split('/')[0]!, cidr: n.ip, gateway: n.gateway };
  });
}

function diskText(d: LoadedPersona['persona']['vm']['disks'][number]): string {
  const extra = [d.persistent ? 'persistent' : '', d.mount ?? '', d.backup ? '' : 'no backup'].filter((x) => x !== '');
  return `${d.name} ${formatSize(d.size)} on ${d.storage}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

const LOOPBACK = /^(?:127\.|::1$|localhost$)/;

/**
 * Where a person reaches the persona: URL-valued env (DOMAIN, *_URL) as declared, and every
 * HTTP health probe whose port the stack exposes beyond loopback (published or host network),
 * rewritten from 127.0.0.1 to the persona's address.
 */
function urlsOf(address: string, stacks: readonly { stack: Stack; facts: ComposeFacts }[]): UrlFacts[] {
  const out = new Map<string, string>();
  for (const { stack, facts } of stacks) {
    for (const [key, value] of Object.entries(plainEnv(stack))) {
      if (/^https?:\/\/[^\s/]+/.test(value) && (key === 'DOMAIN' || /URL$/.test(key))) out.set(value, `env ${key} (${stack.name})`);
    }
    const hostNetwork = facts.services.some((s) => s.hostNetwork);
    for (const probe of stack.health.probes) {
      if (!probe.http) continue;
      const u = new URL(probe.http);
      if (!LOOPBACK.test(u.hostname)) continue;
      const port = u.port || (u.protocol === 'https:' ? '443' : '80');
      const published = facts.ports.some((p) => p.protocol === 'tcp' && p.port === port && !LOOPBACK.test(p.hostIp));
      if ((published || hostNetwork) && address !== 'dhcp') {
        const url = `${u.protocol}//${address}:${port}/`;
        if (!out.has(url)) out.set(url, `probe ${probe.name} (${stack.name})`);
      }
    }
  }
  return [...out].map(([url, from]) => ({ url, from })).sort((a, b) => a.url.localeCompare(b.url));
}

/** Everything the docs say about one persona, from its intent, its compose files and the journal. */
export async function personaFacts(lab: Lab, p: LoadedPersona, entries: readonly JournalEntry[]): Promise<PersonaFacts> {
  const { vm, lifecycle, workloads } = p.persona;
  const nics = nicsOf(lab, p);
  const address = nics[0]?.ip ?? 'dhcp';
  const composed = await Promise.all(workloads.stacks.map(async (stack) => ({ stack, facts: await composeFacts(lab.root, stack) })));
  const stacks: StackFacts[] = composed.map(({ stack, facts }) => ({
    ...facts,
    name: stack.name,
    state: stack.state,
    dependsOn: stack.dependsOn,
    probes: stack.health.probes.map((pr) => `${pr.name}: ${pr.http ?? `tcp ${pr.tcp}`}`),
  }));
  const created = vmCreation(entries, p.name);
  return {
    p,
    name: p.name,
    stage: lifecycle.stage,
    ttl: lifecycle.ttl === undefined ? undefined : formatDuration(lifecycle.ttl),
    node: vm.node,
    vmid: vm.vmid === undefined ? 'auto' : String(vm.vmid),
    address,
    nics,
    image: imageOf(lab, p),
    disks: vm.disks.map(diskText),
    stacks,
    ports: stacks.flatMap((s) => s.ports),
    urls: urlsOf(address, composed),
    lastApply: runRef(lastRun(entries, p.name, APPLY_COMMANDS)),
    lastBackup: runRef(lastBackup(entries, p.name)),
    lastVerifiedRestore: runRef(lastVerifiedRestore(entries, p.name)),
    vmCreated: created.state === 'created' ? runRef(created.entry) : undefined,
  };
}

export async function labFacts(lab: Lab, entries: readonly JournalEntry[]): Promise<PersonaFacts[]> {
  return Promise.all(lab.personas.map((p) => personaFacts(lab, p, entries)));
}
