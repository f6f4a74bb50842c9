import type { Context } from '../context.js';
import { InputError } from '../errors.js';
import { timeOrderedId } from '../ids.js';
import { FORMAT, type Entry, type EntrySource, type ExecStatus, type Execution, type Schedule } from '../model.js';
import { maxAttempts } from '../policy/retry.js';
import { isoInZone, isoMsInZone } from '../time.js';

// The records every way into the queue builds: manual runs (enqueue), due schedules and events
// (the dispatcher, trigger), and the ends of entries that never ran (cancel, skip, recovery).

export interface EntryOptions {
  source: EntrySource;
  priority?: number;
  event?: string | null;
  payload?: string | null;
  depth?: number;
  scheduledFor?: number | null;
  group?: string | null;
  after?: string[];
  entryId?: string;
}

/** A new queue entry for one run of a schedule. */
export function newEntry(s: Schedule, nowMs: number, o: EntryOptions): Entry {
  return {
    format: FORMAT,
    entry_id: o.entryId ?? timeOrderedId(nowMs),
    task_id: s.task_id,
    priority: o.priority ?? s.priority,
    enqueued_at: isoMsInZone(nowMs),
    estimated_cpu_percent: s.cpu,
    estimated_memory_percent: s.mem,
    status: 'queued',
    attempt: 1,
    max_attempts: maxAttempts(s),
    runs: 0,
    not_before: null,
    source: o.source,
    scheduled_for: o.scheduledFor ? isoInZone(o.scheduledFor, s.tz) : null,
    event: o.event ?? null,
    payload: o.payload ?? null,
    event_depth: o.depth ?? 0,
    group: o.group ?? null,
    after: o.after ?? [],
  };
}

/**
 * One run group: the task and its upstream closure, upstream first. Each
 * entry waits for the entries of its direct dependencies (`after`).
 */
export async function buildRunGroup(ctx: Context, target: Schedule, nowMs: number, o: EntryOptions): Promise<Entry[]> {
  const order: Schedule[] = [];
  const seen = new Set<string>();
  const visit = async (s: Schedule, path: string[]): Promise<void> => {
    if (seen.has(s.task_id)) return;
    if (path.includes(s.task_id)) throw new InputError(`dependency cycle: ${[...path, s.task_id].join(' -> ')}`);
    for (const d of s.depends_on ?? []) {
      const up = await ctx.store.readSchedule(d);
      if (!up) throw new InputError(`task '${s.task_id}' depends on unknown task id '${d}'`);
      await visit(up, [...path, s.task_id]);
    }
    seen.add(s.task_id);
    order.push(s);
  };
  await visit(target, []);
  const rootId = o.entryId ?? timeOrderedId(nowMs);
  const ids = new Map<string, string>();
  for (const s of order) ids.set(s.task_id, s.task_id === target.task_id ? rootId : timeOrderedId(nowMs));
  return order.map((s) =>
    newEntry(s, nowMs, {
      ...(s.task_id === target.task_id ? o : { source: o.source, depth: o.depth, scheduledFor: o.scheduledFor }),
      entryId: ids.get(s.task_id),
      group: rootId,
      after: (s.depends_on ?? []).map((d) => ids.get(d)!),
    }),
  );
}

/**
 * The record of an entry that ended without a handler exit of its own
 * (skipped, cancelled while queued, abandoned by a dead dispatcher).
 */
export function endedWithoutRun(e: Entry, status: ExecStatus, error: string, atMs: number, log: string | null = null): Execution {
  const at = isoMsInZone(atMs);
  return {
    format: FORMAT,
    execution_id: `${e.entry_id}.${e.runs + 1}`,
    entry_id: e.entry_id,
    task_id: e.task_id,
    attempt: e.attempt,
    status,
    exit_code: null,
    signal: null,
    started_at: at,
    finished_at: at,
    duration_ms: 0,
    peak_cpu_percent: null,
    peak_memory_mb: null,
    log,
    error,
    event: e.event,
    scheduled_for: e.scheduled_for,
  };
}
