import { formatSize, type Lab } from '@lab/intent';
import { GENERATED_NOTE, page, table } from './_md.js';
import { formatRun, type PersonaFacts } from './facts.js';

/** `docs/generated/inventory.md`: every machine on one page, the first thing to read in an outage. */
export function renderInventory(lab: Lab, facts: readonly PersonaFacts[]): string {
  const site = lab.site.site;
  const link = (f: PersonaFacts) => `[${f.name}](personas/${f.name}.md)`;
  const machines = table(
    ['persona', 'stage', 'node', 'VMID', 'IP', 'CPU', 'memory', 'disks', 'image', 'stacks', 'last apply', 'last verified restore'],
    facts.map((f) => {
      const vm = f.p.persona.vm;
      return [
        link(f),
        f.ttl ? `${f.stage} (ttl ${f.ttl})` : f.stage,
        f.node,
        f.vmid,
        f.address,
        vm.sockets > 1 ? `${vm.sockets}×${vm.cores}` : vm.cores,
        formatSize(vm.memory),
        f.disks.join('; '),
        f.image,
        f.stacks.map((s) => s.name).join(', '),
        formatRun(f.lastApply),
        f.p.persona.capture?.restoreDrill ? formatRun(f.lastVerifiedRestore) : formatRun(f.lastVerifiedRestore, 'no drill declared'),
      ];
    }),
  );
  const portRows = facts.flatMap((f) =>
    [...f.ports]
      .sort((a, b) => a.stack.localeCompare(b.stack) || a.service.localeCompare(b.service) || Number.parseInt(a.port, 10) - Number.parseInt(b.port, 10) || a.protocol.localeCompare(b.protocol))
      .map((p) => [f.name, p.stack, p.service, `${p.port}/${p.protocol}`, p.hostIp, p.target]),
  );
  const urlRows = facts.flatMap((f) => f.urls.map((u) => [f.name, u.url, u.from]));
  const nodes = table(
    ['node', 'address', 'cores', 'memory', 'personas'],
    site.nodes.map((n) => [n.name, n.address, n.cores, formatSize(n.memory), facts.filter((f) => f.node === n.name).map((f) => f.name).join(', ')]),
  );
  const floating = facts.filter((f) => !site.nodes.some((n) => n.name === f.node)).map((f) => f.name);
  return page([
    '# Inventory',
    GENERATED_NOTE,
    `Site **${site.name}**${site.domain ? ` (domain \`${site.domain}\`)` : ''}: ${site.nodes.length} Proxmox node(s), ${facts.length} persona(s). Network: [network.md](network.md).`,
    '## Machines',
    machines,
    '## Published ports',
    portRows.length ? table(['persona', 'stack', 'service', 'port', 'host IP', 'container port'], portRows) : 'No stack publishes a port.',
    '## URLs',
    urlRows.length ? table(['persona', 'URL', 'from'], urlRows) : 'No URL is declared.',
    'URLs come from URL-valued stack environment (`DOMAIN`, `*_URL`) and from HTTP health probes whose port the stack exposes beyond loopback.',
    '## Proxmox nodes',
    nodes,
    floating.length ? `Placed by lab at creation (\`node: auto\`): ${floating.join(', ')}.` : undefined,
  ]);
}
