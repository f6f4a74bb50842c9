import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { MAX_DURATION_MS, formatDuration, parseDuration, pinnedClock, systemClock } from '../../src/time.js';

describe('parseDuration', () => {
  it('reads units, fractions, spaces and bare numbers as seconds', () => {
    expect(parseDuration('30 seconds')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration(' 2 Days ')).toBe(172_800_000);
    expect(parseDuration('1w')).toBe(604_800_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration(2.5)).toBe(2500);
    expect(parseDuration('3650 days')).toBe(MAX_DURATION_MS);
  });

  it('refuses zero, unknown units, words and more than ten years, naming what was wrong', () => {
    for (const bad of ['0s', '0.0001ms', '5 fortnights', 'soon', '', '-5m', '1e3s', '3651 days', 0, -1, Infinity]) {
      expect(() => parseDuration(bad, 'grace'), String(bad)).toThrow(InputError);
    }
    expect(() => parseDuration('5 parsecs', 'timeout')).toThrow(
      "invalid timeout '5 parsecs': expected e.g. '30s', '5 minutes', '1h', '2 days'",
    );
    expect(() => parseDuration('0m', 'grace')).toThrow("invalid grace '0m': must be greater than zero");
    expect(() => parseDuration('4000d')).toThrow("invalid duration '4000d': at most 3650 days");
  });
});

describe('pinnedClock', () => {
  it('is the system clock unless pinned, and advances from a pinned start', () => {
    expect(pinnedClock(undefined)).toBe(systemClock);
    expect(pinnedClock('')).toBe(systemClock);
    const now = pinnedClock('2030-01-01T00:00:00Z')();
    expect(now - Date.parse('2030-01-01T00:00:00Z')).toBeGreaterThanOrEqual(0);
    expect(now - Date.parse('2030-01-01T00:00:00Z')).toBeLessThan(5000);
  });

  it('refuses a pin that is not a timestamp', () => {
    expect(() => pinnedClock('tomorrow')).toThrow(/CONDUCTOR_NOW/);
  });
});

describe('formatDuration', () => {
  it('rounds before it splits, so a second short of a minute never reads 60s', () => {
    expect(formatDuration(2_699_950)).toBe('45m');
    expect(formatDuration(59_999)).toBe('1m');
    expect(formatDuration(1_800_000)).toBe('30m');
    expect(formatDuration(2_699_000)).toBe('44m59s');
    expect(formatDuration(7_199_999)).toBe('2h');
    expect(formatDuration(7_500_000)).toBe('2h5m');
    expect(formatDuration(999.7)).toBe('1.00s');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(12_500)).toBe('12.5s');
  });
});
