import { describe, expect, it } from 'vitest';
import type { Definition, Schedule } from '../../src/model.js';
import { CATCH_UP_CAP, ON_TIME_GRACE_MS, dueRuns, firstRun } from '../../src/schedule/next.js';

const at = (iso: string) => Date.parse(iso);
const def = (over: Partial<Definition>): Definition => ({ enabled: true, tz: 'UTC', catch_up: 'once', ...over }) as Definition;
const sched = (over: Partial<Schedule>): Schedule => ({ enabled: true, tz: 'UTC', catch_up: 'once', ...over }) as Schedule;

describe('firstRun', () => {
  const now = at('2026-03-10T10:02:30Z');

  it("is the next cron time in the schedule's zone", () => {
    expect(firstRun(def({ schedule_type: 'cron', schedule_expr: '*/5 * * * *' }), now)).toBe(at('2026-03-10T10:05:00Z'));
    expect(firstRun(def({ schedule_type: 'cron', schedule_expr: '0 9 * * *', tz: 'Europe/Berlin' }), now)).toBe(
      at('2026-03-11T08:00:00Z'),
    );
  });

  it('is one interval from now, the once time until it fired, never for events or disabled schedules', () => {
    expect(firstRun(def({ schedule_type: 'interval', schedule_expr: '15 minutes' }), now)).toBe(now + 15 * 60_000);
    const once = def({ schedule_type: 'once', schedule_expr: '2026-12-24T18:00:00+01:00' });
    expect(firstRun(once, now)).toBe(at('2026-12-24T17:00:00Z'));
    expect(firstRun(once, now, true)).toBeNull();
    expect(firstRun(def({ schedule_type: 'event', schedule_expr: 'x.y' }), now)).toBeNull();
    expect(firstRun(def({ schedule_type: 'interval', schedule_expr: '1m', enabled: false }), now)).toBeNull();
  });
});

describe('dueRuns', () => {
  const cron = sched({ schedule_type: 'cron', schedule_expr: '0 * * * *', next_execution: '2026-03-10T08:00:00Z' });
  const now = at('2026-03-10T10:30:00Z');

  it('is nothing before the next run, for events, or when disabled', () => {
    expect(dueRuns(cron, at('2026-03-10T07:59:59Z'))).toBeNull();
    expect(dueRuns({ ...cron, enabled: false }, now)).toBeNull();
    expect(dueRuns(sched({ schedule_type: 'event', schedule_expr: 'a', next_execution: null }), now)).toBeNull();
  });

  it('fires a schedule missed several times once, at its latest time, by default', () => {
    expect(dueRuns(cron, now)).toEqual({ runs: [at('2026-03-10T10:00:00Z')], missed: 2, next: at('2026-03-10T11:00:00Z') });
  });

  it('fires every missed time with catch_up all, and none that is late with catch_up none', () => {
    expect(dueRuns({ ...cron, catch_up: 'all' }, now)!.runs).toEqual(['08', '09', '10'].map((h) => at(`2026-03-10T${h}:00:00Z`)));
    expect(dueRuns({ ...cron, catch_up: 'none' }, now)).toEqual({ runs: [], missed: 3, next: at('2026-03-10T11:00:00Z') });
    const onTime = at('2026-03-10T10:00:00Z') + ON_TIME_GRACE_MS;
    expect(dueRuns({ ...cron, catch_up: 'none' }, onTime)!.runs).toEqual([at('2026-03-10T10:00:00Z')]);
  });

  it('keeps an interval on its own grid and caps what a long outage queues', () => {
    const every = sched({
      schedule_type: 'interval',
      schedule_expr: '10m',
      next_execution: '2026-03-10T10:00:00Z',
      catch_up: 'all',
    });
    expect(dueRuns(every, at('2026-03-10T10:25:00Z'))).toEqual({
      runs: [0, 10, 20].map((m) => at('2026-03-10T10:00:00Z') + m * 60_000),
      missed: 0,
      next: at('2026-03-10T10:30:00Z'),
    });
    const long = dueRuns(every, at('2026-03-20T10:00:00Z'))!;
    expect(long.runs).toHaveLength(CATCH_UP_CAP);
    expect(long.runs[CATCH_UP_CAP - 1]).toBe(at('2026-03-20T10:00:00Z'));
  });

  it('fires a once schedule at its time, with no next run', () => {
    const once = sched({ schedule_type: 'once', schedule_expr: '2026-03-10T09:00:00Z', next_execution: '2026-03-10T09:00:00Z' });
    expect(dueRuns(once, now)).toEqual({ runs: [at('2026-03-10T09:00:00Z')], missed: 0, next: null });
  });
});
