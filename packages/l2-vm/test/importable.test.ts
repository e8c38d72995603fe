import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@lab/ssh';
import { buildDist, installConsumer, pack, WORKSPACE } from '../../../tools/pack-test/pack.js';
import { libraryExample, namedImports } from '../../../tools/pack-test/readme-examples.js';
import { observeVms } from '../src/index.js';
import { startL2, type L2Fixture } from './_fixture.js';

const run = promisify(execFile);

/** Every layer, and the workspace packages they (and their README examples) use at run time. */
const LAYERS = ['l0-host', 'l1-image', 'l2-vm', 'l3-os', 'l4-workload', 'capture'];
const PACKAGES = ['core', 'intent', 'pve', 'ssh', 'secrets', ...LAYERS];
/** README examples that need only a Proxmox endpoint; L3 and L4 need a real guest. */
const RUNNABLE = new Set(['l0-host', 'l1-image', 'l2-vm', 'capture']);

const NETWORK = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|network/i;

let fx: L2Fixture | undefined;
let scratch: string | undefined;
afterAll(async () => {
  await fx?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const seconds = (a: number, b: number): string => `${((b - a) / 1000).toFixed(1)} s`;

describe('the layers as installed libraries', () => {
  it('pack with their workspace dependencies, install with npm outside the workspace, and run from plain ESM (L2 plans and applies)', async (ctx) => {
    const t0 = performance.now();
    scratch = await mkdtemp(join(tmpdir(), 'lab-consumer-'));
    expect(relative(WORKSPACE, scratch).startsWith('..')).toBe(true);

    await buildDist(PACKAGES);
    const tBuilt = performance.now();
    const tarballs = await pack(PACKAGES, join(scratch, 'tarballs'));
    const { stdout: manifest } = await run('tar', ['-xzOf', tarballs.get('@lab/l2-vm')!, 'package/package.json']);
    const deps = (JSON.parse(manifest) as { dependencies: Record<string, string> }).dependencies;
    expect(deps['@lab/core']).toMatch(/^\^\d+\.\d+\.\d+$/);
    expect(Object.values(deps).some((v) => v.startsWith('workspace:'))).toBe(false);
    const tPacked = performance.now();

    const app = join(scratch, 'app');
    try {
      await installConsumer(app, tarballs);
    } catch (e) {
      const why = String((e as { stderr?: unknown }).stderr ?? e);
      if (process.env.CI !== 'true' && NETWORK.test(why)) ctx.skip(`npm registry unreachable, cannot install the external dependencies: ${why.split('\n')[0]}`);
      throw e;
    }
    const tInstalled = performance.now();

    // Every name a README example imports is exported by the installed package (its dist/).
    const examples = new Map(LAYERS.map((l) => [l, libraryExample(join(WORKSPACE, 'packages', l, 'README.md'))]));
    const wanted: Record<string, string[]> = {};
    for (const code of examples.values()) {
      for (const [mod, names] of namedImports(code)) if (mod.startsWith('@lab/')) wanted[mod] = [...new Set([...(wanted[mod] ?? []), ...names])];
    }
    const probe = `const wanted = ${JSON.stringify(wanted)}; const missing = [];
      for (const [mod, names] of Object.entries(wanted)) { const m = await import(mod); for (const n of names) if (!(n in m)) missing.push(mod + ' ' + n); }
      process.stdout.write(JSON.stringify(missing));`;
    const { stdout: missing } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: app });
    expect(JSON.parse(missing)).toEqual([]);
    expect(Object.keys(wanted).sort()).toEqual(expect.arrayContaining(LAYERS.map((l) => `@lab/${l}`)));

    fx = await startL2();
    const { publicKey } = generateKeyPair('readme');
    // No "@lab/source" condition and no tsx out here: Node resolves the packages' dist/ exports.
    const exampleEnv = {
      PATH: process.env.PATH,
      LAB_DIR: WORKSPACE,
      PVE_URL: fx.sim.url,
      PVE_FINGERPRINT: fx.sim.fingerprint,
      PVE_TOKEN_ID: fx.sim.adminToken.id,
      PVE_TOKEN_SECRET: fx.sim.adminToken.secret,
      PERSONA: 'tinker',
      SSH_PUBLIC_KEY: publicKey,
    };
    const outputs = new Map<string, string>();
    for (const [layer, code] of examples) {
      if (!RUNNABLE.has(layer)) continue;
      await writeFile(join(app, `${layer}.mjs`), code);
      const { stdout } = await run(process.execPath, [`${layer}.mjs`], { cwd: app, env: exampleEnv, timeout: 60_000 });
      outputs.set(layer, stdout);
    }
    // A check of a host lab has not prepared yet: what L0 would create, and the privileges the
    // lab's token lacks as errors (so the plan never reads as a success, adr/0165).
    expect(outputs.get('l0-host')).toContain('_site/l0/role[LabVM] will be created');
    expect(outputs.get('l0-host')).toMatch(/role LabVM does not exist[\s\S]*Planning failed with \d+ errors; nothing was applied\./);
    expect(outputs.get('l1-image')).toMatch(/Plan: \d+ to create|No changes/);
    expect(outputs.get('l2-vm')).toContain('tinker/l2/vm');
    expect(outputs.get('l2-vm')).toMatch(/Plan: 1 to create/);
    expect(outputs.get('capture')).toContain('0 backup(s)');

    await copyFile(join(WORKSPACE, 'tools/pack-test/l2-consumer.mjs'), join(app, 'consumer.mjs'));
    const cfg = {
      url: fx.sim.url,
      fingerprint: fx.sim.fingerprint,
      certificatePem: fx.sim.certificatePem,
      tokenId: fx.sim.adminToken.id,
      tokenSecret: fx.sim.adminToken.secret,
      controlToken: fx.sim.controlToken,
      lab: WORKSPACE,
      persona: 'tinker',
      knownHosts: join(scratch, 'known_hosts'),
    };
    const { stdout } = await run(process.execPath, ['consumer.mjs'], { cwd: app, env: { PATH: process.env.PATH, LAB_CONSUMER: JSON.stringify(cfg) }, timeout: 60_000 });
    const out = JSON.parse(stdout) as { first: string; firstChanges: { address: string; action: string }[]; second: string; converged: boolean };
    expect(out.firstChanges).toEqual([{ address: 'tinker/l2/vm', action: 'create' }]);
    expect(out.first).toMatch(/^Plan: 1 to create, 0 to update/);
    expect(out.converged).toBe(true);

    // The workspace's own view of the cluster agrees.
    const seen = await observeVms(fx.client, { personas: ['tinker'] });
    expect(seen.managed.get('tinker')?.status).toBe('running');
    const tDone = performance.now();
    process.stderr.write(
      `importable layers: build ${seconds(t0, tBuilt)} (incremental), pack ${PACKAGES.length} ${seconds(tBuilt, tPacked)}, npm install ${seconds(tPacked, tInstalled)}, ` +
        `exports + simulator + README examples + L2 plan/apply/plan ${seconds(tInstalled, tDone)}\n`,
    );
  }, 180_000);
});
