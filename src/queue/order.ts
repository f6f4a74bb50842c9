import type { QueuedRef } from '../model.js';

/** Aging: one priority step per threshold waited, capped at 10, so nothing starves. */
export function effectivePriority(e: Pick<QueuedRef, 'priority' | 'enqueued_ms'>, nowMs: number, thresholdMs: number): number {
  const waited = Math.max(0, nowMs - e.enqueued_ms);
  return Math.min(10, e.priority + Math.floor(waited / thresholdMs));
}

/**
 * Highest effective priority first, then first come first served. Sorts the
 * given array in place (no wrapper per entry: queues run to 100,000 entries).
 */
export function rankEntries(entries: QueuedRef[], nowMs: number, thresholdMs: number): QueuedRef[] {
  const eff = new Map<QueuedRef, number>();
  for (const e of entries) eff.set(e, effectivePriority(e, nowMs, thresholdMs));
  return entries.sort((a, b) => eff.get(b)! - eff.get(a)! || a.enqueued_ms - b.enqueued_ms || (a.entry_id < b.entry_id ? -1 : 1));
}

/** Entries whose retry delay has not passed wait without counting as blocked. */
export function isReady(e: Pick<QueuedRef, 'not_before_ms'>, nowMs: number): boolean {
  return e.not_before_ms === null || e.not_before_ms <= nowMs;
}
