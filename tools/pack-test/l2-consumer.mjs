// A program outside the lab workspace that uses layer L2 as a library, through the public API
// of the installed @lab packages only: load the intent, plan one persona's VM against a Proxmox
// endpoint, apply the plan, and plan again to prove convergence. The importable-layers test
// (packages/l2-vm/test/importable.test.ts) runs it from a scratch npm project; the layer
// READMEs show the same steps. Input: LAB_CONSUMER, a JSON object (see `cfg` below).
import { request } from 'node:https';
import { hasChanges, renderSummaryLine, Secret, silentReporter } from '@lab/core';
import { loadLab } from '@lab/intent';
import { applyVms, desiredVm, observeVms, planVms } from '@lab/l2-vm';
import { createPveClient } from '@lab/pve';
import { generateKeyPair } from '@lab/ssh';

/** @type {{ url: string, fingerprint: string, tokenId: string, tokenSecret: string, certificatePem: string, controlToken: string, lab: string, persona: string, knownHosts: string }} */
const cfg = JSON.parse(process.env.LAB_CONSUMER ?? '{}');

const lab = await loadLab(cfg.lab);
const site = lab.site.site;
const persona = lab.personas.find((p) => p.name === cfg.persona);
if (!persona) throw new Error(`no persona ${cfg.persona} in ${cfg.lab}`);

const pve = createPveClient({ url: cfg.url, fingerprint: cfg.fingerprint, auth: { kind: 'token', tokenId: cfg.tokenId, secret: new Secret(cfg.tokenSecret) } });
const { publicKey } = generateKeyPair('consumer');
const desired = [desiredVm(persona, site, { sshPublicKeys: [publicKey], poolOf: (stage) => `${site.name}-${stage}` })];

async function plan() {
  const observed = await observeVms(pve, { personas: [persona.name] });
  return planVms(desired, observed, { mode: 'normal', labVersion: 'consumer', allowReboot: false, destroyData: false });
}

// Host-key snippets: on a real node lab writes them over SSH (`sshSnippetWriter`); the
// simulator takes them on its control endpoint, TLS pinned to its own certificate.
const snippets = {
  place: (node, storage, name, content) =>
    new Promise((resolve, reject) => {
      const req = request(`${cfg.url}/_sim/snippets`, { method: 'POST', ca: cfg.certificatePem, headers: { Authorization: `Bearer ${cfg.controlToken}`, 'Content-Type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body).volid) : reject(new Error(`snippet refused: ${body}`))));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ node, storage, name, content }));
    }),
};

try {
  const first = await plan();
  await applyVms(first, { client: pve, reporter: silentReporter, knownHostsFile: cfg.knownHosts, snippets, taskPollMs: 20, pollMs: 20 });
  const second = await plan();
  process.stdout.write(
    `${JSON.stringify({
      first: renderSummaryLine(first),
      firstChanges: first.changes.map((c) => ({ address: c.address, action: c.action })),
      second: renderSummaryLine(second),
      converged: !hasChanges(second),
    })}\n`,
  );
} finally {
  await pve.close();
}
