import type { Definition, Schedule } from '../model.js';
import { parseIso } from '../time.js';
import { cronRunsBetween, nextCronRun, parseCron } from './cron.js';
import { nextIntervalRun, parseInterval } from './interval.js';
import { parseOnce } from './once.js';

/** How late a run may start and still count as on time, for `catch_up: none`. */
export const ON_TIME_GRACE_MS = 90_000;

/** Runs a long outage may queue at most, for `catch_up: all`. */
export const CATCH_UP_CAP = 100;

/** The first run of a newly created or re-enabled schedule. */
export function firstRun(def: Definition, nowMs: number, onceFired = false): number | null {
  if (!def.enabled) return null;
  switch (def.schedule_type) {
    case 'cron':
      return nextCronRun(parseCron(def.schedule_expr), nowMs, def.tz);
    case 'interval':
      return nowMs + parseInterval(def.schedule_expr);
    case 'once':
      return onceFired ? null : parseOnce(def.schedule_expr, def.tz);
    case 'event':
      return null;
  }
}

export interface DueDecision {
  /** Scheduled instants to queue now, oldest first. */
  runs: number[];
  /** Instants that were missed and dropped by the catch-up policy. */
  missed: number;
  next: number | null;
}

/**
 * What is due at `nowMs`: a schedule that was due several times while no
 * `process` ran fires per its catch-up policy (once by default), and its next
 * run moves past now on the schedule's own grid.
 */
export function dueRuns(s: Schedule, nowMs: number): DueDecision | null {
  if (!s.enabled || s.schedule_type === 'event') return null;
  const due = parseIso(s.next_execution);
  if (due === null || due > nowMs) return null;

  let all: number[];
  let next: number | null;
  let total: number;
  switch (s.schedule_type) {
    case 'cron': {
      const spec = parseCron(s.schedule_expr);
      const later = cronRunsBetween(spec, due, nowMs, s.tz, CATCH_UP_CAP + 1);
      all = [due, ...later];
      total = all.length;
      next = nextCronRun(spec, nowMs, s.tz);
      break;
    }
    case 'interval': {
      const every = parseInterval(s.schedule_expr);
      total = Math.floor((nowMs - due) / every) + 1;
      const first = Math.max(0, total - (CATCH_UP_CAP + 1));
      all = [];
      for (let k = first; k < total; k++) all.push(due + k * every);
      next = nextIntervalRun(due, every, nowMs);
      break;
    }
    default:
      all = [due];
      total = 1;
      next = null;
  }
  const latest = all[all.length - 1];
  let runs: number[];
  switch (s.catch_up) {
    case 'all':
      runs = all.slice(-CATCH_UP_CAP);
      break;
    case 'none':
      runs = nowMs - latest <= ON_TIME_GRACE_MS ? [latest] : [];
      break;
    default:
      runs = [latest];
  }
  return { runs, missed: total - runs.length, next };
}

/**
 * A jump back shorter than this is taken for skew (hosts a second apart, a
 * pass that waited for a lock, NTP slewing) and waited out, as cronie does
 * for jumps under three hours: re-arming would run again times already run.
 */
export const CLOCK_CORRECTION_MS = 3 * 3_600_000;

/**
 * The clock went back (a pass ran under a clock set ahead, or it was
 * corrected): a stored next run further ahead than one period of the
 * schedule, and than CLOCK_CORRECTION_MS, would keep it silent until the
 * clock catches up. Answers the next run as of now, or null while the stored
 * one stands.
 */
export function rewoundNext(s: Schedule, nowMs: number): number | null {
  const stored = s.enabled ? parseIso(s.next_execution) : null;
  if (stored === null || stored - nowMs <= CLOCK_CORRECTION_MS) return null;
  switch (s.schedule_type) {
    case 'interval': {
      const every = parseInterval(s.schedule_expr);
      if (stored - nowMs <= every) return null;
      // The same grid, its first slot after now.
      return stored - Math.floor((stored - nowMs - 1) / every) * every;
    }
    case 'cron': {
      const spec = parseCron(s.schedule_expr);
      const first = nextCronRun(spec, nowMs, s.tz);
      if (first === null || first >= stored) return null;
      const after = nextCronRun(spec, first, s.tz);
      return after !== null && stored - nowMs <= after - first ? null : first;
    }
    default:
      return null;
  }
}

/** The gap from a run at `atMs` to the one after it: what "two periods late" is measured in. */
export function periodAt(s: Schedule, atMs: number): number | null {
  switch (s.schedule_type) {
    case 'interval':
      return parseInterval(s.schedule_expr);
    case 'cron': {
      const after = nextCronRun(parseCron(s.schedule_expr), atMs, s.tz);
      return after === null ? null : after - atMs;
    }
    default:
      return null;
  }
}
