import { settings } from './config.js';
import { InputError } from './errors.js';

/** The one source of "now" for the core; the CLI passes a real or injected one. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/**
 * A pinned start (CONDUCTOR_NOW, an ISO timestamp: Settings.now) for tests and
 * dry-runs; time still advances from there so durations stay real.
 */
export function pinnedClock(pinned: string | undefined): Clock {
  if (!pinned) return systemClock;
  const at = parseTimestamp(pinned, 'CONDUCTOR_NOW');
  const started = Date.now();
  return () => at + (Date.now() - started);
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

/**
 * The longest duration conductor takes anywhere (timeouts, intervals, backoff, grace,
 * thresholds): ten years. Longer ones are typos or overflow tricks, and an interval of
 * at most this keeps every next run far inside year 9999.
 */
export const MAX_DURATION_MS = 3650 * 86_400_000;

/** Parses `30 seconds`, `5m`, `1.5h`, `2 days`; a bare number means seconds. At most MAX_DURATION_MS. */
export function parseDuration(text: unknown, what = 'duration'): number {
  if (typeof text === 'number' && Number.isFinite(text) && text > 0) return checkMax(Math.round(text * 1000), text, what);
  const s = String(text ?? '')
    .trim()
    .toLowerCase();
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(s);
  const unit = m ? (m[2] === '' ? 1000 : UNITS[m[2]]) : undefined;
  if (!m || unit === undefined) {
    throw new InputError(`invalid ${what} '${String(text)}': expected e.g. '30s', '5 minutes', '1h', '2 days'`);
  }
  const ms = Math.round(parseFloat(m[1]) * unit);
  if (ms <= 0) throw new InputError(`invalid ${what} '${String(text)}': must be greater than zero`);
  return checkMax(ms, text, what);
}

function checkMax(ms: number, text: unknown, what: string): number {
  if (!(ms <= MAX_DURATION_MS)) throw new InputError(`invalid ${what} '${String(text)}': at most 3650 days`);
  return ms;
}

/** Instants conductor stores and computes with: years 1970 to 9999 (UTC). */
export const MIN_INSTANT_MS = 0;
export const MAX_INSTANT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function instantInRange(ms: number): boolean {
  return ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * A full ISO-8601 timestamp (date and time; without an offset, local time) of
 * a real calendar day in the years 1970 to 9999. Date.parse alone takes '0'
 * as the year 2000 and rolls 2026-02-30 over into March.
 */
export function parseTimestamp(text: string, what: string): number {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) throw new InputError(`invalid ${what} '${text}': expected an ISO-8601 date and time, e.g. 2026-12-24T18:00:00Z`);
  const [y, mo, d, h, mi, s = 0] = m.slice(1, 7).map((v) => Number(v ?? 0));
  const day = new Date(Date.UTC(2000, mo - 1, d));
  if (
    day.getUTCMonth() !== mo - 1 ||
    day.getUTCDate() !== d ||
    (mo === 2 && d === 29 && !leapYear(y)) ||
    h > 23 ||
    mi > 59 ||
    s > 59
  ) {
    throw new InputError(`invalid ${what} '${text}': no such date or time`);
  }
  const t = Date.parse(text.trim().replace(' ', 'T'));
  if (Number.isNaN(t) || !instantInRange(t))
    throw new InputError(`invalid ${what} '${text}': must lie in the years 1970 to 9999 (UTC)`);
  return t;
}

const leapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** For people: 250ms, 1.50s, 12.5s, 3m, 44m59s, 2h, 2h5m; rounded first, so never "44m60s". */
export function formatDuration(ms: number): string {
  if (ms < 999.5) return `${Math.round(ms)}ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(ms < 9_995 ? 2 : 1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  const m = Math.round(ms / 60_000);
  return `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ''}`;
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = offsetFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    offsetFormatters.set(tz, f);
  }
  return f;
}

export interface WallTime {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

/** The wall-clock fields of an instant in a zone. */
export function wallTime(ms: number, tz: string): WallTime {
  const parts = formatterFor(tz).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour'), mi: get('minute'), s: get('second') };
}

/**
 * Offset of a zone from UTC at an instant, in milliseconds (east positive),
 * to the second: some zones' offsets had seconds (Africa/Monrovia was
 * UTC-0:44:30 until 1972), and rounding them moves every run off its minute.
 */
export function offsetMs(ms: number, tz: string): number {
  const w = wallTime(ms, tz);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(ms / 1000) * 1000;
}

/** TZ (Settings.tz) when it names a valid zone, else the system's. */
export function localZone(tz: string | undefined = settings().tz): string {
  return tz && isValidZone(tz) ? tz : Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export function isValidZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * ISO-8601 with the zone's offset, e.g. 2026-03-08T03:00:00-04:00. Without a
 * zone it is the machine's, read through Date: the first use of Intl costs
 * about 12 ms of start-up, which `queue` and `trigger` should not pay.
 */
export function isoInZone(ms: number, tz?: string): string {
  let w: WallTime;
  let off: number;
  if (tz === undefined) {
    const d = new Date(ms);
    w = { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds() };
    off = -d.getTimezoneOffset();
  } else {
    // ISO-8601 offsets as parsers take them have whole minutes; for an offset with
    // seconds the printed time carries the rest, so that the text names the exact
    // instant (Monrovia's 12:00 of 1970 prints as 12:00:30-00:44).
    off = Math.trunc(offsetMs(ms, tz) / 60_000);
    const d = new Date(ms + off * 60_000);
    w = {
      y: d.getUTCFullYear(),
      mo: d.getUTCMonth() + 1,
      d: d.getUTCDate(),
      h: d.getUTCHours(),
      mi: d.getUTCMinutes(),
      s: d.getUTCSeconds(),
    };
  }
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${w.y}-${pad(w.mo)}-${pad(w.d)}T${pad(w.h)}:${pad(w.mi)}:${pad(w.s)}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** The same with milliseconds: for queue and execution times, where order within a second matters. */
export function isoMsInZone(ms: number, tz?: string): string {
  const base = isoInZone(ms, tz);
  const frac = String(((ms % 1000) + 1000) % 1000).padStart(3, '0');
  return `${base.slice(0, 19)}.${frac}${base.slice(19)}`;
}

export function isoOrNull(ms: number | null | undefined, tz?: string): string | null {
  return ms === null || ms === undefined ? null : isoInZone(ms, tz);
}

export function parseIso(text: string | null | undefined): number | null {
  if (!text) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}
