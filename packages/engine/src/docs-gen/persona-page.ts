import { formatDuration, formatSize } from '@lab/intent';
import { code, GENERATED_NOTE, page, table } from './_md.js';
import { formatRun, type PersonaFacts } from './facts.js';

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

function overview(f: PersonaFacts): string {
  const { vm, os, lifecycle } = f.p.persona;
  const fqdn = `${os.hostname ?? f.name}${os.domain ? `.${os.domain}` : ''}`;
  const rows: [string, string][] = [
    ['lifecycle', f.ttl ? `${lifecycle.stage}, ttl ${f.ttl} after the VM is created` : lifecycle.stage],
    ['node', f.node],
    ['VMID', f.vmid],
    ['address', f.address],
    ['host name', fqdn],
    ['image', f.image],
    ['CPU', `${vm.cores} core(s) × ${vm.sockets} socket(s), ${vm.cpu}`],
    ['memory', `${formatSize(vm.memory)}${vm.balloon !== undefined ? ` (balloon ${formatSize(vm.balloon)})` : ''}`],
    ['start at boot', `${yesNo(vm.onboot)}${vm.startup?.order !== undefined ? ` (order ${vm.startup.order})` : ''}`],
    ['protection', yesNo(vm.protection)],
    ['tags', vm.tags.join(', ')],
    ['composed from', f.p.files.map(code).join(', ')],
    ['VM created', formatRun(f.vmCreated, 'not in the journal')],
    ['last apply', formatRun(f.lastApply)],
    ['last capture', f.p.persona.capture?.enabled ? formatRun(f.lastBackup) : 'no capture declared'],
    ['last verified restore', f.p.persona.capture?.restoreDrill ? formatRun(f.lastVerifiedRestore) : formatRun(f.lastVerifiedRestore, 'no drill declared')],
  ];
  return table(['', ''], rows);
}

function operatingSystem(f: PersonaFacts): string[] {
  const os = f.p.persona.os;
  const packages = os.packages.filter((p) => p.state !== 'absent').map((p) => p.name).sort();
  const users = os.users.map((u) => u.name);
  const fw = os.firewall;
  return [
    '## Operating system',
    `Time zone \`${os.timezone}\`, locale \`${os.locale}\`. Packages (${packages.length}): ${packages.map(code).join(', ') || 'none'}. Users: ${users.join(', ') || 'none'}.`,
    fw.enabled
      ? `Firewall: input ${fw.policy.input}, forward ${fw.policy.forward}, output ${fw.policy.output}.`
      : 'Firewall: not managed by lab.',
    fw.enabled && fw.allow.length
      ? table(
          ['rule', 'port', 'from'],
          fw.allow.map((r) => [r.name, `${r.port}/${r.proto}`, r.from.join(', ') || 'anywhere']),
        )
      : undefined,
  ].filter((x): x is string => x !== undefined);
}

function workloads(f: PersonaFacts): string[] {
  if (f.stacks.length === 0) return ['## Workloads', 'No stacks.'];
  const out = ['## Workloads'];
  for (const s of f.stacks) {
    out.push(`### ${s.name}`);
    const facts = [`State \`${s.state}\``, s.dependsOn.length ? `after ${s.dependsOn.join(', ')}` : ''].filter(Boolean).join(', ');
    out.push(`${facts}.${s.problem ? ` ${s.problem}.` : ''}`);
    if (s.services.length) out.push(table(['service', 'image', 'network'], s.services.map((x) => [x.name, code(x.image), x.hostNetwork ? 'host' : 'bridge'])));
    const ports = s.ports.map((p) => `${p.hostIp === '0.0.0.0' ? '' : `${p.hostIp}:`}${p.port}/${p.protocol} → ${p.service}:${p.target}`);
    if (ports.length) out.push(`Published: ${ports.map(code).join(', ')}.`);
    if (s.probes.length) out.push(`Health: ${s.probes.map(code).join(', ')}.`);
  }
  return out;
}

function capture(f: PersonaFacts): string[] {
  const c = f.p.persona.capture;
  if (!c) return ['## Capture', 'No capture declared.'];
  const r = c.retention;
  const keep = [r.keepLast && `last ${r.keepLast}`, r.daily && `${r.daily} daily`, r.weekly && `${r.weekly} weekly`, r.monthly && `${r.monthly} monthly`, r.yearly && `${r.yearly} yearly`].filter(Boolean).join(', ');
  return [
    '## Capture',
    table(
      ['', ''],
      [
        ['enabled', yesNo(c.enabled)],
        ['repository', c.repository],
        ['schedule', code(c.schedule)],
        ['paths', c.paths.map(code).join(', ')],
        ['exclude', c.exclude.map(code).join(', ')],
        ['retention', keep],
        ['consistency', `${c.consistency.strategy}${c.consistency.stacks.length ? ` (${c.consistency.stacks.join(', ')})` : ''}, timeout ${formatDuration(c.consistency.timeout)}`],
        ['replicate', c.replicate ? `${c.replicate.repository}, ${code(c.replicate.schedule)}` : undefined],
        ['restore drill', c.restoreDrill ? `${c.restoreDrill.scope}, ${code(c.restoreDrill.schedule)}` : undefined],
        ['VM backup', c.vm?.enabled ? `${c.vm.storage}, ${code(c.vm.schedule)}, ${c.vm.mode}, keep ${c.vm.keep}` : undefined],
      ].map(([k, v]) => [k ?? '', v ?? '']),
    ),
  ];
}

/** `docs/generated/personas/<name>.md`: one machine, everything its intent and the journal say. */
export function renderPersonaPage(f: PersonaFacts): string {
  const vm = f.p.persona.vm;
  return page([
    `# ${f.name}`,
    GENERATED_NOTE,
    f.p.persona.description ? `> ${f.p.persona.description.trim().replace(/\n/g, ' ')}` : undefined,
    `Intent: [${f.p.file}](../../../${f.p.file}). Back to the [inventory](../inventory.md).`,
    overview(f),
    '## Network',
    table(['NIC', 'bridge', 'VLAN', 'address', 'gateway'], f.nics.map((n) => [`net${n.index}`, n.bridge, n.vlan === undefined ? 'untagged' : `${n.vlan}${n.vlanName ? ` (${n.vlanName})` : ''}`, n.cidr, n.gateway])),
    '## Disks',
    table(
      ['disk', 'size', 'storage', 'persistent', 'mount', 'backup'],
      vm.disks.map((d) => [d.name, formatSize(d.size), d.storage, yesNo(d.persistent), d.mount, yesNo(d.backup)]),
    ),
    ...operatingSystem(f),
    ...workloads(f),
    '## URLs',
    f.urls.length ? table(['URL', 'from'], f.urls.map((u) => [u.url, u.from])) : 'No URL is declared.',
    ...capture(f),
  ]);
}
