import type { Context } from '../context.js';
import { nextCronRun, parseCron, instantsOfWallTime, type CronSpec } from '../schedule/cron.js';
import { parseInterval } from '../schedule/interval.js';
import { isoInZone, parseIso, wallTime } from '../time.js';
import { describeCron } from './schedule-view.js';
import { requireSchedule } from './schedules.js';

/**
 * One coming run. `dst`: `gap` when the wall-clock time the expression names does not exist that
 * day and the run is moved to the end of the gap (cronie's rule); `repeat` when that wall-clock
 * time happens twice and this is the run conductor makes (once, at the first).
 */
export interface UpcomingRun {
  at: string;
  dst: 'gap' | 'repeat' | null;
}

/** What `GET /api/v1/schedules/{id}/next` answers. */
export interface UpcomingRuns {
  task_id: string;
  schedule_type: string;
  tz: string;
  enabled: boolean;
  description: string | null;
  runs: UpcomingRun[];
}

/** The next `count` runs of a schedule from now (an event schedule has none: events start it). */
export async function upcomingRuns(ctx: Context, id: string, count: number): Promise<UpcomingRuns> {
  const s = await requireSchedule(ctx, id);
  const now = ctx.clock();
  const base = { task_id: s.task_id, schedule_type: s.schedule_type, tz: s.tz, enabled: s.enabled };
  if (s.schedule_type === 'cron') {
    const spec = parseCron(s.schedule_expr);
    return { ...base, description: describeCron(s.schedule_expr), runs: cronRuns(spec, now, s.tz, count) };
  }
  const next = parseIso(s.next_execution);
  const plain = (ms: number): UpcomingRun => ({ at: isoInZone(ms, s.tz), dst: null });
  if (s.schedule_type === 'interval' && next !== null) {
    const every = parseInterval(s.schedule_expr);
    return {
      ...base,
      description: `every ${s.schedule_expr}`,
      runs: Array.from({ length: count }, (_, k) => plain(next + k * every)),
    };
  }
  if (s.schedule_type === 'once' && next !== null) return { ...base, description: 'once', runs: [plain(next)] };
  return { ...base, description: s.schedule_type === 'event' ? `on ${s.schedule_expr}` : null, runs: [] };
}

function cronRuns(spec: CronSpec, from: number, tz: string, count: number): UpcomingRun[] {
  const runs: UpcomingRun[] = [];
  for (let t = from, i = 0; i < count; i++) {
    const n = nextCronRun(spec, t, tz);
    if (n === null) break;
    runs.push({ at: isoInZone(n, tz), dst: dstMark(spec, n, tz) });
    t = n;
  }
  return runs;
}

function dstMark(spec: CronSpec, at: number, tz: string): UpcomingRun['dst'] {
  const w = wallTime(at, tz);
  if (instantsOfWallTime(w.y, w.mo, w.d, w.h, w.mi, tz).length > 1) return 'repeat';
  // A run at a wall time the expression does not name was moved out of a gap.
  return spec.minutes.includes(w.mi) && spec.hours.includes(w.h) ? null : 'gap';
}
