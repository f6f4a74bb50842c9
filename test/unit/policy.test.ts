import { describe, expect, it } from 'vitest';
import { breakerAfter, breakerAllows, breakerStateAt, type BreakerView } from '../../src/policy/breaker.js';
import { BACKOFF_CAP_MS, backoffMs, maxAttempts } from '../../src/policy/retry.js';

const closed: BreakerView = { state: 'closed', consecutive_failures: 0, opened_at: null, trial_entry: null };
const T0 = '2026-01-01T00:00:00.000Z';
const ms0 = Date.parse(T0);

describe('breakerAfter', () => {
  it('counts failures and opens at the threshold', () => {
    const one = breakerAfter(closed, false, 3, T0);
    expect(one).toEqual({ ...closed, consecutive_failures: 1 });
    const two = breakerAfter(one, false, 3, T0);
    expect(two.state).toBe('closed');
    expect(breakerAfter(two, false, 3, T0)).toEqual({ state: 'open', consecutive_failures: 3, opened_at: T0, trial_entry: null });
  });

  it('closes and forgets on a success', () => {
    const open = { state: 'open' as const, consecutive_failures: 5, opened_at: T0, trial_entry: 'e1' };
    expect(breakerAfter(open, true, 3, T0)).toEqual(closed);
  });

  it('opens again at once when a half-open trial fails, and keeps other fields', () => {
    const trial = { state: 'half-open' as const, consecutive_failures: 3, opened_at: T0, trial_entry: 'e1', task_id: 'x' };
    const later = '2026-01-01T01:00:00.000Z';
    expect(breakerAfter(trial, false, 10, later)).toEqual({
      state: 'open',
      consecutive_failures: 4,
      opened_at: later,
      trial_entry: null,
      task_id: 'x',
    });
  });
});

describe('breakerAllows', () => {
  const open: BreakerView = { state: 'open', consecutive_failures: 3, opened_at: T0, trial_entry: null };

  it('lets everything through a closed or missing breaker', () => {
    expect(breakerAllows(null, 'e1', ms0, 1000)).toBe(true);
    expect(breakerAllows(closed, 'e1', ms0, 1000)).toBe(true);
  });

  it('holds an open breaker until its cool-down has passed, then lets one trial through', () => {
    expect(breakerStateAt(open, ms0 + 999, 1000)).toBe('open');
    expect(breakerAllows(open, 'e1', ms0 + 999, 1000)).toBe(false);
    expect(breakerStateAt(open, ms0 + 1000, 1000)).toBe('half-open');
    expect(breakerAllows(open, 'e1', ms0 + 1000, 1000)).toBe(true);
    const trying = { ...open, trial_entry: 'e1' };
    expect(breakerAllows(trying, 'e1', ms0 + 1000, 1000)).toBe(true);
    expect(breakerAllows(trying, 'e2', ms0 + 1000, 1000)).toBe(false);
  });
});

describe('backoffMs', () => {
  const def = (backoff: string | null, retry_policy: 'none' | 'standard' | 'aggressive' = 'standard') => ({
    backoff,
    retry_policy,
  });

  it('doubles the base per attempt, half of it fixed and half jitter', () => {
    expect(backoffMs(def(null), 1, () => 0)).toBe(1000);
    expect(backoffMs(def(null), 1, () => 1)).toBe(2000);
    expect(backoffMs(def(null), 3, () => 0)).toBe(4000);
    expect(backoffMs(def('10s'), 2, () => 0.5)).toBe(15_000);
    expect(backoffMs(def(null, 'aggressive'), 0, () => 1)).toBe(500);
  });

  it('is capped at an hour', () => {
    expect(backoffMs(def('1h'), 30, () => 1)).toBe(BACKOFF_CAP_MS);
    expect(backoffMs(def('1h'), 30, () => 0)).toBe(BACKOFF_CAP_MS / 2);
  });

  it('counts attempts from the policy unless retries are given', () => {
    expect(maxAttempts({ retries: null, retry_policy: 'none' })).toBe(1);
    expect(maxAttempts({ retries: null, retry_policy: 'aggressive' })).toBe(5);
    expect(maxAttempts({ retries: 0, retry_policy: 'aggressive' })).toBe(1);
    expect(maxAttempts({ retries: 4, retry_policy: 'none' })).toBe(5);
  });
});
