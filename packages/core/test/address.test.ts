import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { address, isAddress, parseAddress } from '../src/index.js';

describe('Address', () => {
  it('formats persona, layer, kind and key', () => {
    expect(address('media', 'l3', 'apt.package', 'htop')).toBe('media/l3/apt.package[htop]');
    expect(address('media', 'l2', 'vm')).toBe('media/l2/vm');
    expect(address('_site', 'l0', 'storage', 'local-lvm')).toBe('_site/l0/storage[local-lvm]');
  });

  it('escapes brackets and backslashes in keys and parses them back', () => {
    const a = address('edge', 'l3', 'file', 'C:\\x]y[z');
    expect(a).toBe('edge/l3/file[C:\\\\x\\]y[z]');
    expect(parseAddress(a)).toEqual({ scope: 'edge', layer: 'l3', kind: 'file', key: 'C:\\x]y[z' });
  });

  it('round-trips any key', () => {
    fc.assert(
      fc.property(fc.string(), (key) => {
        const parsed = parseAddress(address('media', 'l4', 'compose.stack', key));
        expect(parsed.key).toBe(key);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects malformed parts with a message naming the format', () => {
    expect(() => address('Media', 'l3', 'file')).toThrow(/scope/);
    expect(() => address('media', 'l9' as never, 'file')).toThrow(/layer/);
    expect(() => parseAddress('media-l3-file')).toThrow(/<persona>\/<layer>\/<kind>/);
    expect(isAddress('media/l3/file[/etc/hosts]')).toBe(true);
    expect(isAddress('media/l3/file[/etc/hosts')).toBe(false);
  });
});
