import type { Entry } from '../model.js';

/** Aging: one priority step per threshold waited, capped at 10, so nothing starves. */
export function effectivePriority(e: Pick<Entry, 'priority' | 'enqueued_at'>, nowMs: number, thresholdMs: number): number {
  const waited = Math.max(0, nowMs - Date.parse(e.enqueued_at));
  return Math.min(10, e.priority + Math.floor(waited / thresholdMs));
}

export interface Ranked {
  entry: Entry;
  effective: number;
}

/** Highest effective priority first, then first come first served. */
export function rankEntries(entries: Entry[], nowMs: number, thresholdMs: number): Ranked[] {
  return entries
    .map((entry) => ({ entry, effective: effectivePriority(entry, nowMs, thresholdMs), at: Date.parse(entry.enqueued_at) }))
    .sort((a, b) => b.effective - a.effective || a.at - b.at || (a.entry.entry_id < b.entry.entry_id ? -1 : 1))
    .map(({ entry, effective }) => ({ entry, effective }));
}

/** Entries whose retry delay has not passed wait without counting as blocked. */
export function isReady(e: Entry, nowMs: number): boolean {
  return !e.not_before || Date.parse(e.not_before) <= nowMs;
}
