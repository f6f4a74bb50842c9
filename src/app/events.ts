import type { Context } from '../context.js';
import { InputError } from '../errors.js';
import { checkEventName, DEFAULT_MAX_DEPTH, listens } from '../events/match.js';
import type { Entry } from '../model.js';
import type { EventRecord } from '../store/store.js';
import { isoInZone } from '../time.js';
import { newEntry } from './entries.js';

export interface TriggerResult {
  event: string;
  queued: string[];
  note?: string;
}

/** What `trigger --json` prints (and the HTTP API answers): the event and the entries it queued. */
export interface TriggerDocument {
  event: string;
  queued: string[];
}

/** The cap on event chains the caller configured, else the default. */
export function eventDepthCap(ctx: Pick<Context, 'maxEventDepth'>): number {
  const n = ctx.maxEventDepth;
  return n !== undefined && Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_DEPTH;
}

/** What a trigger writes: the listeners' entries and the event's record (with a note when not delivered). */
export interface TriggerPlan {
  entries: Entry[];
  record: EventRecord;
  note?: string;
}

/** The entries of every enabled event schedule listening to `event`, and the event's record; nothing is written. */
export async function planTrigger(
  ctx: Context,
  event: string,
  payload: string | null,
  depth: number,
  taskId: string | null,
): Promise<TriggerPlan> {
  const now = ctx.clock();
  const cap = eventDepthCap(ctx);
  if (depth > cap) {
    const note = `event chain depth ${depth} exceeds the cap ${cap}: '${event}' not delivered`;
    return { entries: [], record: { at: isoInZone(now), event, payload, depth, queued: [], note }, note };
  }
  const entries = (await ctx.store.listSchedules())
    .filter((s) => s.enabled && s.schedule_type === 'event' && listens(s.schedule_expr, event, taskId))
    .map((s) => newEntry(s, now, { source: 'event', event, payload, depth }));
  return { entries, record: { at: isoInZone(now), event, payload, depth, queued: entries.map((e) => e.entry_id) } };
}

/**
 * Queues every enabled event schedule listening to `event`. The payload goes
 * into the entry and reaches the handler only as CONDUCTOR_PAYLOAD.
 */
export async function trigger(
  ctx: Context,
  event: string,
  payload: string | null,
  depth: number,
  taskId: string | null,
): Promise<TriggerResult> {
  const p = await planTrigger(ctx, event, payload, depth, taskId);
  // Every listener or none: a trigger that fails part-way must not run some listeners twice when retried.
  if (!p.note) await ctx.store.enqueueAll(p.entries);
  await ctx.store.appendEvent(p.record);
  return { event, queued: p.record.queued, ...(p.note ? { note: p.note } : {}) };
}

/**
 * A trigger from outside (the CLI, an HTTP request): the document to answer
 * with, and the note (a chain too deep) that goes beside it, not into it.
 */
export async function triggerEvent(
  ctx: Context,
  input: { event: string; payload: string | null; depth: number },
): Promise<{ document: TriggerDocument; note: string | null }> {
  const bad = checkEventName(input.event);
  if (bad) throw new InputError(bad);
  const res = await trigger(ctx, input.event, input.payload, input.depth, null);
  return { document: { event: res.event, queued: res.queued }, note: res.note ?? null };
}

/** Recent events, triggered or emitted, newest first (`events --json`). */
export async function recentEvents(ctx: Context, limit: number): Promise<EventRecord[]> {
  return ctx.store.listEvents(limit);
}
