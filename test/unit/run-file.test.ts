import { describe, expect, it } from 'vitest';
import { endLine, handlerLine, keeperLine, neverLine, parseRunFile } from '../../src/run/run-file.js';
import { resultOf } from '../../src/run/result.js';

const keeper = { boot: '6c309c49', pid: 4242, ticks: 2075830, claimedMs: 1796284015504 };
const end = {
  code: 3,
  signal: null,
  endedMs: 1796284017512,
  durationMs: 2007,
  stopped: null,
  bytes: 10,
  errno: null,
  error: null,
} as const;
const peaks = { cpu: null, memMb: null };

describe('run file', () => {
  it('round-trips the keeper, handler and end lines', () => {
    const text = keeperLine(keeper) + handlerLine(4243, 1796284015505) + endLine(end);
    expect(text).toBe(
      'keeper 6c309c49 4242 2075830 1796284015504\nhandler 4243 1796284015505\nend 3 - 1796284017512 2007 - 10 - -\n',
    );
    expect(parseRunFile(text)).toEqual({ keeper, never: null, handler: { pid: 4243, startedMs: 1796284015505 }, end });
  });

  it('carries an error as hex, with spaces and newlines intact', () => {
    const e = { ...end, code: 127, errno: 7, error: 'Argument list too long\nsecond line', stopped: 'timeout' as const };
    expect(parseRunFile(keeperLine(keeper) + endLine(e))?.end).toEqual(e);
  });

  it('reads a line without its newline as not yet written (a keeper at work, or a torn write)', () => {
    const text = keeperLine(keeper) + handlerLine(4243, 1) + 'end 0 - 17962840';
    expect(parseRunFile(text)).toMatchObject({ handler: { pid: 4243 }, end: null });
    expect(parseRunFile('keeper 6c309c49 4242')).toBeNull();
  });

  it('reads an adopter claim as a run that never started', () => {
    expect(parseRunFile(neverLine(5, 'dispatcher x died'))).toEqual({
      keeper: null,
      never: 'dispatcher x died',
      handler: null,
      end: null,
    });
  });

  it.each([
    ['not a run file', 'hello\n'],
    ['a bad pid', 'keeper b 0 1 2\n'],
    ['a boot id with a slash', 'keeper a/b 1 1 2\n'],
    ['two end lines', keeperLine(keeper) + endLine(end) + endLine(end)],
    ['a handler after the end', keeperLine(keeper) + endLine(end) + handlerLine(1, 1)],
    ['an unknown stop', keeperLine(keeper) + 'end 0 - 1 1 bored 0 - -\n'],
    ['odd hex', keeperLine(keeper) + 'end 0 - 1 1 - 0 - xabc\n'],
    ['a missing field', keeperLine(keeper) + 'end 0 - 1 1 - 0 -\n'],
    ['a number with a sign', keeperLine(keeper) + 'end -1 - 1 1 - 0 - -\n'],
  ])('refuses %s', (_why, text) => {
    expect(parseRunFile(text)).toBeNull();
  });
});

describe('resultOf', () => {
  it('gives the keeper times and exit status', () => {
    const rf = parseRunFile(keeperLine(keeper) + handlerLine(4243, 1000) + endLine({ ...end, endedMs: 3000, durationMs: 2000 }))!;
    expect(resultOf(rf, null, peaks)).toMatchObject({
      exitCode: 3,
      startedAtMs: 1000,
      endedAtMs: 3000,
      durationMs: 2000,
      lost: null,
    });
  });

  it('names the stop the dispatcher asked for, and a timeout as such', () => {
    const stopped = (s: 'timeout' | 'request') =>
      parseRunFile(keeperLine(keeper) + endLine({ ...end, code: null, signal: 15, stopped: s }))!;
    expect(resultOf(stopped('request'), 'cancel', peaks)).toMatchObject({
      stopped: 'cancel',
      signal: 'SIGTERM',
      timedOut: false,
    });
    expect(resultOf(stopped('request'), null, peaks)).toMatchObject({ stopped: 'shutdown' });
    expect(resultOf(stopped('timeout'), 'cancel', peaks)).toMatchObject({ stopped: 'timeout', timedOut: true });
  });

  it('is lost when the keeper left no end, or never started the handler', () => {
    const started = parseRunFile(keeperLine(keeper) + handlerLine(999_999_999, 1000))!;
    expect(resultOf(started, null, peaks, 4000)).toMatchObject({ lost: expect.stringMatching(/keeper died/), durationMs: 3000 });
    expect(resultOf('missing', null, peaks).lost).toMatch(/before it started/);
  });
});
