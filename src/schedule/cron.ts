import { InputError } from '../errors.js';
import { MAX_INSTANT_MS, offsetMs, wallTime } from '../time.js';
import { parseField } from './cron-fields.js';

/**
 * A parsed 5-field cron expression, read as cronie reads a crontab line
 * (src/entry.c, load_entry; the fields in cron-fields.ts). The next-run walk
 * below keeps cronie's rules for days and for zone changes.
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
  const [minutes, hours, doms, months, dows] = parts.map((value, i) => parseField(i, value));
  const spec: CronSpec = {
    expr: raw,
    minutes,
    hours,
    doms: new Set(doms),
    months: new Set(months),
    dows: new Set(dows),
    // cronie's DOM_STAR / DOW_STAR: set when the field begins with '*' (so `*/7` counts as a star).
    domStar: parts[2].startsWith('*'),
    dowStar: parts[4].startsWith('*'),
    fixedTime: !parts[0].startsWith('*') && !parts[1].startsWith('*'),
  };
  checkCanRun(spec, raw, parts);
  return spec;
}

const NAMES = /^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat)$/i;

/** Only what conductor supports: numbers, names, '*', ',', '-' and '/' (no L, W, #, ?, H, nor cronie's ~). */
function checkFieldForm(index: number, value: string): void {
  const rest = value.replace(/[a-z]{3}/gi, (m) => (NAMES.test(m) ? '' : m));
  if (!/^[0-9*,/-]*$/.test(rest) || value === '') {
    throw new InputError(
      `invalid cron ${FIELDS[index]} field '${value}': only numbers, names, '*', ',', '-' and '/' are supported`,
    );
  }
}

const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * cronie loads a line such as `0 0 30 2 *` and it simply never fires. A
 * schedule without a next run looks like a fault, so conductor refuses it
 * when it is created, validated or applied. Only the "both must match" case
 * can be empty: every month has every weekday, and every day that exists
 * (Feb 29 too) falls on every weekday within the 400-year cycle.
 */
function checkCanRun(spec: CronSpec, raw: string, parts: string[]): void {
  if (!spec.domStar && !spec.dowStar) return;
  for (const mo of spec.months) {
    for (const d of spec.doms) if (d <= MONTH_DAYS[mo - 1]) return;
  }
  throw new InputError(
    `invalid cron expression '${raw}': it can never run: day-of-month '${parts[2]}' never falls in month '${parts[3]}'`,
  );
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * The instants at which a zone's wall clock reads the wall time `local`
 * (given as if UTC) under one of the offsets `offsets`: 0 (gap), 1 or 2
 * (repeated hour), oldest first.
 */
function instantsAt(local: number, offsets: number[], tz: string): number[] {
  const found = offsets.map((off) => local - off).filter((t) => offsetMs(t, tz) === local - t);
  return found.sort((a, b) => a - b);
}

/** Offsets at sampling instants, which repeat from day to day and pass to pass; Intl costs ~30 µs a call. */
const sampled = new Map<string, number>();

function sampledOffset(at: number, tz: string): number {
  const key = `${tz} ${at}`;
  let off = sampled.get(key);
  if (off === undefined) {
    if (sampled.size >= 10_000) sampled.clear();
    off = offsetMs(at, tz);
    sampled.set(key, off);
  }
  return off;
}

/** The offsets a zone has around `at`, one day either side (zone changes are further apart than that). */
function offsetsAround(at: number, tz: string, days: number[]): number[] {
  return [...new Set(days.map((k) => sampledOffset(at + k * DAY, tz)))];
}

/** The instants at which a zone's wall clock reads the given minute: 0 (gap), 1 or 2 (repeated hour). */
export function instantsOfWallTime(y: number, mo: number, d: number, h: number, mi: number, tz: string): number[] {
  const local = Date.UTC(y, mo - 1, d, h, mi);
  return instantsAt(local, offsetsAround(local, tz, [-1, 0, 1]), tz);
}

/** First instant whose wall time is at or after `local` (a wall time inside a gap maps to the gap's end). */
function firstInstantAtOrAfterWall(local: number, tz: string): number {
  // Search whole seconds: zone transitions happen on them.
  let lo = Math.floor((local - 26 * HOUR) / 1000);
  let hi = Math.ceil((local + 26 * HOUR) / 1000);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (mid * 1000 + offsetMs(mid * 1000, tz) >= local) hi = mid;
    else lo = mid;
  }
  return hi * 1000;
}

/**
 * The longest clock jump forward whose skipped fixed-time jobs are still run.
 * cronie (src/cron.c, main loop) runs the fixed-time jobs of every skipped
 * minute when its clock jumps ahead by up to 3 hours (wakeupKind small or
 * medium: "we went to DST"); a bigger jump is a clock correction (large):
 * only the current minute's jobs run.
 */
const MAX_CAUGHT_UP_GAP_MS = 3 * HOUR;

/**
 * A fixed-time job whose wall time a zone change skipped: once at the gap's
 * end for a daylight-saving gap; not at all when the zone skipped more than
 * three hours (Pacific/Apia lost all of 2011-12-30).
 */
function gapEndRun(local: number, tz: string): number | null {
  const end = firstInstantAtOrAfterWall(local, tz);
  const skipped = offsetMs(end, tz) - offsetMs(end - 1000, tz);
  return skipped <= MAX_CAUGHT_UP_GAP_MS ? end : null;
}

/** The run, after afterMs, of the job at wall time `local`, with the daylight-saving rules of nextCronRun. */
function runAtWall(spec: CronSpec, local: number, offsets: number[], afterMs: number, tz: string): number | null {
  const instants = instantsAt(local, offsets, tz);
  if (instants.length === 0) {
    const end = spec.fixedTime ? gapEndRun(local, tz) : null;
    return end !== null && end > afterMs ? end : null;
  }
  const usable = spec.fixedTime ? instants.slice(0, 1) : instants;
  return usable.find((t) => t > afterMs) ?? null;
}

/** The first run after afterMs on one wall date (`day`: its midnight, as if UTC), or null. */
function firstRunOnDay(spec: CronSpec, day: number, afterMs: number, tz: string): number | null {
  const offsets = offsetsAround(day, tz, [-1, 0, 1, 2]);
  const least = Math.min(...offsets);
  const most = Math.max(...offsets);
  let best: number | null = null;
  for (const h of spec.hours) {
    if (day + h * HOUR + 59 * MINUTE <= afterMs + least) continue;
    for (const mi of spec.minutes) {
      const local = day + h * HOUR + mi * MINUTE;
      // An instant is its wall time less the offset: under every offset of the day this
      // wall time is not after afterMs, or (hours and minutes ascend) no later one can beat best.
      if (local <= afterMs + least) continue;
      if (best !== null && local - most > best) return best;
      const t = runAtWall(spec, local, offsets, afterMs, tz);
      if (t !== null && (best === null || t < best)) best = t;
    }
  }
  return best;
}

const weekday = (day: number) => (((Math.floor(day / DAY) + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday

/** The first wall date from `from` to `to` (midnights, as if UTC) whose month and day match; whole months skipped. */
function nextMatchingDay(spec: CronSpec, from: number, to: number): number | null {
  let day = from;
  while (day <= to) {
    const date = new Date(day);
    const first = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    const next = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
    if (spec.months.has(date.getUTCMonth() + 1)) {
      for (; day < next && day <= to; day += DAY) {
        const domOk = spec.doms.has((day - first) / DAY + 1);
        const dowOk = spec.dows.has(weekday(day));
        // cron.c, find_jobs: a star in either day field means both must match, else either.
        if (spec.domStar || spec.dowStar ? domOk && dowOk : domOk || dowOk) return day;
      }
    }
    day = next;
  }
  return null;
}

/**
 * cronie has no search limit: it tests each minute as it comes. The
 * Gregorian calendar repeats every 400 years (146,097 days, whole weeks), so
 * a date parseCron accepts comes within that (Feb 29 on a given weekday can
 * be 40 years away); two days more for the day started early.
 */
const SEARCH_DAYS = 146_097 + 2;

/**
 * The first run strictly after `afterMs`, or null past the year 9999.
 * Daylight saving, as cronie does it: a fixed-time job whose time falls in a
 * spring-forward gap (of at most 3 hours) runs once at the gap's end; in a
 * repeated (fall-back) hour it runs once, at the first occurrence. Jobs whose
 * minute or hour is a wildcard or step follow real elapsed time: no run in a
 * gap, and runs in both passes of a repeated hour.
 */
export function nextCronRun(spec: CronSpec, afterMs: number, tz: string): number | null {
  const start = wallTime(afterMs, tz);
  // Start one day early: a wall date can begin before afterMs's date in a zone shift.
  let day = Date.UTC(start.y, start.mo - 1, start.d) - DAY;
  const to = Math.min(day + SEARCH_DAYS * DAY, MAX_INSTANT_MS);
  for (;;) {
    const match = nextMatchingDay(spec, day, to);
    if (match === null) return null;
    const best = firstRunOnDay(spec, match, afterMs, tz);
    if (best !== null) return best <= MAX_INSTANT_MS ? best : null;
    day = match + DAY;
  }
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
