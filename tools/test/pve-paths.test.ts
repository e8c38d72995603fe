import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Proxmox calls go through @lab/pve's typed operations (adr/0142): outside packages/pve and the
 * simulator, no source file spells an API path — a string starting with `/nodes`, `/cluster/`,
 * `/access/`, `/storage`, `/pools` or `/api2/json`, or a path built with `apiPath(…)`. Tests
 * aside. The packages not converted yet are listed below; the list only shrinks.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const packagesDir = join(root, 'packages');

/** The Proxmox API's own home and our simulator of it. */
const OWNERS = new Set(['pve', 'pve-sim']);
/** Not converted yet (adr/0142): remove a package from here when it is. */
const UNCONVERTED = new Set(['l0-host']);
/** Single files left, each with its reason. */
const UNCONVERTED_FILES = new Map([
  // Asks the embedded simulator with its admin token and CA whether the stored token still exists.
  ['packages/engine/src/layers/proxmox.ts', 'raw HTTPS to the embedded simulator'],
]);

const RAW = /(?:['"`]|\$\{[^}]*\})\/(?:nodes\b|cluster\/|access\/|storage\b|pools\b|api2\/json\/)|\bapiPath\(/;

function rawPaths(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(join(packagesDir, dir, 'src'), { recursive: true, encoding: 'utf8' })) {
    if (!f.endsWith('.ts')) continue;
    const rel = `packages/${dir}/src/${f}`;
    if (UNCONVERTED_FILES.has(rel)) continue;
    readFileSync(join(root, rel), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const code = line.trim();
        if (code.startsWith('*') || code.startsWith('//') || code.startsWith('/*')) return;
        if (RAW.test(code)) out.push(`${rel}:${i + 1}: ${code.slice(0, 120)}`);
      });
  }
  return out;
}

const dirs = readdirSync(packagesDir).filter((d) => !OWNERS.has(d));

describe('Proxmox API paths live in @lab/pve', () => {
  for (const dir of dirs.filter((d) => !UNCONVERTED.has(d))) {
    it(`${dir} calls Proxmox through @lab/pve's operations, never a raw API path`, () => {
      expect(rawPaths(dir)).toEqual([]);
    });
  }

  it('the list of packages not converted yet holds only packages that still need it', () => {
    for (const dir of UNCONVERTED) expect(rawPaths(dir).length, `${dir} has no raw path left: remove it from UNCONVERTED`).toBeGreaterThan(0);
  });

  it('the check catches what it is for', () => {
    for (const bad of ["client.get('/cluster/resources')", 'client.put(`/nodes/${n}/qemu/${id}/config`)', "apiPath('nodes', n)", '`${url}/api2/json/access/users`', "client.delete('/pools', p)"]) expect(RAW.test(bad), bad).toBe(true);
    for (const fine of ["'POST /access/ticket'", 'lab/nodes', "'/srv/media'"]) expect(RAW.test(fine), fine).toBe(false);
  });
});
