import type { Lab } from '@lab/intent';
import { renderGraph } from './graph.js';
import { GENERATED_NOTE, mid, mlabel, page, table } from './_md.js';
import type { PersonaFacts } from './facts.js';

const netId = (bridge: string, vlan: number | undefined) => `net_${mid(bridge)}_${vlan === undefined ? 'untagged' : String(vlan)}`;

/** Bridges and their VLANs as subgraphs; nodes and personas attached by address. */
function networkDiagram(lab: Lab, facts: readonly PersonaFacts[]): string {
  const site = lab.site.site;
  const lines = ['flowchart LR'];
  const declared = new Set<string>();
  for (const b of site.bridges) {
    lines.push(`  subgraph br_${mid(b.name)}["${mlabel(`${b.name}${b.vlanAware ? ' (VLAN-aware)' : ''}`)}"]`);
    const untagged = netId(b.name, undefined);
    declared.add(untagged);
    lines.push(`    ${untagged}["${mlabel(`untagged${b.cidr ? ` ${b.cidr}` : ''}${b.gateway ? `<br/>gw ${b.gateway}` : ''}`)}"]`);
    for (const v of b.vlans) {
      const id = netId(b.name, v.id);
      declared.add(id);
      lines.push(`    ${id}["${mlabel(`VLAN ${v.id}${v.name ? ` ${v.name}` : ''}${v.cidr ? ` ${v.cidr}` : ''}${v.gateway ? `<br/>gw ${v.gateway}` : ''}`)}"]`);
    }
    lines.push('  end');
  }
  for (const n of site.nodes) {
    lines.push(`  node_${mid(n.name)}[["${mlabel(`${n.name}${n.address ? `<br/>${n.address}` : ''}`)}"]]`);
    const first = site.bridges.find((b) => b.nodes === undefined || b.nodes.includes(n.name));
    if (first) lines.push(`  node_${mid(n.name)} --- ${netId(first.name, undefined)}`);
  }
  for (const f of facts) {
    lines.push(`  p_${mid(f.name)}("${mlabel(`${f.name}<br/>${f.address}`)}")`);
    for (const nic of f.nics) {
      const id = netId(nic.bridge, nic.vlan);
      if (!declared.has(id)) {
        declared.add(id);
        lines.push(`  ${id}["${mlabel(`${nic.bridge} VLAN ${nic.vlan ?? 'untagged'} (not in lab.yaml)`)}"]`);
      }
      lines.push(`  ${id} --- p_${mid(f.name)}`);
    }
  }
  return lines.join('\n');
}

/** `docs/generated/network.md`: addressing plan, the network diagram and the layer diagram. */
export function renderNetwork(lab: Lab, facts: readonly PersonaFacts[]): string {
  const site = lab.site.site;
  const nets = site.bridges.flatMap((b) => [
    [b.name, 'untagged', '', b.cidr, b.gateway, ''],
    ...b.vlans.map((v) => [b.name, String(v.id), v.name, v.cidr, v.gateway, '']),
  ]);
  for (const row of nets) {
    const [bridge, vlan] = row;
    row[5] = facts
      .filter((f) => f.nics.some((n) => n.bridge === bridge && (n.vlan === undefined ? 'untagged' : String(n.vlan)) === vlan))
      .map((f) => f.name)
      .join(', ');
  }
  const addresses = facts.flatMap((f) =>
    f.nics.map((n) => [f.name, `net${n.index}`, n.bridge, n.vlan === undefined ? 'untagged' : `${n.vlan}${n.vlanName ? ` (${n.vlanName})` : ''}`, n.cidr, n.gateway]),
  );
  return page([
    '# Network',
    GENERATED_NOTE,
    '## Bridges and VLANs',
    table(['bridge', 'VLAN', 'name', 'network', 'gateway', 'personas'], nets),
    '## Addresses',
    table(['persona', 'NIC', 'bridge', 'VLAN', 'address', 'gateway'], addresses),
    '## Diagram',
    `\`\`\`mermaid\n${networkDiagram(lab, facts)}\n\`\`\``,
    '## Layers',
    'L0 prepares the host, L1 builds each image, L2 clones a VM per persona from it, L3 configures its OS, L4 runs its stacks; capture backs up its data.',
    `\`\`\`mermaid\n${renderGraph(lab)}\n\`\`\``,
  ]);
}
