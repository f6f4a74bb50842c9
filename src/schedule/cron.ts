import { InputError } from '../errors.js';
import { offsetMinutes, wallTime } from '../time.js';

/**
 * A parsed 5-field cron expression. cron-parser validates and expands the
 * fields; the next-run walk below is ours because the daylight-saving rules
 * we keep (those of Vixie cron / cronie) are not cron-parser's.
 */
export interface CronSpec {
  expr: string;
  minutes: number[];
  hours: number[];
  doms: Set<number>;
  months: Set<number>;
  dows: Set<number>;
  domStar: boolean;
  dowStar: boolean;
  /** Neither minute nor hour starts with '*': the job names a wall-clock time. */
  fixedTime: boolean;
}

const NICKNAMES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** cron-parser (with luxon) is large; load it only when a cron expression is parsed. */
function parser(): typeof import('cron-parser').CronExpressionParser {
  return (require('cron-parser') as typeof import('cron-parser')).CronExpressionParser;
}

const FIELDS = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;

/**
 * The five fields of an expression (nicknames expanded), checked for form
 * only: count and characters. Cheap; parseCron does the full check.
 */
export function cronFields(input: string): string[] {
  const raw = String(input ?? '').trim();
  const expanded = raw.startsWith('@') ? NICKNAMES[raw.toLowerCase()] : raw;
  if (!expanded) {
    throw new InputError(
      `invalid cron expression '${raw}': unknown nickname (use @hourly, @daily, @weekly, @monthly or @yearly)`,
    );
  }
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) {
    throw new InputError(
      `invalid cron expression '${raw}': expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`,
    );
  }
  parts.forEach((value, i) => checkFieldForm(i, value));
  return parts;
}

export function parseCron(input: string): CronSpec {
  const raw = String(input ?? '').trim();
  const parts = cronFields(raw);
  parts.forEach((value, i) => checkField(i, value));
  let parsed;
  try {
    parsed = parser().parse(parts.join(' '));
  } catch (err) {
    throw new InputError(`invalid cron expression '${raw}': ${(err as Error).message}`);
  }
  const f = parsed.fields;
  const dows = new Set<number>((f.dayOfWeek.values as number[]).map((d) => (d === 7 ? 0 : d)));
  return {
    expr: raw,
    minutes: [...(f.minute.values as number[])].sort((a, b) => a - b),
    hours: [...(f.hour.values as number[])].sort((a, b) => a - b),
    doms: new Set(f.dayOfMonth.values as number[]),
    months: new Set(f.month.values as number[]),
    dows,
    domStar: parts[2].startsWith('*') || parts[2] === '?',
    dowStar: parts[4].startsWith('*') || parts[4] === '?',
    fixedTime: !parts[0].startsWith('*') && !parts[1].startsWith('*'),
  };
}

const NAMES = /^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat)$/i;

/** Only what conductor supports: numbers, names, '*', ',', '-' and '/' (no L, W, #, ?, H). */
function checkFieldForm(index: number, value: string): void {
  const rest = value.replace(/[a-z]{3}/gi, (m) => (NAMES.test(m) ? '' : m));
  if (!/^[0-9*,/-]*$/.test(rest) || value === '') {
    throw new InputError(
      `invalid cron ${FIELDS[index]} field '${value}': only numbers, names, '*', ',', '-' and '/' are supported`,
    );
  }
}

/** Validates one field alone so the error can name it and its value. */
function checkField(index: number, value: string): void {
  const name = FIELDS[index];
  const probe = ['*', '*', '*', '*', '*'];
  probe[index] = value;
  try {
    parser().parse(probe.join(' '));
  } catch (err) {
    const why = (err as Error).message.replace(/^Constraint error, /, '').replace(/^Invalid characters, /, '');
    throw new InputError(`invalid cron ${name} field '${value}': ${why}`);
  }
}

const DAY = 86_400_000;

/** The instants at which a zone's wall clock reads the given minute: 0 (gap), 1 or 2 (repeated hour). */
export function instantsOfWallTime(y: number, mo: number, d: number, h: number, mi: number, tz: string): number[] {
  const local = Date.UTC(y, mo - 1, d, h, mi);
  const offsets = new Set([offsetMinutes(local - DAY, tz), offsetMinutes(local, tz), offsetMinutes(local + DAY, tz)]);
  const found: number[] = [];
  for (const off of offsets) {
    const t = local - off * 60_000;
    if (offsetMinutes(t, tz) === off && !found.includes(t)) found.push(t);
  }
  return found.sort((a, b) => a - b);
}

/** First instant whose wall time is at or after `local` (a wall time inside a gap maps to the gap's end). */
function firstInstantAtOrAfterWall(local: number, tz: string): number {
  // Search whole seconds: zone transitions happen on them.
  let lo = Math.floor((local - 26 * 3_600_000) / 1000);
  let hi = Math.ceil((local + 26 * 3_600_000) / 1000);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (mid * 1000 + offsetMinutes(mid * 1000, tz) * 60_000 >= local) hi = mid;
    else lo = mid;
  }
  return hi * 1000;
}

const MAX_DAYS = 366 * 8 + 2;

/**
 * The first run strictly after `afterMs`.
 * Daylight saving, as cronie does it: a fixed-time job whose time falls in a
 * spring-forward gap runs once at the gap's end; in a repeated (fall-back)
 * hour it runs once, at the first occurrence. Jobs whose minute or hour is a
 * wildcard or step follow real elapsed time: no run in a gap, and runs in both
 * passes of a repeated hour.
 */
export function nextCronRun(spec: CronSpec, afterMs: number, tz: string): number | null {
  const start = wallTime(afterMs, tz);
  const startDay = Date.UTC(start.y, start.mo - 1, start.d);
  // Start one day early: a wall date can begin before afterMs's date in a zone shift.
  for (let i = -1; i < MAX_DAYS; i++) {
    const day = new Date(startDay + i * DAY);
    const y = day.getUTCFullYear();
    const mo = day.getUTCMonth() + 1;
    const d = day.getUTCDate();
    if (!spec.months.has(mo)) continue;
    const domOk = spec.doms.has(d);
    const dowOk = spec.dows.has(day.getUTCDay());
    const dayOk = spec.domStar || spec.dowStar ? domOk && dowOk : domOk || dowOk;
    if (!dayOk) continue;
    let best: number | null = null;
    for (const h of spec.hours) {
      // Skip whole hours that are safely in the past on the first days.
      const hourEnd = Date.UTC(y, mo - 1, d, h, 59);
      if (hourEnd < afterMs - 15 * 3_600_000) continue;
      for (const mi of spec.minutes) {
        const local = Date.UTC(y, mo - 1, d, h, mi);
        if (local < afterMs - 15 * 3_600_000) continue;
        let instants = instantsOfWallTime(y, mo, d, h, mi, tz);
        if (instants.length === 0) {
          if (!spec.fixedTime) continue;
          instants = [firstInstantAtOrAfterWall(local, tz)];
        } else if (instants.length > 1 && spec.fixedTime) {
          instants = [instants[0]];
        }
        for (const t of instants) {
          if (t > afterMs && (best === null || t < best)) best = t;
        }
      }
    }
    if (best !== null) return best;
  }
  return null;
}

/** Every run in (fromMs, toMs], at most `cap` of them, oldest first. */
export function cronRunsBetween(spec: CronSpec, fromMs: number, toMs: number, tz: string, cap: number): number[] {
  const runs: number[] = [];
  let t = fromMs;
  while (runs.length < cap) {
    const n = nextCronRun(spec, t, tz);
    if (n === null || n > toMs) break;
    runs.push(n);
    t = n;
  }
  return runs;
}
