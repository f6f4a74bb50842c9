import type { Schedule } from '../model.js';
import { periodAt } from '../schedule/next.js';
import { formatDuration, isoMsInZone, parseIso } from '../time.js';
import type { StatusRow } from './status.js';

/**
 * What `health` says about work that does not start: entries due for longer
 * than --max-wait, and schedules whose due run has not started within two
 * of their periods. Pure: the rows come from queueStatus, the clock is passed.
 */

/** The queued entries due (not a retry still backing off) for longer than `maxWaitMs`, longest first. */
export function overdueEntries(rows: StatusRow[], now: number, maxWaitMs: number): string[] {
  const found: { ms: number; text: string }[] = [];
  for (const r of rows) {
    if (r.status !== 'queued') continue;
    const dueAt = Math.max(Date.parse(r.enqueued_at), parseIso(r.not_before) ?? 0);
    const waited = now - dueAt;
    if (waited <= maxWaitMs) continue;
    found.push({ ms: waited, text: `${r.entry_id} (${r.task_id}) waited ${formatDuration(waited)}: ${whyWaits(r)}` });
  }
  return found.sort((a, b) => b.ms - a.ms).map((f) => f.text);
}

function whyWaits(r: StatusRow): string {
  return r.blocked_reason ?? 'no pass has tried to start it (is process running?)';
}

/**
 * Cron and interval schedules two periods behind: due and never queued (no
 * pass ran), or queued by time and not started since (something holds it).
 */
export function lateSchedules(schedules: Schedule[], rows: StatusRow[], now: number): string[] {
  const out: string[] = [];
  for (const s of schedules) {
    if (!s.enabled || (s.schedule_type !== 'cron' && s.schedule_type !== 'interval')) continue;
    const due = parseIso(s.next_execution);
    const late = due !== null && due < now ? behind(s, due, now) : null;
    if (late) {
      out.push(`${s.task_id} was due at ${isoMsInZone(due!, s.tz)} and is not queued (${late}; is process running?)`);
      continue;
    }
    const waiting = rows.find((r) => r.task_id === s.task_id && r.status === 'queued' && r.source === 'schedule');
    const queuedAt = waiting ? Date.parse(waiting.enqueued_at) : null;
    const stuck = queuedAt !== null ? behind(s, queuedAt, now) : null;
    if (waiting && stuck)
      out.push(`${s.task_id}'s run queued at ${waiting.enqueued_at} has not started (${stuck}): ${whyWaits(waiting)}`);
  }
  return out;
}

/** "2 periods of 5m behind" when `since` is more than two periods ago, else null. */
function behind(s: Schedule, since: number, now: number): string | null {
  const period = periodAt(s, since);
  if (period === null || now - since <= 2 * period) return null;
  return `${formatDuration(now - since)} late, more than two periods of ${formatDuration(period)}`;
}
