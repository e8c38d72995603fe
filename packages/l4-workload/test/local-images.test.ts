import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Secret } from '@lab/core';
import { loadLab } from '@lab/intent';
import { LOCAL_IMAGES_DIR, localImagesOverrides, renderWorkloads, resolveImage } from '@lab/l4-workload';

/** tools/test-images covers every image of the example lab, and says which are stand-ins (adr/0151). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function recipes(): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = [];
  for (const f of (await readdir(join(LOCAL_IMAGES_DIR, 'recipes'))).filter((x) => x.endsWith('.conf')).sort()) {
    const vars: Record<string, string> = { file: f };
    for (const m of (await readFile(join(LOCAL_IMAGES_DIR, 'recipes', f), 'utf8')).matchAll(/^([A-Z_]+)=(.*)$/gm)) vars[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
    out.push(vars);
  }
  return out;
}

describe('local images (tools/test-images)', () => {
  it('map every image of every example stack to an image a recipe builds, and nothing else', async () => {
    const overrides = await localImagesOverrides();
    const built = (await recipes()).map((r) => r.IMAGE!);
    expect(Object.values(overrides).sort()).toEqual([...built].sort());
    const lab = await loadLab(ROOT);
    const used = new Set<string>();
    for (const p of lab.personas) {
      const { desired } = await renderWorkloads({ persona: p, root: ROOT, secrets: { get: async () => new Secret('x') }, imageOverrides: overrides });
      for (const s of desired.stacks) {
        for (const [svc, image] of Object.entries(s.images)) {
          expect(built, `${p.name}/${s.name}/${svc} runs ${image}`).toContain(image);
          used.add(image);
        }
      }
    }
    expect([...used].sort(), 'every recipe is used by the example lab').toEqual([...built].sort());
  });

  it('label every stand-in with the upstream image it replaces, the one its override key names', async () => {
    const overrides = await localImagesOverrides();
    for (const r of await recipes()) {
      expect(['debian', 'stand-in'], r.file).toContain(r.KIND);
      if (r.KIND !== 'stand-in') continue;
      expect(r.UPSTREAM, `${r.file}: UPSTREAM`).toBeTruthy();
      expect(overrides[r.UPSTREAM!], `${r.file}: the override of ${r.UPSTREAM}`).toBe(r.IMAGE);
      expect(r.IMAGE, r.file).toMatch(/^lab-local\/stand-in:/);
      expect(resolveImage(`${r.UPSTREAM}:1.0`, overrides)?.image).toBe(r.IMAGE);
    }
  });
});
