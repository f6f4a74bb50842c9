import type { QueuedRef } from '../model.js';

/** Aging: one priority step per threshold waited, capped at 10, so nothing starves. */
export function effectivePriority(e: Pick<QueuedRef, 'priority' | 'enqueued_ms'>, nowMs: number, thresholdMs: number): number {
  const waited = Math.max(0, nowMs - e.enqueued_ms);
  return Math.min(10, e.priority + Math.floor(waited / thresholdMs));
}

export interface Ranked {
  entry: QueuedRef;
  effective: number;
}

/** Highest effective priority first, then first come first served. */
export function rankEntries(entries: QueuedRef[], nowMs: number, thresholdMs: number): Ranked[] {
  return entries
    .map((entry) => ({ entry, effective: effectivePriority(entry, nowMs, thresholdMs) }))
    .sort((a, b) => b.effective - a.effective || a.entry.enqueued_ms - b.entry.enqueued_ms || (a.entry.entry_id < b.entry.entry_id ? -1 : 1));
}

/** Entries whose retry delay has not passed wait without counting as blocked. */
export function isReady(e: Pick<QueuedRef, 'not_before_ms'>, nowMs: number): boolean {
  return e.not_before_ms === null || e.not_before_ms <= nowMs;
}
