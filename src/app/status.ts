import type { Context } from '../context.js';
import { executionIdOf } from '../ids.js';
import type { Entry, EntrySource, QueuedRef, Schedule } from '../model.js';
import { maxAttempts } from '../policy/retry.js';
import { effectivePriority } from '../queue/order.js';
import type { RunningRecord } from '../store/store.js';
import { isoMsInZone } from '../time.js';

/** One entry not yet finished, as `status --json` shows it (running ones first, then queued oldest first). */
export interface StatusRow {
  entry_id: string;
  task_id: string;
  priority: number;
  effective_priority: number;
  enqueued_at: string;
  estimated_cpu_percent: number;
  estimated_memory_percent: number;
  status: 'running' | 'queued';
  attempt: number;
  max_attempts: number | null;
  not_before: string | null;
  source: EntrySource;
  group?: string | null;
  after?: string[];
  started_at?: string | null;
  /** A running entry's execution: its log can be followed while it runs. */
  execution_id?: string | null;
  blocked_reason?: string;
}

/** What the last pass wrote about why entries wait (state/blocked). */
interface BlockedReport {
  entries?: Record<string, { reason: string }>;
  rest?: string | null;
}

/** The queue as `status` shows it: the rows (`status --json`) and whether the home is paused. */
export async function queueStatus(
  ctx: Context,
  o: { starvationMs: number; withPaused: boolean },
): Promise<{ rows: StatusRow[]; paused: boolean }> {
  const now = ctx.clock();
  const blocked = await ctx.store.readState<BlockedReport>('blocked');
  const running = (await ctx.store.listRunning()).map((r) => runningRow(r, now, o.starvationMs));
  // Queued entries come from their file names alone (one readdir, however long the queue).
  const queued = (await ctx.store.listQueued()).sort(
    (a, b) => a.enqueued_ms - b.enqueued_ms || (a.entry_id < b.entry_id ? -1 : 1),
  );
  // Each task's schedule is read once, however many of its entries wait.
  const schedules = new Map<string, Schedule | null>();
  for (const r of queued) if (!schedules.has(r.task_id)) schedules.set(r.task_id, await ctx.store.readSchedule(r.task_id));
  // Only an entry of a run group is read whole: its group and what it waits for are not in its name.
  const groups = new Map<string, Entry | null>();
  for (const r of queued) if (r.grouped) groups.set(r.entry_id, await ctx.store.readQueued(r));
  const rows = [
    ...running,
    ...queued.map((r) => queuedRow(r, schedules.get(r.task_id), groups.get(r.entry_id), blocked, now, o.starvationMs)),
  ];
  // Read only for a person: a script asking for JSON does not pay for it.
  const paused = o.withPaused ? await ctx.store.isPaused() : false;
  return { rows, paused };
}

function runningRow({ entry: e }: RunningRecord, now: number, starvationMs: number): StatusRow {
  return {
    entry_id: e.entry_id,
    task_id: e.task_id,
    priority: e.priority,
    effective_priority: effectivePriority({ priority: e.priority, enqueued_ms: Date.parse(e.enqueued_at) }, now, starvationMs),
    enqueued_at: e.enqueued_at,
    estimated_cpu_percent: e.estimated_cpu_percent,
    estimated_memory_percent: e.estimated_memory_percent,
    status: 'running',
    attempt: e.attempt,
    max_attempts: e.max_attempts,
    not_before: null,
    source: e.source,
    group: e.group,
    after: e.after,
    started_at: e.started_at ?? null,
    // The file store's running record is the entry as claimed, without the id its start gave it.
    execution_id: e.execution_id ?? executionIdOf(e),
  };
}

function queuedRow(
  r: QueuedRef,
  s: Schedule | null | undefined,
  full: Entry | null | undefined,
  blocked: BlockedReport | null,
  now: number,
  starvationMs: number,
): StatusRow {
  const row: StatusRow = {
    entry_id: r.entry_id,
    task_id: r.task_id,
    priority: r.priority,
    effective_priority: effectivePriority(r, now, starvationMs),
    enqueued_at: isoMsInZone(r.enqueued_ms),
    estimated_cpu_percent: s?.cpu ?? 0,
    estimated_memory_percent: s?.mem ?? 0,
    status: 'queued',
    attempt: r.attempt,
    max_attempts: s ? maxAttempts(s) : null,
    not_before: r.not_before_ms === null ? null : isoMsInZone(r.not_before_ms),
    source: r.source,
  };
  if (full) {
    row.group = full.group;
    row.after = full.after;
  }
  const why =
    r.not_before_ms !== null && r.not_before_ms > now
      ? `retry not before ${row.not_before}`
      : (blocked?.entries?.[r.entry_id]?.reason ?? blocked?.rest);
  if (why) row.blocked_reason = why;
  return row;
}
