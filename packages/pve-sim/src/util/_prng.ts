import { randomBytes } from 'node:crypto';

/**
 * Source of randomness for everything the simulator invents (MACs, UUIDs, token secrets, pids).
 * With a seed the sequence is reproducible, so a test can assert a generated MAC verbatim.
 */
export interface Random {
  /** `n` random bytes. */
  bytes(n: number): Buffer;
  /** Integer in [0, max). */
  int(max: number): number;
}

/** xoshiro128** seeded through a string hash: small, fast, good enough for test data. */
function seeded(seed: string): Random {
  let h = 1779033703 ^ seed.length;
  for (let i = 0; i < seed.length; i++) {
    h = Math.imul(h ^ seed.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  const next32 = (): number => {
    h = Math.imul(h ^ (h >>> 16), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    return (h ^= h >>> 16) >>> 0;
  };
  let a = next32();
  let b = next32();
  let c = next32();
  let d = next32();
  const step = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  return {
    bytes(n) {
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i += 4) {
        const v = step();
        for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
      }
      return out;
    },
    int(max) {
      return step() % max;
    },
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const systemRandom: Random = {
  bytes: (n) => randomBytes(n),
  int: (max) => randomBytes(4).readUInt32LE(0) % max,
};

export function createRandom(seed?: string | number): Random {
  return seed === undefined ? systemRandom : seeded(String(seed));
}

/** Lower-case RFC 4122 v4 UUID (the form PVE uses for token secrets and smbios uuids). */
export function randomUuid(rng: Random): string {
  const b = rng.bytes(16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Locally administered unicast MAC with PVE's default `BC:24:11` prefix, upper-case. */
export function randomMac(rng: Random, prefix = 'BC:24:11'): string {
  const b = rng.bytes(6);
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02;
  const all = [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(':');
  return prefix.toUpperCase() + all.slice(prefix.length);
}
