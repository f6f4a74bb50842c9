// The dispatcher's decisions as pure functions: no CLI, no store, no file system, no clock.
import { describe, expect, it } from 'vitest';
import {
  admissionGate,
  breakerGate,
  concurrencyGate,
  dependencyGate,
  estimateOf,
  overlapGate,
  reservationGate,
  starving,
} from '../../src/dispatch/gates.js';
import { idleOutcome, napMs } from '../../src/dispatch/idle.js';
import { addStart, createLoadWindow, pendingLoad, PENDING_LOAD_MS } from '../../src/dispatch/load-window.js';
import type { Schedule } from '../../src/model.js';
import type { BreakerRecord } from '../../src/store/store.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const limits = { maxConcurrent: 4, maxCpu: 80, maxMem: 85 };

function schedule(over: Partial<Schedule> = {}): Schedule {
  return {
    format: 1,
    task_id: 'a',
    task_name: 'A',
    handler: 'true',
    schedule_type: 'cron',
    schedule_expr: '* * * * *',
    priority: 5,
    enabled: true,
    circuit_breaker: 'a',
    retry_policy: 'none',
    retries: null,
    backoff: null,
    timeout: null,
    cpu: 10,
    mem: 5,
    tz: 'UTC',
    overlap: 'allow',
    catch_up: 'once',
    depends_on: [],
    cwd: null,
    env: {},
    breaker_threshold: 3,
    breaker_cooldown: '5m',
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    last_executed: null,
    next_execution: null,
    execution_count: 0,
    failure_count: 0,
    average_duration_ms: 0,
    measured_cpu_percent: null,
    measured_memory_mb: null,
    ...over,
  };
}

function breaker(over: Partial<BreakerRecord>): BreakerRecord {
  return { format: 1, name: 'a', state: 'closed', consecutive_failures: 0, opened_at: null, trial_entry: null, ...over };
}

describe('reservation and concurrency', () => {
  it('lets everything through until an entry reserves the machine', () => {
    expect(reservationGate(null)).toEqual({ kind: 'start' });
    expect(reservationGate('e1')).toEqual({
      kind: 'block',
      reason: 'blocked: waiting behind e1, which has waited past the starvation threshold',
    });
  });
  it('stops the round when the slots are full, counting other dispatchers', () => {
    expect(concurrencyGate(3, limits)).toEqual({ kind: 'start' });
    expect(concurrencyGate(4, limits)).toEqual({ kind: 'stop-round', reason: 'blocked: 4 running = max-concurrent 4' });
  });
  it('reserves only once the threshold has passed', () => {
    expect(starving(T0, T0 + 999, 1000)).toBe(false);
    expect(starving(T0, T0 + 1000, 1000)).toBe(true);
  });
});

describe('run group dependencies', () => {
  it('waits for upstream without an outcome, in order', () => {
    expect(
      dependencyGate(
        [
          { id: 'u1', result: null },
          { id: 'u2', result: 'success' },
          { id: 'u3', result: null },
        ],
        null,
      ),
    ).toEqual({ kind: 'block', reason: 'waiting for u1, u3' });
  });
  it('starts once every upstream succeeded', () => {
    expect(dependencyGate([{ id: 'u1', result: 'success' }], null)).toEqual({ kind: 'start' });
  });
  it('skips when an upstream ended otherwise, before asking about lost ones', () => {
    expect(
      dependencyGate(
        [
          { id: 'u1', result: null },
          { id: 'u2', result: 'timeout' },
        ],
        'u1',
      ),
    ).toEqual({ kind: 'skip', reason: 'upstream u2 ended timeout' });
  });
  it('skips when an upstream is gone', () => {
    expect(dependencyGate([{ id: 'u1', result: null }], 'u1')).toEqual({ kind: 'skip', reason: 'upstream u1 is gone' });
  });
});

describe('overlap', () => {
  const running = new Set(['a']);
  it('holds a timed run of a queue-overlap schedule while another runs', () => {
    expect(overlapGate(schedule({ overlap: 'queue' }), { task_id: 'a', from_schedule: true }, running)).toEqual({
      kind: 'block',
      reason: 'waiting: a run of a is still running (overlap: queue)',
    });
  });
  it('lets manual runs, other policies and idle tasks through', () => {
    expect(overlapGate(schedule({ overlap: 'queue' }), { task_id: 'a', from_schedule: false }, running).kind).toBe('start');
    expect(overlapGate(schedule({ overlap: 'allow' }), { task_id: 'a', from_schedule: true }, running).kind).toBe('start');
    expect(overlapGate(schedule({ overlap: 'queue' }), { task_id: 'a', from_schedule: true }, new Set()).kind).toBe('start');
    expect(overlapGate(null, { task_id: 'a', from_schedule: true }, running).kind).toBe('start');
  });
});

describe('circuit breaker', () => {
  const s = schedule({ breaker_cooldown: '1m' });
  const openedAt = new Date(T0).toISOString();
  it('lets entries through a closed breaker or none', () => {
    expect(breakerGate(s, false, null, 'e1', T0).kind).toBe('start');
    expect(breakerGate(s, false, breaker({ consecutive_failures: 2 }), 'e1', T0).kind).toBe('start');
  });
  it('skips and parks while open', () => {
    expect(breakerGate(s, false, breaker({ state: 'open', opened_at: openedAt }), 'e1', T0 + 59_999)).toEqual({
      kind: 'skip',
      reason: "circuit breaker 'a' is open",
      park: true,
    });
  });
  it('lets one trial through after the cool-down and holds the others', () => {
    const b = breaker({ state: 'open', opened_at: openedAt });
    expect(breakerGate(s, false, b, 'e1', T0 + 60_000).kind).toBe('start');
    const half = breaker({ state: 'half-open', opened_at: openedAt, trial_entry: 'e1' });
    expect(breakerGate(s, false, half, 'e1', T0 + 60_000).kind).toBe('start');
    expect(breakerGate(s, false, half, 'e2', T0 + 60_000)).toEqual({
      kind: 'block',
      reason: "waiting: circuit breaker 'a' is half-open, a trial run is in progress",
    });
  });
  it('holds silently while a failure that may open it is recorded', () => {
    expect(breakerGate(s, true, null, 'e1', T0)).toEqual({ kind: 'hold' });
  });
  it('has nothing to say about an entry whose schedule is gone', () => {
    expect(breakerGate(null, true, null, 'e1', T0).kind).toBe('start');
  });
});

describe('admission', () => {
  const idle = { cpu: 0, mem: 0 };
  it('starts within the limits', () => {
    expect(admissionGate({ cpu: 10, mem: 5 }, { cpu: 50, mem: 50 }, idle, 0, limits)).toEqual({ kind: 'start' });
  });
  it('blocks an entry whose estimate does not fit, but lets smaller ones try', () => {
    expect(admissionGate({ cpu: 40, mem: 0 }, { cpu: 50, mem: 0 }, idle, 0, limits)).toEqual({
      kind: 'block',
      reason: 'blocked: cpu 50% + 40% > 80%',
      byLoad: true,
      blocksRest: false,
    });
  });
  it('counts what was just started and stops the round when the load alone is over', () => {
    expect(admissionGate({ cpu: 0, mem: 0 }, { cpu: 50, mem: 0 }, { cpu: 31, mem: 0 }, 0, limits)).toEqual({
      kind: 'block',
      reason: 'blocked: cpu 81% + 0% > 80%',
      byLoad: true,
      blocksRest: true,
    });
    expect(admissionGate({ cpu: 0, mem: 1 }, { cpu: 0, mem: 85 }, idle, 0, limits)).toEqual({
      kind: 'block',
      reason: 'blocked: memory 85% + 1% > 85%',
      byLoad: true,
      blocksRest: false,
    });
    expect(admissionGate({ cpu: 0, mem: 1 }, { cpu: 0, mem: 85.5 }, idle, 0, limits)).toEqual({
      kind: 'block',
      reason: 'blocked: memory 85.5% + 1% > 85%',
      byLoad: true,
      blocksRest: true,
    });
  });
  it('takes estimates from the schedule, none when it is gone', () => {
    expect(estimateOf(schedule({ cpu: 12, mem: 3 }))).toEqual({ cpu: 12, mem: 3 });
    expect(estimateOf(null)).toEqual({ cpu: 0, mem: 0 });
  });
});

describe('load window', () => {
  it('counts starts as pending for PENDING_LOAD_MS, then drops them', () => {
    const w = createLoadWindow();
    addStart(w, T0, { cpu: 10, mem: 2 });
    addStart(w, T0 + 1000, { cpu: 5, mem: 1 });
    expect(pendingLoad(w, T0 + PENDING_LOAD_MS)).toEqual({ cpu: 15, mem: 3 });
    expect(pendingLoad(w, T0 + PENDING_LOAD_MS + 1)).toEqual({ cpu: 5, mem: 1 });
    expect(pendingLoad(w, T0 + 1000 + PENDING_LOAD_MS + 1)).toEqual({ cpu: 0, mem: 0 });
  });
  it('stays small through a burst', () => {
    const w = createLoadWindow();
    for (let i = 0; i < 5000; i++) addStart(w, T0 + i, { cpu: 0.1, mem: 0 });
    pendingLoad(w, T0 + 10_000);
    expect(w.starts.length).toBeLessThan(5000);
    // The running sum drifts by float rounding; what matters is that it is back near zero.
    expect(pendingLoad(w, T0 + 10_000).cpu).toBeCloseTo(0, 9);
  });
});

describe('end of a round', () => {
  const base = {
    stopping: false,
    daemon: false,
    startedNow: 0,
    settled: true,
    blockedByLoad: false,
    loadWaitStart: null,
    now: T0,
    patienceMs: 3000,
  };
  it('ends a settled one-shot pass, and any pass told to stop', () => {
    expect(idleOutcome(base).over).toBe(true);
    expect(idleOutcome({ ...base, daemon: true, stopping: true }).over).toBe(true);
  });
  it('goes on while starting, unsettled, or as a daemon', () => {
    expect(idleOutcome({ ...base, startedNow: 1 }).over).toBe(false);
    expect(idleOutcome({ ...base, settled: false }).over).toBe(false);
    expect(idleOutcome({ ...base, daemon: true }).over).toBe(false);
  });
  it('waits patienceMs for load to fall, counting from the first such round', () => {
    expect(idleOutcome({ ...base, blockedByLoad: true })).toEqual({ over: false, loadWaitStart: T0 });
    expect(idleOutcome({ ...base, blockedByLoad: true, loadWaitStart: T0, now: T0 + 2999 }).over).toBe(false);
    expect(idleOutcome({ ...base, blockedByLoad: true, loadWaitStart: T0, now: T0 + 3000 }).over).toBe(true);
  });
  it('naps to the tick or the next due time as a daemon, shorter under load as a pass', () => {
    expect(napMs(false, 1000, false, null, T0)).toBe(1000);
    expect(napMs(false, 1000, true, T0 + 10, T0)).toBe(250);
    expect(napMs(true, 1000, false, null, T0)).toBe(1000);
    expect(napMs(true, 1000, false, T0 + 300, T0)).toBe(300);
    expect(napMs(true, 1000, false, T0 - 5, T0)).toBe(0);
  });
});
