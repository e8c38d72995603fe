import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { lab, WORKSPACE } from './_harness.js';

interface SimInfo {
  url: string;
  fingerprint: string;
  certificatePem: string;
  nodes: string[];
  adminToken: { id: string; secret: string };
  jumpHost: { host: string; port: number; knownHostsLine: string };
  pid: number;
  timing: string;
  pveVersion: string;
  rootPasswordFile: string;
}

/** GET over HTTPS trusting only the simulator's own certificate (pinned, never unverified). */
function get(info: SimInfo, path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${info.url}${path}`, { ca: info.certificatePem, headers: { Authorization: `PVEAPIToken=${info.adminToken.id}=${info.adminToken.secret}` } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('lab sim start', () => {
  it('serves PVE over HTTPS on loopback with a pinnable certificate, publishes its endpoint, stops on SIGTERM', async () => {
    const state = mkdtempSync(join(tmpdir(), 'lab-sim-'));
    const child = spawn(process.execPath, [join(WORKSPACE, 'packages/cli/bin/lab.mjs'), 'sim', 'start', '--guests', 'none', '--nodes', '2', '--state', state, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const info = await new Promise<SimInfo>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as SimInfo);
      });
      child.on('exit', (code) => reject(new Error(`sim exited ${code}: ${stderr}`)));
      setTimeout(() => reject(new Error(`sim did not start: ${stderr}`)), 60_000);
    });
    try {
      expect(info.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(info.nodes).toEqual(['pve1', 'pve2']);
      expect(new X509Certificate(info.certificatePem).fingerprint256).toBe(info.fingerprint);
      const version = await get(info, '/api2/json/version');
      expect(version.status).toBe(200);
      expect(version.headers['content-type']).toBe('application/json;charset=UTF-8');
      expect(JSON.parse(version.body).data.release).toBe('8.4');
      const endpoint = JSON.parse(readFileSync(join(state, 'endpoint.json'), 'utf8'));
      expect(endpoint).toMatchObject({ url: info.url, fingerprint: info.fingerprint, pid: child.pid });
      expect(info.jumpHost.knownHostsLine).toMatch(/^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /);
      // realistic timing unless --timing fast; the root password is a file ticket clients read
      expect(info).toMatchObject({ timing: 'realistic', pveVersion: '8.4.1', rootPasswordFile: join(state, 'root-password') });
      expect(readFileSync(info.rootPasswordFile, 'utf8').trim()).not.toBe('');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    expect(existsSync(join(state, 'endpoint.json'))).toBe(false);
    expect(stderr).toContain('SIGTERM: stopping the simulator');
  }, 90_000);

  it('--pve 9.1 speaks Proxmox VE 9.1; an unknown release is refused with what is spoken', async () => {
    const state = mkdtempSync(join(tmpdir(), 'lab-sim9-'));
    const child = spawn(process.execPath, [join(WORKSPACE, 'packages/cli/bin/lab.mjs'), 'sim', 'start', '--guests', 'none', '--pve', '9.1', '--timing', 'fast', '--state', state, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const info = await new Promise<SimInfo>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const nl = out.indexOf('\n');
          if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as SimInfo);
        });
        child.on('exit', (code) => reject(new Error(`sim exited ${code}`)));
      });
      expect(info).toMatchObject({ pveVersion: '9.1.1', timing: 'fast' });
      expect(JSON.parse((await get(info, '/api2/json/version')).body).data).toMatchObject({ version: '9.1.1', release: '9.1' });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    const bad = await lab('sim', 'start', '--guests', 'none', '--pve', '7.4', '--state', mkdtempSync(join(tmpdir(), 'lab-sim7-')));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("LAB_SIM_PVE_VERSION");
    expect(bad.stderr).toContain("the simulator does not speak Proxmox VE '7.4'");
  }, 90_000);
});
