import type { Lab } from '@lab/intent';

const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');

/**
 * The lab as a Mermaid flowchart: the host (L0) feeds each image (L1), each image the VMs cloned
 * from it (L2), each VM its OS (L3) and its stacks (L4). Paste it into any Markdown that renders
 * Mermaid (GitHub, Gitea, Obsidian).
 */
export function renderGraph(lab: Lab): string {
  const site = lab.site.site;
  const lines = ['flowchart LR', `  host["L0 host: ${site.name}"]`];
  const images = new Set(lab.personas.map((p) => p.persona.vm.image.name));
  for (const image of [...images].sort()) lines.push(`  img_${id(image)}["L1 image: ${image}"]`, `  host --> img_${id(image)}`);
  for (const p of lab.personas) {
    const n = id(p.name);
    const vm = p.persona.vm;
    lines.push(`  subgraph ${n}_persona["${p.name}${p.persona.lifecycle.stage === 'experimental' ? ' (experimental)' : ''}"]`);
    lines.push(`    ${n}_vm["L2 vm: ${vm.cores} vCPU, node ${vm.node}"]`);
    lines.push(`    ${n}_os["L3 os: ${p.persona.os.hostname}"]`);
    lines.push(`    ${n}_vm --> ${n}_os`);
    for (const s of p.persona.workloads.stacks) {
      lines.push(`    ${n}_stack_${id(s.name)}["L4 stack: ${s.name}"]`, `    ${n}_os --> ${n}_stack_${id(s.name)}`);
    }
    if (p.persona.capture?.enabled) lines.push(`    ${n}_capture[("capture: ${p.persona.capture.repository}")]`, `    ${n}_os -.-> ${n}_capture`);
    lines.push('  end');
    lines.push(`  img_${id(vm.image.name)} --> ${n}_vm`);
  }
  return lines.join('\n');
}
