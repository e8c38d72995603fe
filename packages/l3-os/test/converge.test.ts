import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabError, Secret, createMemoryReporter, type Reporter } from '@lab/core';
import { loadPersona } from '@lab/intent';
import { SshConnection, generateKeyPair, type KeyPair } from '@lab/ssh';
import { applyL3, checkL3, planL3, renderL3Plan, resolveOs, type L3Intent } from '@lab/l3-os';
import { simAvailable, startSimGuests, tempLabRoot, type SimGuests } from './_sim.js';

/**
 * L3 against one real guest (Debian 12, systemd, sshd, apt from Debian's mirror), reached
 * through the simulator's jump host by its declared address. One guest for the whole file:
 * the tests run in order and build on each other.
 */
const avail = await simAvailable();
const inCi = process.env.CI === 'true';
if (!avail.ok && !inCi) console.warn(`[@lab/l3-os] skipping converge tests: ${avail.reason}`);

const DEMO_UNIT = `[Unit]
Description=lab demo service
[Service]
ExecStart=/bin/sh -c 'exec sleep infinity'
[Install]
WantedBy=multi-user.target
`;

function personaYaml(aliceKey: string, demoConf: string): string {
  return `name: conv
vm:
  image: debian-12@stable
  memory: 1GiB
  disks:
    - { name: root, size: 8G, storage: local-lvm }
  nics:
    - { bridge: vmbr0, ip: 10.77.0.10/24, gateway: 10.77.0.1 }
os:
  hostname: conv
  domain: home.arpa
  timezone: Europe/Paris
  locale: en_US.UTF-8
  groups:
    - { name: media, gid: 2000 }
  users:
    - name: alice
      comment: Alice
      groups: [media, adm]
      sudo: nopasswd
      sshKeys: ["${aliceKey}"]
    - { name: svc, system: true, shell: /usr/sbin/nologin, groups: [media] }
  packages:
    - htop
    - { name: jq, state: held }
    - tree
  apt:
    repositories:
      - name: debian-extra
        uris: [http://deb.debian.org/debian]
        suites: [bookworm-backports]
        components: [main]
        signedBy: { file: keys/debian.gpg, fingerprint: B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8 }
  directories:
    - { path: /srv/media, owner: alice, group: media, mode: "2775" }
    - { path: /etc/demo }
  files:
    - { path: /etc/motd, content: "conv: managed by lab\\n" }
    - path: /etc/demo/demo.conf
      template: true
      content: "name={{ name }}\\ntoken={{ token }}\\n${demoConf}"
      variables: { name: conv, token: { secret: conv/demo-token } }
      mode: "0640"
      group: media
    - { path: /etc/demo/secret.key, content: { secret: conv/demo-key }, mode: "0600" }
  lines:
    - { path: /etc/ssh/sshd_config, match: '^#?MaxAuthTries\\s', line: MaxAuthTries 4 }
    - { path: /etc/ssh/sshd_config, match: '^#?X11Forwarding\\s', line: X11Forwarding no }
  hosts:
    - { ip: 10.0.10.10, names: [nas.home.arpa, nas] }
  sysctl:
    vm.swappiness: 10
  systemd:
    units:
      - name: demo.service
        content: |
${DEMO_UNIT.split('\n').map((l) => `          ${l}`).join('\n')}
    services:
      - { name: demo.service, enabled: true, state: running, restartOn: [/etc/demo/demo.conf] }
      - { name: ssh, enabled: true, state: running }
  mounts:
    - { path: /mnt/scratch, device: tmpfs, type: tmpfs, options: [size=16m, mode=1777] }
  firewall:
    enabled: true
    allow:
      - { name: web, port: 443 }
  journald: { maxUse: 64M }
  unattendedUpgrades: { enabled: true, origins: ["origin=Debian"] }
`;
}

/** A digest of everything a check could possibly change on the guest. */
const STATE_DIGEST = `
{
  find /etc /home /root /srv /var/lib/lab /usr/local /var/spool/cron -xdev \\( -type f -o -type l -o -type d \\) -printf '%p %m %u %g %s %l\\n' 2>/dev/null | sort
  find /etc /home /srv /var/lib/lab /usr/local -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum 2>/dev/null
  dpkg-query -W -f='\${db:Status-Abbrev} \${Package} \${Version}\\n'
  systemctl list-unit-files --no-legend --no-pager
  systemctl list-units --all --no-legend --no-pager --plain | awk '{print $1, $3, $4}' | grep -v -e session- -e user@ -e user-runtime-dir@
  findmnt -rn -o TARGET,SOURCE,FSTYPE
  command -v nft >/dev/null && nft list ruleset
  hostname; sysctl -n vm.swappiness
} | sha256sum`;

describe.runIf(avail.ok || inCi)('L3 converges a real guest', () => {
  let sim: SimGuests;
  let intent: L3Intent;
  let root = '';
  let aliceKey: KeyPair;
  const secrets = { get: async (name: string) => new Secret(name === 'conv/demo-token' ? 'tok-5ecret-value' : 'KEY-5ecret-material') };
  const connections: SshConnection[] = [];
  const connect = async () => {
    const c = await SshConnection.open(sim.guests[0]!.target);
    connections.push(c);
    return c;
  };
  const guestSh = (cmd: string) => sim.sh(sim.guests[0]!, cmd);

  async function intentFor(demoConf: string): Promise<L3Intent> {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${root}/personas/conv/persona.yaml`, personaYaml(aliceKey.publicKey, demoConf.replace(/\n/g, '\\n')));
    const { persona } = await loadPersona(root, "conv").catch((e: LabError) => { throw new Error(e.format()); });
    return resolveOs(persona, { root, secrets });
  }

  beforeAll(async () => {
    if (!avail.ok) throw new Error(`integration test needs Docker: ${avail.reason}`);
    sim = await startSimGuests(1, 'conv');
    aliceKey = generateKeyPair('alice@test');
    root = await tempLabRoot({
      'personas/conv/keys/debian.gpg': await readFile('/usr/share/keyrings/debian-archive-bookworm-automatic.gpg'),
      'personas/conv/persona.yaml': '',
    });
    intent = await intentFor('level=1\n');
  }, 600_000);

  afterAll(async () => {
    for (const c of connections) await c.close();
    await sim?.close();
  }, 120_000);

  it('check on the fresh guest plans the whole persona and changes nothing (state digest identical)', async () => {
    const before = await guestSh(STATE_DIGEST);
    const c = await connect();
    const r = await checkL3(intent, { host: c });
    const after = await guestSh(STATE_DIGEST);
    expect(after).toBe(before);
    expect(r.roundTrips).toBe(1);
    const pending = r.plan.changes.filter((x) => x.action !== 'noop').map((x) => x.address);
    for (const a of ['conv/l3/apt.package[htop]', 'conv/l3/user[alice]', 'conv/l3/file[/etc/motd]', 'conv/l3/systemd.unit[demo.service]', 'conv/l3/firewall', 'conv/l3/mount[/mnt/scratch]', 'conv/l3/apt.repository[debian-extra]']) {
      expect(pending).toContain(a);
    }
    const text = renderL3Plan(r.plan);
    expect(text).toContain('+++ b/etc/motd');
    expect(text).not.toContain('tok-5ecret-value');
    expect(text).not.toContain('KEY-5ecret-material');
    expect(r.plan.diagnostics.map((d) => d.code)).toContain('LAB_L3_SYSCTL_READONLY');
  });

  it('apply converges and re-verifies with zero remaining changes', async () => {
    const c = await connect();
    const reporter = createMemoryReporter();
    const r = await applyL3(undefined, intent, { host: c, reporter });
    expect(r.applied.length).toBeGreaterThan(20);
    const groups = new Set(reporter.events.flatMap((e) => (e.type === 'step.start' && e.group ? [e.group] : [])));
    expect([...groups]).toEqual(['conv']);
    expect(reporter.events.some((e) => e.type === 'phase' && e.name === 'verify')).toBe(true);
    // apt's own progress (its status fd) reaches the reporter as the packages go in.
    const apt = reporter.events.flatMap((e) => (e.type === 'step.progress' && e.message.startsWith('apt: ') ? [e] : []));
    expect(apt.some((e) => /^apt: (Unpacking|Installing|Configuring|Installed) /.test(e.message) && e.percent !== undefined)).toBe(true);
    expect(r.plan.changes.find((ch) => ch.address.includes('apt.package[') && ch.action === 'create')?.reason).toContain('without recommended packages');
  }, 600_000);

  it('the guest is as declared', async () => {
    const out = await guestSh(
      [
        'cat /etc/motd',
        'stat -c "%a %U %G" /etc/demo/demo.conf /etc/demo/secret.key /srv/media',
        'cat /etc/demo/demo.conf',
        'grep -E "^(MaxAuthTries|X11Forwarding)" /etc/ssh/sshd_config',
        'readlink /etc/localtime; hostname',
        'id -nG alice; id -nG svc',
        'apt-mark showhold',
        'systemctl is-active demo.service nftables.service',
        'findmnt -rn -o TARGET,FSTYPE /mnt/scratch',
        'nft list table inet lab | grep -c "tcp dport 443 accept"',
        'grep nas /etc/hosts',
        'cat /etc/apt/sources.list.d/debian-extra.sources | grep Signed-By',
        'ls /var/lib/apt/lists | grep -c backports',
        'locale -a | grep -c en_US.utf8',
      ].join('; '),
    );
    expect(out).toContain('conv: managed by lab\n');
    expect(out).toContain('640 root media\n600 root root\n2775 alice media\n');
    expect(out).toContain('name=conv\ntoken=tok-5ecret-value\nlevel=1\n');
    expect(out).toContain('MaxAuthTries 4\nX11Forwarding no\n');
    expect(out).toContain('/usr/share/zoneinfo/Europe/Paris\nconv\n');
    expect(out).toMatch(/alice media adm|alice adm media/);
    expect(out).toContain('jq\n');
    expect(out).toContain('active\nactive\n');
    expect(out).toContain('/mnt/scratch tmpfs\n');
    expect(out).toContain('10.0.10.10\tnas.home.arpa nas');
    expect(out).toContain('Signed-By: /etc/apt/keyrings/debian-extra.gpg');
    // alice logs in with her key (through the jump host) and has password-less sudo
    const alice = await SshConnection.open({ ...sim.guests[0]!.target, username: 'alice', privateKey: aliceKey.privateKey });
    connections.push(alice);
    expect((await alice.script('id -u', { sudo: true })).stdout.trim()).toBe('0');
  });

  it('a second apply is a no-op: gather, no steps, re-verify (two round trips)', async () => {
    const c = await connect();
    const r = await applyL3(undefined, intent, { host: c });
    expect(r.applied).toEqual([]);
    expect(r.roundTrips).toBe(2);
    const check = await checkL3(intent, { host: c });
    expect(check.plan.changes.filter((x) => x.action !== 'noop')).toEqual([]);
    expect(check.roundTrips).toBe(1);
  }, 120_000);

  it('drift is seen with a diff and repaired', async () => {
    await guestSh('echo "hand edit" >> /etc/motd; chmod 0600 /etc/motd');
    const c = await connect();
    const check = await checkL3(intent, { host: c });
    const motd = check.plan.changes.find((x) => x.address === 'conv/l3/file[/etc/motd]') as { action: string; unifiedDiff?: string };
    expect(motd.action).toBe('update');
    expect(motd.unifiedDiff).toContain('-hand edit');
    await applyL3(check.plan, intent, { host: c });
    expect(await guestSh('cat /etc/motd; stat -c %a /etc/motd')).toBe('conv: managed by lab\n644\n');
  }, 120_000);

  it('waits for another apply holding the guest lock, saying so as progress, then converges', async () => {
    await guestSh('echo "hand edit" >> /etc/motd; (flock /run/lock/lab-l3.lock sleep 7 </dev/null >/dev/null 2>&1 &)');
    const c = await connect();
    const reporter = createMemoryReporter();
    await applyL3(undefined, intent, { host: c, reporter });
    const waits = reporter.events.flatMap((e) => (e.type === 'step.progress' && /^waiting for another lab apply on this guest \(\d+s\)$/.test(e.message) ? [e] : []));
    expect(waits.length).toBeGreaterThanOrEqual(1);
    expect(await guestSh('cat /etc/motd')).toBe('conv: managed by lab\n');
  }, 120_000);

  it('refuses a saved plan made before the guest changed (LAB_PLAN_STALE)', async () => {
    const c = await connect();
    const { plan } = await checkL3(intent, { host: c });
    await guestSh('echo drift >> /etc/motd');
    await expect(applyL3(plan, intent, { host: c })).rejects.toMatchObject({ code: 'LAB_PLAN_STALE' });
    await applyL3(undefined, intent, { host: c });
  }, 120_000);

  it('a handler whose apply died before it runs on the next apply (pending on the guest)', async () => {
    const invocation = async () => (await guestSh('systemctl show -p InvocationID --value demo.service')).trim();
    const first = await invocation();
    intent = await intentFor('level=2\n');
    const c = await connect();
    const killer: Reporter = {
      emit: (e) => {
        if (e.type === 'step.start' && e.title.includes('handler')) c.destroy();
      },
      close: () => undefined,
    };
    const err = await applyL3(undefined, intent, { host: c, reporter: killer }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('LAB_SSH_DISCONNECTED');
    expect((await guestSh('cat /var/lib/lab/pending-handlers')).split('\n')).toContain('restart:demo.service');
    expect(await invocation()).toBe(first);
    const c2 = await connect();
    const plan = planL3(intent, (await checkL3(intent, { host: c2 })).facts);
    const pending = plan.changes.filter((x) => x.action !== 'noop');
    expect(pending.map((x) => x.address)).toContain('conv/l3/handler[restart:demo.service]');
    expect(pending.every((x) => x.kind === 'handler')).toBe(true);
    await applyL3(undefined, intent, { host: c2 });
    expect(await invocation()).not.toBe(first);
    expect(await guestSh('cat /var/lib/lab/pending-handlers')).toBe('');
  }, 300_000);

  it('an SSH connection dropped in the middle of apt converges on the next run', async () => {
    const withPkg: L3Intent = { ...intent, packages: [...intent.packages, { name: 'python3-yaml', state: 'present' }, { name: 'ncdu', state: 'present' }] };
    const c = await connect();
    const killer: Reporter = {
      emit: (e) => {
        if (e.type === 'step.progress' && e.message.startsWith('apt-get install')) setTimeout(() => c.destroy(), 300);
      },
      close: () => undefined,
    };
    const err = await applyL3(undefined, withPkg, { host: c, reporter: killer }).catch((e: unknown) => e);
    expect((err as LabError).code).toBe('LAB_SSH_DISCONNECTED');
    const c2 = await connect();
    const r = await applyL3(undefined, withPkg, { host: c2 });
    expect(r.plan.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(await guestSh('dpkg-query -W -f="\\${db:Status-Abbrev}\\n" ncdu python3-yaml')).toBe('ii \nii \n');
  }, 600_000);

  it('names the operation that does not converge (LAB_L3_NOT_IDEMPOTENT)', async () => {
    // A line whose `match` never matches the line itself appends it again on every run.
    const broken: L3Intent = { ...intent, lines: [...intent.lines, { path: '/etc/demo/notes', line: 'x=1', match: '^y=', state: 'present', create: true }] };
    const c = await connect();
    await applyL3(undefined, broken, { host: c }).then(
      () => expect.unreachable('apply should not have converged'),
      (e: LabError) => {
        expect(e.code).toBe('LAB_L3_NOT_IDEMPOTENT');
        expect(e.summary).toContain('line[/etc/demo/notes:^y=]');
      },
    );
  }, 120_000);

  it('installs Docker engine + Compose for L4 (Debian docker.io, docker-compose) and keeps its bridges forwarding', async () => {
    const withDocker: L3Intent = {
      ...intent,
      docker: { composeCommand: 'docker-compose' },
      users: intent.users.map((u) => (u.name === 'alice' ? { ...u, groups: [...u.groups, 'docker'] } : u)),
    };
    const c = await connect();
    const r = await applyL3(undefined, withDocker, { host: c });
    expect(r.applied.map((x) => x.address)).toEqual(
      expect.arrayContaining(['conv/l3/apt.package[docker.io]', 'conv/l3/apt.package[docker-compose]', 'conv/l3/firewall', 'conv/l3/user[alice]']),
    );
    const out = await guestSh('systemctl is-active docker.service; docker info --format "{{.ServerVersion}}" >/dev/null && echo engine-ok; docker-compose version --short >/dev/null && echo compose-ok; id -nG alice; nft list chain inet lab forward | grep -c docker0');
    expect(out).toMatch(/^active\nengine-ok\ncompose-ok\n.*docker.*\n2\n$/);
  }, 600_000);
});
