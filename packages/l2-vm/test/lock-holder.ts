// A lab process that takes a persona lock and then sits on it, for the kill -9 test
// (lock.test.ts). Run with tsx: node --conditions @lab/source --import tsx lock-holder.ts <json>
import { Secret } from '@lab/core';
import { createPveClient } from '@lab/pve';
import { acquireLock } from '../src/index.js';

const o = JSON.parse(process.argv[2]!) as { url: string; fingerprint: string; tokenId: string; secret: string; persona: string };
const client = createPveClient({ url: o.url, fingerprint: o.fingerprint, auth: { kind: 'token', tokenId: o.tokenId, secret: new Secret(o.secret) } });
const lock = await acquireLock(client, o.persona, { ttlMs: 60 * 60_000 });
process.stdout.write(`${JSON.stringify({ held: lock.poolid, pid: process.pid })}\n`);
setInterval(() => undefined, 60_000);
