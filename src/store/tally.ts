import type { Execution } from '../model.js';

/**
 * What the metrics count of history: executions per task and status with
 * their summed durations, and a duration histogram of the runs that ran.
 * Built from the records themselves, so it agrees with `history` exactly;
 * what `prune` removes is added to a kept tally first, so the counters
 * built from it never go down.
 */
export interface HistoryTally {
  /** task id -> status -> executions and their summed duration in milliseconds. */
  runs: Record<string, Record<string, { count: number; duration_ms: number }>>;
  /** Runs (every status but skipped) per bucket of DURATION_BOUNDS_MS, not cumulative; the last is above them all. */
  buckets: number[];
}

/** Upper bounds (inclusive) of the duration histogram, in milliseconds: 50 ms to an hour. */
export const DURATION_BOUNDS_MS = [
  50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 1_800_000, 3_600_000,
];

export function emptyTally(): HistoryTally {
  return { runs: {}, buckets: new Array<number>(DURATION_BOUNDS_MS.length + 1).fill(0) };
}

/** The bucket a duration falls in: the first bound it does not exceed. */
export function bucketOf(durationMs: number): number {
  const i = DURATION_BOUNDS_MS.findIndex((b) => durationMs <= b);
  return i === -1 ? DURATION_BOUNDS_MS.length : i;
}

export function addRuns(t: HistoryTally, taskId: string, status: string, count: number, durationMs: number): void {
  const byStatus = (t.runs[taskId] ??= {});
  const cell = (byStatus[status] ??= { count: 0, duration_ms: 0 });
  cell.count += count;
  cell.duration_ms += durationMs;
}

/** What a tally counts of an execution: a record, or a row's columns. */
export type Counted = Pick<Execution, 'task_id' | 'status' | 'duration_ms'>;

export function tallyOf(records: Iterable<Counted>): HistoryTally {
  const t = emptyTally();
  for (const x of records) {
    const ms = Number.isFinite(x.duration_ms) && x.duration_ms > 0 ? x.duration_ms : 0;
    addRuns(t, x.task_id, x.status, 1, ms);
    if (x.status !== 'skipped') t.buckets[bucketOf(ms)]++;
  }
  return t;
}

/** a + b, as a new tally; a kept tally of another bucket layout counts in its last bucket. */
export function mergeTallies(a: HistoryTally, b: HistoryTally): HistoryTally {
  const t = emptyTally();
  for (const src of [a, b]) {
    for (const [task, byStatus] of Object.entries(src.runs))
      for (const [status, c] of Object.entries(byStatus)) addRuns(t, task, status, c.count, c.duration_ms);
    src.buckets.forEach((n, i) => (t.buckets[Math.min(i, t.buckets.length - 1)] += n));
  }
  return t;
}

/**
 * What prune keeps of what it removed, so that counters built from history
 * never go down. `pending`: ids of executions already counted here whose
 * records a prune cut short by a crash may still hold; readers do not count
 * those records again, and the next prune removes them without adding them.
 */
export interface PrunedTally extends HistoryTally {
  format: number;
  pending: string[];
}

export const PRUNED_TALLY_STATE = 'pruned-tally';

export function emptyPrunedTally(): PrunedTally {
  return { format: 1, ...emptyTally(), pending: [] };
}

/** Why a kept document is not one prune wrote; null if it is. */
export function prunedTallyProblem(v: unknown): string | null {
  const t = v as PrunedTally | null;
  if (!t || typeof t.runs !== 'object' || t.runs === null) return 'no runs';
  if (!Array.isArray(t.buckets) || !t.buckets.every((n) => Number.isSafeInteger(n) && n >= 0)) return 'bad buckets';
  if (!Array.isArray(t.pending) || !t.pending.every((id) => typeof id === 'string')) return 'bad pending ids';
  for (const byStatus of Object.values(t.runs)) {
    if (typeof byStatus !== 'object' || byStatus === null) return 'bad counts';
    for (const c of Object.values(byStatus))
      if (!Number.isFinite(c?.count) || !Number.isFinite(c?.duration_ms)) return 'bad counts';
  }
  return null;
}

/** A kept document as prune writes it; anything else (damaged) counts as none. */
export function asPrunedTally(v: unknown): PrunedTally {
  return prunedTallyProblem(v) === null ? (v as PrunedTally) : emptyPrunedTally();
}
