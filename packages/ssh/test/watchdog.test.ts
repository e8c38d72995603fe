import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lastLinesOf, startWatchdog, type WatchVerdict } from '../src/_watchdog.js';

describe('silence watchdog (fake timers)', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('lets a command that keeps printing outlive the silence limit many times over', () => {
    const verdicts: WatchVerdict[] = [];
    const w = startWatchdog({ silenceMs: 1_000 }, (v) => verdicts.push(v));
    for (let i = 0; i < 600; i++) {
      vi.advanceTimersByTime(900);
      w.saw(`Progress: [ ${i}%]\n`);
    }
    expect(verdicts).toEqual([]);
    w.stop();
  });

  it('stops a command silent for the limit, with how long and the last lines seen', () => {
    const verdicts: WatchVerdict[] = [];
    const w = startWatchdog({ silenceMs: 1_000 }, (v) => verdicts.push(v));
    w.saw('Unpacking docker.io (20.10.24)...\nSetting up docker.io (20.10.24) ...\n');
    vi.advanceTimersByTime(999);
    expect(verdicts).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(verdicts).toEqual([{ kind: 'silent', silentMs: 1_000, lastLines: ['Unpacking docker.io (20.10.24)...', 'Setting up docker.io (20.10.24) ...'] }]);
    vi.advanceTimersByTime(10_000);
    expect(verdicts).toHaveLength(1);
  });

  it('keeps an overall bound for output that never ends', () => {
    const verdicts: WatchVerdict[] = [];
    startWatchdog({ silenceMs: 1_000, overallMs: 5_000 }, (v) => verdicts.push(v)).saw('y\n');
    const w2 = startWatchdog({ silenceMs: 1_000, overallMs: 5_000 }, (v) => verdicts.push(v));
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(500);
      w2.saw('y\n');
    }
    expect(verdicts.map((v) => v.kind)).toEqual(['silent', 'overall']);
    expect(verdicts[1]).toMatchObject({ kind: 'overall', elapsedMs: 5_000, lastLines: ['y', 'y', 'y'] });
  });

  it('a stopped watch never fires', () => {
    const onLimit = vi.fn();
    startWatchdog({ silenceMs: 100 }, onLimit).stop();
    vi.advanceTimersByTime(1_000);
    expect(onLimit).not.toHaveBeenCalled();
  });
});

describe('lastLinesOf', () => {
  it('keeps the last state of a line rewritten with \\r and drops blank lines', () => {
    expect(lastLinesOf('a\n\nGet:1 10%\rGet:1 50%\rGet:1 100%\n\n')).toEqual(['a', 'Get:1 100%']);
    expect(lastLinesOf('one\r\ntwo\r\n')).toEqual(['one', 'two']);
    expect(lastLinesOf('1\n2\n3\n4\n5\n')).toEqual(['3', '4', '5']);
  });
});
