// Promote: queue what time has made due (cron, interval, once), finish promotions a crash cut
// short, and move a schedule's next run back when the clock went back.
import type { Context } from '../context.js';
import { InputError } from '../errors.js';
import type { Entry, Schedule } from '../model.js';
import { dueRuns, rewoundNext } from '../schedule/next.js';
import type { PromotionPlan } from '../store/store.js';
import { buildRunGroup, newEntry } from '../app/entries.js';
import { isoInZone } from '../time.js';
import type { LoopState } from './state.js';
import { ticks, type Reporter } from './types.js';

/**
 * The loop's promote phase. A one-shot pass promotes once; a daemon on every tick and also at
 * the earliest due time it knows of, so a run due between ticks is not a tick late.
 */
export async function promotePhase(st: LoopState, now: number): Promise<void> {
  const t = st.timers;
  const dueNow = t.nextDue !== null && now >= t.nextDue;
  if (st.stop.stopping || !(now - t.lastPromote >= (ticks(st.o) ? st.o.tickMs : Infinity) || dueNow)) return;
  const p = await promoteDue(st.ctx, now, st.o);
  if (p.count > 0) st.queue.needList = true;
  st.summary.promoted += p.count;
  t.nextDue = p.nextDue;
  t.lastPromote = now;
}

/**
 * Queues what time has made due. Each schedule is advanced and its runs
 * queued in one step of the store (`promote`), so overlapping passes never
 * queue a run twice; runs that a crash left in `pending` are finished.
 */
export async function promoteDue(ctx: Context, now: number, o: Reporter): Promise<{ count: number; nextDue: number | null }> {
  const { store } = ctx;
  let count = 0;
  let nextDue: number | null = null;
  const note = (iso: string | null | undefined) => {
    const t = iso ? Date.parse(iso) : NaN;
    if (!Number.isNaN(t) && t > now && (nextDue === null || t < nextDue)) nextDue = t;
  };
  for (const s0 of await store.listSchedules()) {
    if (!needsPromotion(s0, now)) {
      if (s0.enabled) note(s0.next_execution);
      continue;
    }
    let after: Schedule | null = null;
    // A run group whose upstream schedule is gone (deleted by hand, quarantined) cannot be built:
    // say so and go on with the other schedules (this one is left as it was and tried again).
    const queued = await store
      .promote(s0.task_id, async (s) => {
        // Read the clock again under the lock: others may have promoted past `now` while we waited,
        // and planning at the older instant would read their progress as a clock that went back.
        const p = await planPromotion(ctx, s, Math.max(now, ctx.clock()), o);
        after = p?.schedule ?? s;
        return p;
      })
      .catch((err: unknown) => {
        if (!(err instanceof InputError)) throw err;
        o.report({ type: 'note', message: `${s0.task_id}: not queued: ${err.message}` });
        return [] as Entry[];
      });
    for (const e of queued) {
      count++;
      o.report({ type: 'queued', entry: e, reason: `due at ${e.scheduled_for}` });
    }
    const a = after as Schedule | null;
    if (a?.enabled) note(a.next_execution);
  }
  return { count, nextDue };
}

/** Due, left half-promoted by a crash, or stranded ahead by a clock that went back. */
function needsPromotion(s: Schedule, now: number): boolean {
  if (s.pending?.length) return true;
  if (!s.enabled || !s.next_execution) return false;
  return Date.parse(s.next_execution) <= now || rewoundChecked(s, now) !== null;
}

// The rewind check walks the cron spec; a daemon asks every second for every schedule. Once
// a stored next run is found right at some instant it stays right for every later instant.
const rightAt = new Map<string, number>();

function rewoundChecked(s: Schedule, now: number): number | null {
  const key = `${s.task_id}|${s.schedule_type}|${s.schedule_expr}|${s.tz}|${s.next_execution}`;
  const at = rightAt.get(key);
  if (at !== undefined && now >= at) return null;
  const r = rewoundNext(s, now);
  if (r === null) {
    if (rightAt.size > 10_000) rightAt.clear();
    rightAt.set(key, now);
  }
  return r;
}

/** What promoting one schedule at `now` means: its new state and the entries to queue. */
async function planPromotion(ctx: Context, cur: Schedule, now: number, o: Reporter): Promise<PromotionPlan | undefined> {
  const recover = await pendingEntries(ctx, cur, now);
  const rewound = rewoundNext(cur, now);
  const s = rewound === null ? cur : { ...cur, next_execution: isoInZone(rewound, cur.tz) };
  if (rewound !== null)
    o.report({
      type: 'note',
      message: `${s.task_id}: the clock went back; next run moved from ${cur.next_execution} to ${s.next_execution}`,
    });
  const d = dueRuns(s, now);
  if (!d) return recover.length || rewound !== null ? { schedule: { ...s, pending: null }, fresh: [], recover } : undefined;
  let runs = d.runs;
  if (s.overlap === 'skip' && runs.length > 0 && (recover.length > 0 || (await ctx.store.hasLiveEntryFor(s.task_id)))) {
    o.report({
      type: 'note',
      message: `${s.task_id}: run due at ${isoInZone(runs[runs.length - 1], s.tz)} skipped, previous run still queued or running (overlap: skip)`,
    });
    runs = [];
  } else if (s.overlap === 'skip') runs = runs.slice(-1);
  const fresh: Entry[] = [];
  for (const at of runs) {
    if (s.depends_on?.length) fresh.push(...(await buildRunGroup(ctx, s, now, { source: 'schedule', scheduledFor: at })));
    else fresh.push(newEntry(s, now, { source: 'schedule', scheduledFor: at }));
  }
  return {
    schedule: {
      ...s,
      next_execution: d.next === null ? null : isoInZone(d.next, s.tz),
      once_fired: s.schedule_type === 'once' ? true : s.once_fired,
      pending: null,
    },
    fresh,
    recover,
  };
}

/**
 * The entries a promotion cut short by a crash meant to queue. They are
 * stored whole; a home written by an older conductor kept only ids and due
 * times, and its run groups are rebuilt (their upstream entries get new ids).
 */
async function pendingEntries(ctx: Context, s: Schedule, now: number): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const p of (s.pending ?? []) as (Entry | { entry_id: string; scheduled_for: string })[]) {
    if ('task_id' in p) {
      out.push(p);
      continue;
    }
    const o2 = { source: 'schedule' as const, scheduledFor: Date.parse(p.scheduled_for), entryId: p.entry_id };
    out.push(...(s.depends_on?.length ? await buildRunGroup(ctx, s, now, o2) : [newEntry(s, now, o2)]));
  }
  return out;
}
