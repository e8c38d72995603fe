import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Secret, createPlan, mergePlans, renderPlan, type Plan } from '@lab/core';
import { loadLab, type Lab } from '@lab/intent';
import { planHost, type HostObservation } from '@lab/l0-host';
import { EMPTY_CATALOG, desiredTemplates, planImages } from '@lab/l1-image';
import { parseObservation, planWorkloads, renderWorkloads, workloadDiffs, type WorkstationImage } from '@lab/l4-workload';
import { renderHuman, renderMarkdown } from '../src/drift/render.js';
import { classify, summarize, type DriftLayer } from '../src/drift/report.js';
import { projectOs, projectVmCreates } from '../src/up/projection.js';

/**
 * Every human renderer of plans, over plans of every layer made by the layers' own planners
 * from the example lab: no `undefined`, no `[object Object]`, no control bytes (colour off),
 * no secret. (#13 item 7.)
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CANARY = 'canary-secret-value-9f2';
const secrets = { get: async () => new Secret(CANARY) };

function check(text: string, what: string): void {
  expect(text, what).not.toMatch(/\bundefined\b/);
  expect(text, what).not.toContain('[object Object]');
  expect(text, what).not.toContain('NaN');
  expect(text, what).not.toContain(CANARY);
  // eslint-disable-next-line no-control-regex
  expect(text, what).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
}

async function l4Plans(lab: Lab): Promise<Plan[]> {
  const out: Plan[] = [];
  const images: Record<string, WorkstationImage> = {};
  for (const p of lab.personas.filter((x) => x.persona.workloads.stacks.length > 0)) {
    const { desired, warnings } = await renderWorkloads({ persona: p, root: ROOT, secrets, imageOverrides: { 'grafana/alloy': 'lab-local/stand-in:alloy' }, imageDelivery: 'push', allowStandIns: false });
    for (const s of desired.stacks) for (const img of Object.values(s.images)) images[img.includes(':') ? img : `${img}:latest`] = { id: `sha256:${'1'.repeat(64)}`, sizeBytes: 5_000_000, ...(img.includes('stand-in') ? { standInFor: 'grafana/alloy' } : {}) };
    // A blank guest (every stack a create, images pushed) …
    out.push(planWorkloads(desired, parseObservation('@@docker yes\n@@compose 1.29.2\n'), { labVersion: 't', warnings, workstationImages: images }));
    // … and one running an older release of each stack, with a stopped container, a changed
    // secret and a stack no longer declared.
    const lines = ['@@docker yes', '@@compose 1.29.2'];
    for (const s of desired.stacks) {
      const manifest = { formatVersion: 1, stack: s.name, hash: 'old', compose: s.composeText.replace(/image: (\S+)/, 'image: $1-old'), env: { ...s.envDisplay, OLD_KEY: 'gone' }, envDigests: Object.fromEntries(Object.keys(s.envDigests).map((k) => [k, 'x'])), services: {}, files: {} };
      lines.push(`@@stack ${s.name}`, '@@current old', `@@manifest ${Buffer.from(JSON.stringify(manifest)).toString('base64')}`);
      const svc = Object.keys(s.services)[0]!;
      lines.push(`@@ctr id1 /${s.name}_${svc}_1 exited none {"com.docker.compose.project":"${s.name}","com.docker.compose.service":"${svc}","dev.lab.service-hash":"old","dev.lab.stack":"${s.name}"}`);
    }
    lines.push('@@stack retired', '@@current r1', `@@ctr id9 /retired_web_1 running healthy {"com.docker.compose.project":"retired","com.docker.compose.service":"web","dev.lab.stack":"retired"}`);
    out.push(planWorkloads(desired, parseObservation(lines.join('\n')), { labVersion: 't', warnings, workstationImages: images }));
  }
  return out;
}

describe('plan renderers over every layer', () => {
  it('print no undefined, [object Object], NaN, control bytes or secrets', async () => {
    const lab = await loadLab(ROOT);
    const plans: Plan[] = [];
    // L0: a Proxmox API that does not answer.
    const unreachable = { url: 'https://127.0.0.1:8006', observer: 'lab@pve!lab', subject: 'lab@pve!lab', reachable: { error: { code: 'LAB_PVE_UNREACHABLE', summary: 'connection refused' } }, storageStatus: {}, networks: {}, networkVisible: {}, poolsVisible: {} } as unknown as HostObservation;
    plans.push(planHost({ site: lab.site.site, personas: lab.personas }, unreachable, { mode: 'normal', labVersion: 't' }));
    // L1: no template built yet.
    plans.push(planImages(desiredTemplates(lab.site.site).templates, { nodes: lab.site.site.nodes.map((n) => n.name), vms: [], usedVmids: [], importVolumes: [], importDiskImages: true }, EMPTY_CATALOG, { labVersion: 't', createdAt: new Date(0) }));
    // L2: every VM to create.
    plans.push(projectVmCreates(undefined, createPlan({ labVersion: 't', personas: [], layers: ['l2'], mode: 'normal', basis: {}, changes: [], diagnostics: [] }), lab.personas, lab.site.site, 't').plan);
    // L3: every persona on a blank guest.
    for (const p of lab.personas) plans.push(await projectOs({ persona: p, root: ROOT, secrets, labVersion: 't' }));
    plans.push(...(await l4Plans(lab)));
    expect(new Set(plans.flatMap((p) => p.layers))).toEqual(new Set(['l0', 'l1', 'l2', 'l3', 'l4']));
    const all = mergePlans('t', plans, 'normal');
    check(renderPlan(all, { showNoop: true }), 'renderPlan');
    for (const p of plans) check(renderPlan(p, { showNoop: true }), `renderPlan ${p.layers.join(',')}`);
    check(workloadDiffs(all), 'workloadDiffs');
    // Drift reports (human and markdown) of the L2–L4 plans.
    const personas = lab.personas.map((p) => ({
      persona: p.name,
      layers: (['l2', 'l3', 'l4'] as DriftLayer[]).map((layer) => classify(layer, p.name, { ...all, changes: all.changes.filter((c) => c.layer === layer && c.address.startsWith(`${p.name}/`)) })),
    }));
    const report = summarize(personas.map((x) => ({ ...x, verdict: 'drifted' as const, durationMs: 1 })), 't', new Date(0));
    check(renderHuman(report), 'drift human');
    check(renderMarkdown(report), 'drift markdown');
  });

  it('shows L4 compose and env changes as unified diffs, secrets masked', async () => {
    const lab = await loadLab(ROOT);
    const [, update] = await l4Plans({ ...lab, personas: lab.personas.filter((p) => p.name === 'identity') });
    const text = renderPlan(update!);
    expect(text).toContain('--- compose.yaml (guest, release old)');
    expect(text).toContain('+++ compose.yaml (intent, release ');
    expect(text).toMatch(/-\s+image: vaultwarden\/server:1\.34\.1-old\n\s+\+\s+image: vaultwarden\/server:1\.34\.1/);
    expect(text).toContain('+++ .env (intent, release ');
    expect(text).toContain('-OLD_KEY=gone');
    expect(text).toContain('ADMIN_TOKEN=***');
    expect(text).not.toContain('+ compose: "services:');
    expect(text).toMatch(/services\.vaultwarden: exited → recreated {2}\(restart\)/);
  });
});
