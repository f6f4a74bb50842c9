import { describe, expect, it } from 'vitest';
import { nextCronRun, parseCron } from '../../src/schedule/cron.js';
import { rewoundNext } from '../../src/schedule/next.js';
import { isoInZone } from '../../src/time.js';

/** The next `n` runs after `from`, as ISO strings in the zone. */
function runs(expr: string, tz: string, from: string, n: number): string[] {
  const spec = parseCron(expr);
  const out: string[] = [];
  let t = Date.parse(from);
  for (let i = 0; i < n; i++) {
    const next = nextCronRun(spec, t, tz)!;
    out.push(isoInZone(next, tz));
    t = next;
  }
  return out;
}

describe('cron next run', () => {
  it('plain expressions and nicknames', () => {
    expect(runs('*/15 * * * *', 'UTC', '2026-01-01T00:07:00Z', 3)).toEqual([
      '2026-01-01T00:15:00+00:00',
      '2026-01-01T00:30:00+00:00',
      '2026-01-01T00:45:00+00:00',
    ]);
    expect(runs('@daily', 'UTC', '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-02T00:00:00+00:00', '2026-01-03T00:00:00+00:00']);
    expect(runs('@weekly', 'UTC', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-04T00:00:00+00:00']);
    expect(runs('@monthly', 'UTC', '2026-01-15T00:00:00Z', 1)).toEqual(['2026-02-01T00:00:00+00:00']);
    expect(runs('@yearly', 'UTC', '2026-01-15T00:00:00Z', 1)).toEqual(['2027-01-01T00:00:00+00:00']);
    expect(runs('@hourly', 'UTC', '2026-01-15T10:00:00Z', 1)).toEqual(['2026-01-15T11:00:00+00:00']);
  });

  it('day-of-month and day-of-week both restricted: either matches (Vixie)', () => {
    // 2026-11-30 is a Monday; Dec 1 and 15 are the days of month.
    expect(runs('0 0 1,15 * 1', 'UTC', '2026-11-25T00:00:00Z', 4)).toEqual([
      '2026-11-30T00:00:00+00:00',
      '2026-12-01T00:00:00+00:00',
      '2026-12-07T00:00:00+00:00',
      '2026-12-14T00:00:00+00:00',
    ]);
    // One of them a wildcard: both must match (only Mondays).
    expect(runs('0 0 * * 1', 'UTC', '2026-11-25T00:00:00Z', 1)).toEqual(['2026-11-30T00:00:00+00:00']);
    expect(runs('0 0 * * 7', 'UTC', '2026-11-25T00:00:00Z', 1)).toEqual(['2026-11-29T00:00:00+00:00']);
  });

  it('rare dates: Feb 29', () => {
    expect(runs('0 12 29 2 *', 'UTC', '2026-03-01T00:00:00Z', 1)).toEqual(['2028-02-29T12:00:00+00:00']);
  });

  describe('America/New_York', () => {
    const tz = 'America/New_York';
    it('spring forward: a fixed time in the gap runs once at the end of the gap', () => {
      expect(runs('30 2 * * *', tz, '2026-03-07T12:00:00Z', 3)).toEqual([
        '2026-03-08T03:00:00-04:00',
        '2026-03-09T02:30:00-04:00',
        '2026-03-10T02:30:00-04:00',
      ]);
    });
    it('spring forward: two fixed times in the gap still run once', () => {
      expect(runs('15,45 2 * * *', tz, '2026-03-08T05:00:00Z', 2)).toEqual([
        '2026-03-08T03:00:00-04:00',
        '2026-03-09T02:15:00-04:00',
      ]);
    });
    it('spring forward: step jobs follow real time (no runs in the gap)', () => {
      expect(runs('*/30 * * * *', tz, '2026-03-08T06:10:00Z', 3)).toEqual([
        '2026-03-08T01:30:00-05:00',
        '2026-03-08T03:00:00-04:00',
        '2026-03-08T03:30:00-04:00',
      ]);
    });
    it('fall back: a fixed time in the repeated hour runs once', () => {
      expect(runs('30 1 * * *', tz, '2026-10-31T12:00:00Z', 2)).toEqual([
        '2026-11-01T01:30:00-04:00',
        '2026-11-02T01:30:00-05:00',
      ]);
    });
    it('fall back: wildcard jobs run in both passes of the repeated hour', () => {
      expect(runs('*/30 1 * * *', tz, '2026-11-01T04:00:00Z', 5)).toEqual([
        '2026-11-01T01:00:00-04:00',
        '2026-11-01T01:30:00-04:00',
        '2026-11-01T01:00:00-05:00',
        '2026-11-01T01:30:00-05:00',
        '2026-11-02T01:00:00-05:00',
      ]);
    });
  });

  describe('Europe/Berlin', () => {
    const tz = 'Europe/Berlin';
    it('spring forward: 02:30 runs at 03:00 on the day of the change', () => {
      expect(runs('30 2 * * *', tz, '2026-03-28T12:00:00Z', 2)).toEqual([
        '2026-03-29T03:00:00+02:00',
        '2026-03-30T02:30:00+02:00',
      ]);
    });
    it('spring forward: hourly skips the missing hour', () => {
      expect(runs('0 * * * *', tz, '2026-03-29T00:30:00Z', 2)).toEqual([
        '2026-03-29T03:00:00+02:00',
        '2026-03-29T04:00:00+02:00',
      ]);
    });
    it('fall back: 02:30 runs once, hourly runs twice at 02:00', () => {
      expect(runs('30 2 * * *', tz, '2026-10-24T12:00:00Z', 2)).toEqual([
        '2026-10-25T02:30:00+02:00',
        '2026-10-26T02:30:00+01:00',
      ]);
      expect(runs('0 * * * *', tz, '2026-10-24T23:30:00Z', 3)).toEqual([
        '2026-10-25T02:00:00+02:00',
        '2026-10-25T02:00:00+01:00',
        '2026-10-25T03:00:00+01:00',
      ]);
    });
  });

  it('names the field and value of a bad expression', () => {
    expect(() => parseCron('61 * * * *')).toThrow(/minute field '61'/);
    expect(() => parseCron('* 24 * * *')).toThrow(/hour field '24'/);
    expect(() => parseCron('* * 32 * *')).toThrow(/day-of-month field '32'/);
    expect(() => parseCron('* * * 13 *')).toThrow(/month field '13'/);
    expect(() => parseCron('* * * * 8')).toThrow(/day-of-week field '8'/);
    expect(() => parseCron('* * * *')).toThrow(/expected 5 fields/);
    expect(() => parseCron('@sometimes')).toThrow(/unknown nickname/);
    expect(() => parseCron('0 0 L * *')).toThrow(/day-of-month field 'L'/);
  });
});

describe('a clock that went back (rewoundNext)', () => {
  const base = {
    enabled: true,
    tz: 'UTC',
    schedule_type: 'cron',
    schedule_expr: '*/5 * * * *',
    next_execution: null,
  } as unknown as import('../../src/model.js').Schedule;
  const at = (iso: string) => Date.parse(iso);

  it('re-arms a cron schedule whose next run lies more than one period ahead', () => {
    const s = { ...base, next_execution: '2026-01-02T10:05:00Z' };
    expect(rewoundNext(s, at('2026-01-01T10:02:00Z'))).toBe(at('2026-01-01T10:05:00Z'));
  });

  it('leaves a next run within one period, and a jump back under three hours waits as cronie does', () => {
    expect(rewoundNext({ ...base, next_execution: '2026-01-01T10:05:00Z' }, at('2026-01-01T10:01:00Z'))).toBeNull();
    expect(rewoundNext({ ...base, next_execution: '2026-01-01T10:05:00Z' }, at('2026-01-01T10:03:00Z'))).toBeNull();
    // Two hours back: the 08:05..10:00 runs already ran; they are not repeated.
    expect(rewoundNext({ ...base, next_execution: '2026-01-01T10:05:00Z' }, at('2026-01-01T08:02:00Z'))).toBeNull();
    expect(rewoundNext({ ...base, next_execution: '2026-01-01T12:05:00Z' }, at('2026-01-01T08:02:00Z'))).toBe(
      at('2026-01-01T08:05:00Z'),
    );
    // Monday to Friday: on Saturday the next run is two days ahead and right.
    const weekdays = { ...base, schedule_expr: '0 9 * * 1-5', next_execution: '2026-01-05T09:00:00Z' };
    expect(rewoundNext(weekdays, at('2026-01-03T12:00:00Z'))).toBeNull();
  });

  it('an interval keeps its grid: the first slot after now', () => {
    const s = { ...base, schedule_type: 'interval', schedule_expr: '10m', next_execution: '2026-01-02T10:07:00Z' } as typeof base;
    expect(rewoundNext(s, at('2026-01-01T10:02:00Z'))).toBe(at('2026-01-01T10:07:00Z'));
    expect(rewoundNext(s, at('2026-01-02T10:00:00Z'))).toBeNull();
  });

  it('a fixed-time job in a fall-back repeated hour is not re-armed to run a second time', () => {
    const s = { ...base, tz: 'America/New_York', schedule_expr: '30 1 * * *', next_execution: '2026-11-02T01:30:00-05:00' };
    // 01:40 EST, after the 01:30 EDT run: the next run is tomorrow's, as stored.
    expect(rewoundNext(s, at('2026-11-01T01:40:00-05:00'))).toBeNull();
  });

  it('once and event schedules are left alone', () => {
    expect(
      rewoundNext(
        {
          ...base,
          schedule_type: 'once',
          schedule_expr: '2030-01-01T00:00:00Z',
          next_execution: '2030-01-01T00:00:00Z',
        } as typeof base,
        at('2026-01-01T00:00:00Z'),
      ),
    ).toBeNull();
  });
});

describe('as cronie does it', () => {
  describe('a) rare dates are found however far ahead; dates that never come are refused', () => {
    it("Feb 29 on a Sunday: a day-of-week starting with '*' means both must match (cronie's DOW_STAR)", () => {
      // */7 is 0 and 7, both Sunday. The run after 2088 crosses 2100, which has no Feb 29.
      expect(runs('0 0 29 2 */7', 'UTC', '2033-01-01T00:00:00Z', 3)).toEqual([
        '2060-02-29T00:00:00+00:00',
        '2088-02-29T00:00:00+00:00',
        '2128-02-29T00:00:00+00:00',
      ]);
    });

    it('refuses, naming why, an expression that can never run', () => {
      for (const e of ['0 0 30 2 *', '0 0 31 4 *', '0 0 30,31 2 *', '0 0 31 4,6,9,11 *', '0 0 30 2 */7']) {
        expect(() => parseCron(e), e).toThrow(/can never run: day-of-month .* never falls in month/);
      }
      // Both restricted means either: Mondays in February, and March 31, still come.
      expect(runs('0 0 30 2 1', 'UTC', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-02-02T00:00:00+00:00']);
      expect(runs('0 0 31 2,3 *', 'UTC', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-03-31T00:00:00+00:00']);
    });

    it('stays fast: every minute, and a Feb 29 Sunday searched across decades', () => {
      const started = performance.now();
      const every = parseCron('* * * * *');
      for (let i = 0; i < 200; i++) nextCronRun(every, Date.parse('2026-06-01T10:00:30Z') + i * 3_600_000, 'Europe/Berlin');
      const rare = parseCron('0 0 29 2 */7');
      for (let i = 0; i < 50; i++) nextCronRun(rare, Date.parse('2033-01-01T00:00:00Z') + i * 86_400_000, 'Europe/Berlin');
      // Generous for a shared machine: the old day-by-day walk took about 60 ms per every-minute call.
      expect(performance.now() - started).toBeLessThan(2000);
    });
  });

  describe('b) ranges ending on Sunday as 0, and repeated values, as cronie reads them', () => {
    // 2026-01-01 is a Thursday.
    const from = '2026-01-01T00:00:00Z';
    it('sat-sun, mon-sun and 5-0: an end of 0 after the start is Sunday, 7', () => {
      expect(runs('0 0 * * sat-sun', 'UTC', from, 3)).toEqual([
        '2026-01-03T00:00:00+00:00',
        '2026-01-04T00:00:00+00:00',
        '2026-01-10T00:00:00+00:00',
      ]);
      expect(runs('0 0 * * mon-sun', 'UTC', from, 3)).toEqual([
        '2026-01-02T00:00:00+00:00',
        '2026-01-03T00:00:00+00:00',
        '2026-01-04T00:00:00+00:00',
      ]);
      expect(runs('0 0 * * 5-0', 'UTC', from, 4)).toEqual([
        '2026-01-02T00:00:00+00:00',
        '2026-01-03T00:00:00+00:00',
        '2026-01-04T00:00:00+00:00',
        '2026-01-09T00:00:00+00:00',
      ]);
    });

    it('repeated values are taken once', () => {
      expect(runs('0,0 12 * * *', 'UTC', from, 2)).toEqual(['2026-01-01T12:00:00+00:00', '2026-01-02T12:00:00+00:00']);
      expect(runs('0 1,1-3 * * *', 'UTC', from, 4)).toEqual([
        '2026-01-01T01:00:00+00:00',
        '2026-01-01T02:00:00+00:00',
        '2026-01-01T03:00:00+00:00',
        '2026-01-02T01:00:00+00:00',
      ]);
    });

    it('what cronie refuses, or would load as a job that never runs, is refused with the reason', () => {
      expect(() => parseCron('0 0 * * fri-mon')).toThrow(/day-of-week field 'fri-mon': range fri-mon runs backwards/);
      expect(() => parseCron('5-0 * * * *')).toThrow(/minute field '5-0': range 5-0 runs backwards/);
      expect(() => parseCron('*/0 * * * *')).toThrow(/minute field '\*\/0': a step must be at least 1/);
      expect(() => parseCron('0 0 * * sunday')).toThrow(/day-of-week field 'sunday'/);
      expect(() => parseCron('0 0 * * mon-fri/2')).not.toThrow();
      expect(() => parseCron('0 0 * 1-12/0 *')).toThrow(/month field '1-12\/0': a step must be at least 1/);
      expect(() => parseCron('0 0 * * 8')).toThrow(/day-of-week field '8': 8 is out of range 0-7/);
      expect(() => parseCron('jan 0 * * *')).toThrow(/minute field 'jan': names are only for month and day-of-week/);
      // A step wider than its field (cronie: an int overflow, an error) is refused; one as wide is one value.
      expect(() => parseCron('*/99999999999999999999999 * * * *')).toThrow(
        /a step of 99999999999999999999999 is larger than the field/,
      );
      expect(parseCron('*/60 * * * *').minutes).toEqual([0]);
    });
  });

  describe('c) a zone change skipping more than three hours is a correction, not a gap to catch up', () => {
    it('Pacific/Apia skipped 2011-12-30: no run at the start of Dec 31 for 12:30 on the missing day', () => {
      expect(runs('30 12 * * *', 'Pacific/Apia', '2011-12-29T23:00:00Z', 2)).toEqual([
        '2011-12-31T12:30:00+14:00',
        '2012-01-01T12:30:00+14:00',
      ]);
    });
  });

  describe('d) zone offsets with seconds', () => {
    it('Africa/Monrovia, UTC-0:44:30 until 1972: noon is 12:44:30 UTC, and the printed time names that instant', () => {
      const tz = 'Africa/Monrovia';
      const t = nextCronRun(parseCron('0 12 * * *'), Date.parse('1970-06-01T00:00:00Z'), tz)!;
      expect(new Date(t).toISOString()).toBe('1970-06-01T12:44:30.000Z');
      expect(Date.parse(isoInZone(t, tz))).toBe(t);
      const after = nextCronRun(parseCron('0 12 * * *'), t, tz)!;
      expect(new Date(after).toISOString()).toBe('1970-06-02T12:44:30.000Z');
    });
  });
});
