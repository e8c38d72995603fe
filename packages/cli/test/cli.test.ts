import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lab, scratchLab } from './_harness.js';
import type { ScratchLab } from '../src/scratch-lab.js';

let scratch: ScratchLab;
beforeAll(async () => {
  scratch = await scratchLab();
});

describe('lab validate', () => {
  it('accepts the example lab and lists its personas, exit 0', async () => {
    const r = await lab('validate', '--root', scratch.root);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/✓ lab.yaml and 5 persona\(s\) valid: edge, identity, media, monitoring, tinker/);
  });

  it('--json gives one document with each persona and its digest', async () => {
    const r = await lab('validate', '--root', scratch.root, '--json', '--persona', 'media');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.personas).toHaveLength(1);
    expect(doc.personas[0]).toMatchObject({ name: 'media', file: 'personas/media/persona.yaml' });
    expect(doc.personas[0].digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('names file, line, column, path and the fix for a bad value; exit 1', async () => {
    const s = await scratchLab();
    const file = join(s.root, 'personas/media/persona.yaml');
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const i = lines.findIndex((l) => /^\s+memory:/.test(l));
    lines[i] = lines[i]!.replace(/memory:.*/, 'memory: lots');
    writeFileSync(file, lines.join('\n'));
    const col = lines[i]!.indexOf('lots') + 1;
    const r = await lab('validate', '--root', s.root);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`personas/media/persona.yaml:${i + 1}:${col} vm.memory: expected a size like "8GiB", got "lots"`);
    expect(r.stderr).toMatch(/hint: /);
  });

  it('fails when a referenced secret does not exist, pointing at the reference', async () => {
    const s = await scratchLab();
    const file = join(s.root, 'personas/media/persona.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('secret: media/jellyfin-api-key', 'secret: media/nope'));
    const r = await lab('validate', '--root', s.root, '--persona', 'media');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/personas\/media\/persona\.yaml:\d+:\d+ workloads\.stacks\[0\]\.env\.\w+: secret "media\/nope" does not exist/);
    expect(r.stderr).toContain('hint: create it: lab secret set media/nope');
  });

  it('refuses an unknown persona and lists the known ones', async () => {
    const r = await lab('validate', '--root', scratch.root, '--persona', 'medai');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no persona named "medai"');
    expect(r.stderr).toContain('personas: edge, identity, media, monitoring, tinker');
  });
});

describe('lab personas, graph, schema', () => {
  it('lists personas with lifecycle, node, image and workloads', async () => {
    const r = await lab('personas', '--root', scratch.root);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+LIFECYCLE\s+NODE\s+IMAGE\s+CPU\s+MEMORY\s+WORKLOADS$/);
    expect(lines.find((l) => l.startsWith('tinker'))).toMatch(/experimental \(ttl /);
    const json = JSON.parse((await lab('personas', '--root', scratch.root, '--json')).stdout);
    expect(json.map((p: { name: string }) => p.name)).toEqual(['edge', 'identity', 'media', 'monitoring', 'tinker']);
    expect(json.find((p: { name: string }) => p.name === 'media').workloads.length).toBeGreaterThan(0);
  });

  it('marks the services that run stand-in images when the lab pushes the local images', async () => {
    // Needs the local images on this workstation (tools/test-images); built when missing, cached.
    const { ensureLocalImages } = await import('@lab/engine');
    const { createMemoryReporter } = await import('@lab/core');
    const local = await ensureLocalImages({ reporter: createMemoryReporter(), recipes: ['vaultwarden', 'alloy'] });
    const file = join(scratch.root, 'lab.yaml');
    const original = readFileSync(file, 'utf8');
    const overrides = Object.entries(local.overrides).map(([k, v]) => `    ${k}: ${v}`).join('\n');
    writeFileSync(file, `${original.trimEnd()}\nworkloads:\n  imageDelivery: push\n  allowStandIns: true\n  imageOverrides:\n${overrides}\n`);
    try {
      const r = await lab('personas', '--root', scratch.root);
      expect(r.code).toBe(0);
      const line = r.stdout.split('\n').find((l) => l.startsWith('identity'))!;
      expect(line).toMatch(/ {2}\[STAND-INS: [^\]]+\]$/);
      expect(line).toContain('vaultwarden for vaultwarden/server');
      expect(line).toContain('alloy for grafana/alloy');
      const json = JSON.parse((await lab('personas', '--root', scratch.root, '--json')).stdout);
      expect(json.find((p: { name: string }) => p.name === 'identity').standIns).toContainEqual({ stack: 'vaultwarden', service: 'vaultwarden', image: 'lab-local/stand-in:vaultwarden', standInFor: 'vaultwarden/server' });
    } finally {
      writeFileSync(file, original);
    }
  }, 300_000);

  it('draws personas → layers as Mermaid', async () => {
    const r = await lab('graph', '--root', scratch.root);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('flowchart LR\n')).toBe(true);
    expect(r.stdout).toContain('host --> img_debian_12');
    expect(r.stdout).toContain('img_debian_12_docker --> media_vm');
    expect(r.stdout).toMatch(/media_os --> media_stack_jellyfin/);
  });

  it('prints the JSON Schemas', async () => {
    const persona = JSON.parse((await lab('schema')).stdout);
    expect(persona.title).toBe('lab persona');
    const site = JSON.parse((await lab('schema', '--kind', 'site')).stdout);
    expect(site.title).toBe('lab site');
    expect((await lab('schema', '--kind', 'nope')).code).toBe(1);
  });
});

describe('usage errors', () => {
  it('unknown command: exit 1 with the list of commands', async () => {
    const r = await lab('frobnicate');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'.*\n.*validate/);
  });

  it('unknown flag is refused instead of ignored', async () => {
    const r = await lab('validate', '--persone', 'media');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown option '--persone'");
  });

  it('no lab.yaml: says where it looked and how to fix it', async () => {
    const r = await lab('validate', '--root', '/');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('LAB_ROOT_NOT_FOUND');
    expect(r.stderr).toContain('hint:');
  });

  it('--json errors are JSON on stdout too', async () => {
    const r = await lab('validate', '--root', '/', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'LAB_ROOT_NOT_FOUND' } });
  });

  it('--help prints usage with exit 0', async () => {
    const r = await lab('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('validate');
  });
});
