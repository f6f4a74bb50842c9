import type { Context } from '../context.js';
import { InputError } from '../errors.js';
import { checkId } from '../ids.js';
import type { Entry } from '../model.js';
import { buildRunGroup, newEntry } from './entries.js';
import { checkEstimates, requireSchedule } from './schedules.js';

export interface EnqueueInput {
  taskId: string;
  /** This run's priority, 1..10; the schedule's when absent. */
  priority?: number;
  /** JSON text handed to the handler as CONDUCTOR_PAYLOAD. */
  payload: string | null;
  /** Runs to queue at once (load tests, backfills). */
  count: number;
  /** `--count` was given: the document is an array of entries, even of one. */
  many?: boolean;
  /** Queue the upstream tasks too, as one run group. */
  withDeps: boolean;
}

/** An entry as `queue --json` shows it: a fresh entry's effective priority is its priority. */
export type EntryView = Entry & { effective_priority: number };

/**
 * What `queue --json` prints: the entry; every entry when `count` > 1 or `--count` was given; the
 * target's entry with the ids of its whole group (upstream first) with `withDeps`.
 */
export type EnqueueDocument = EntryView | EntryView[] | (EntryView & { group_entries: string[] });

/** Queues manual runs of one schedule; answers the document and the entries queued, in order. */
export async function enqueue(ctx: Context, input: EnqueueInput): Promise<{ document: EnqueueDocument; entries: Entry[] }> {
  checkId(input.taskId);
  const s = await requireSchedule(ctx, input.taskId);
  checkEstimates(s);
  const { priority, payload } = input;
  const now = ctx.clock();
  if (input.count > 1 || input.many) {
    if (input.withDeps) throw new InputError('--count and --with-deps do not go together');
    // Each entry reads the clock: their ids are time-ordered, so the runs start in the order queued.
    const entries = Array.from({ length: input.count }, () => newEntry(s, ctx.clock(), { source: 'manual', priority, payload }));
    await ctx.store.enqueueAll(entries);
    return { document: entries.map(viewOf), entries };
  }
  const entries = input.withDeps
    ? await buildRunGroup(ctx, s, now, { source: 'manual', priority, payload })
    : [newEntry(s, now, { source: 'manual', priority, payload })];
  await ctx.store.enqueueAll(entries);
  const view = viewOf(entries[entries.length - 1]);
  return { document: input.withDeps ? { ...view, group_entries: entries.map((e) => e.entry_id) } : view, entries };
}

const viewOf = (e: Entry): EntryView => ({ ...e, effective_priority: e.priority });
