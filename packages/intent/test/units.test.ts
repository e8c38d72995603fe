import { describe, expect, it } from 'vitest';
import { formatDuration, formatSize, parseDuration, parseSize } from '../src/index.js';
import { checkSize } from '../src/units.js';

const GiB = 2 ** 30;

describe('parseSize', () => {
  it.each([
    ['8GiB', 8 * GiB],
    ['32G', 32 * GiB],
    ['32g', 32 * GiB],
    ['8Gi', 8 * GiB],
    ['512M', 512 * 2 ** 20],
    ['512MiB', 512 * 2 ** 20],
    ['2T', 2 * 2 ** 40],
    ['1.5G', 1.5 * GiB],
    ['64K', 65_536],
    ['100B', 100],
    ['1024', 1024],
    [' 4 GiB ', 4 * GiB],
    [4096, 4096],
    [0, 0],
  ] as const)('%s → %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each(['lots', '', '8 gigs', '-1G', 'G8', '1.5', '8GB', '512MB'])('rejects %j', (input) => {
    expect(() => parseSize(input)).toThrow(`expected a size like "8GiB", got ${JSON.stringify(input)}`);
  });

  it('explains why decimal units are refused', () => {
    expect(checkSize('8GB')).toEqual({
      summary: 'expected a size like "8GiB", got "8GB"',
      hint: '"GB" is ambiguous (decimal or binary?); write 8G or 8GiB, which Proxmox reads as binary',
    });
  });

  it('rejects fractional and unsafe byte counts', () => {
    expect(() => parseSize(1.5)).toThrow('expected a size');
    expect(() => parseSize('99999999P')).toThrow('expected a size');
  });
});

describe('formatSize', () => {
  it.each([
    [0, '0B'],
    [1023, '1023B'],
    [8 * GiB, '8GiB'],
    [1.5 * GiB, '1.5GiB'],
    [2 * 2 ** 40, '2TiB'],
    [1100 * 2 ** 20, '1.07GiB'],
  ])('%d → %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  it('round-trips what it formats exactly', () => {
    for (const bytes of [512 * 2 ** 20, 8 * GiB, 3 * 2 ** 40, 1.5 * GiB]) expect(parseSize(formatSize(bytes))).toBe(bytes);
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['5m', 300],
    ['2h', 7200],
    ['7d', 604_800],
    ['2w', 1_209_600],
    ['1h30m', 5400],
    ['45', 45],
    [600, 600],
  ] as const)('%s → %d s', (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it.each(['soon', '5 minutes', '1.5h', '-5m', 'm5', ''])('rejects %j', (input) => {
    expect(() => parseDuration(input)).toThrow(`expected a duration like "5m", got ${JSON.stringify(input)}`);
  });

  it('formats seconds back', () => {
    expect(formatDuration(5400)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(694_861)).toBe('1w1d1h1m1s');
    expect(parseDuration(formatDuration(694_861))).toBe(694_861);
  });
});
