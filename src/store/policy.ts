import { FORMAT, type Entry } from '../model.js';
import * as path from 'node:path';
import type { BreakerRecord, Problem, RetiredCounters } from './roles.js';

/**
 * What both backends decide the same way; each only stores the answer. Kept
 * here so that the file store and PostgreSQL cannot drift apart.
 */

/** The counters of a stored document about to be deleted; null if it has none worth keeping. */
export function retiredCountersOf(s: any, format: number): RetiredCounters | null {
  if (!s || typeof s !== 'object' || typeof s.task_id !== 'string' || typeof s.created_at !== 'string') return null;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
  if (!n(s.execution_count)) return null;
  const incarnation =
    typeof s.incarnation === 'string' && /^[0-9a-f]{1,32}$/.test(s.incarnation) ? { incarnation: s.incarnation } : {};
  return {
    format,
    task_id: s.task_id,
    created_at: s.created_at,
    ...incarnation,
    execution_count: n(s.execution_count),
    failure_count: n(s.failure_count),
    average_duration_ms: n(s.average_duration_ms),
  };
}

/** One name per schedule lifetime: its id and its incarnation (or, for older schedules, its creation time). */
export function retiredKey(r: Pick<RetiredCounters, 'task_id' | 'created_at' | 'incarnation'>): string {
  if (r.incarnation) return `${r.task_id}~${r.incarnation}`;
  const at = Date.parse(r.created_at);
  return `${r.task_id}~${Number.isFinite(at) ? at : 'unknown'}`;
}

export function newBreaker(name: string, format: number): BreakerRecord {
  return { format, name, state: 'closed', consecutive_failures: 0, opened_at: null, trial_entry: null };
}

/**
 * A breaker's read-modify-write, run under the backend's lock: a breaker
 * never written starts closed; `write` is false when `change` leaves it.
 */
export function changeBreaker(
  name: string,
  cur: BreakerRecord | null,
  change: (b: BreakerRecord) => BreakerRecord | undefined,
): { value: BreakerRecord; write: boolean } {
  const base = cur ?? newBreaker(name, FORMAT);
  const next = change(base);
  return next === undefined ? { value: base, write: false } : { value: next, write: true };
}

/** A run group's member keeps its final outcome for its downstream entries; none while it may still retry. */
export interface GroupOutcome {
  format: number;
  entry_id: string;
  group: string;
  status: string;
}

export function groupOutcome(e: Entry, status: string, retrying: boolean): GroupOutcome | null {
  if (!e.group || retrying) return null;
  return { format: FORMAT, entry_id: e.entry_id, group: e.group, status };
}

/** Where a handler's output is captured while it runs: the local home, whichever store holds the records. */
export function logPathIn(home: string, executionId: string): string {
  return path.join(home, 'logs', `${executionId}.log`);
}

/** Where a run's keeper records it (run/run-file.ts), in the home's runtime folder (runtime-dir.ts). */
export function runFileIn(runtimeDir: string, executionId: string): string {
  return path.join(runtimeDir, `${executionId}.run`);
}

/** The daemon's pid file: local, one daemon per home and host. */
export function pidFileIn(home: string): string {
  return path.join(home, 'state', 'daemon.pid');
}

/** Records what was set aside, for the command's report, and returns it. */
export function reportProblem(problems: Problem[], file: string, reason: string, movedTo: string | null): Problem {
  const p = { file, reason, moved_to: movedTo };
  problems.push(p);
  return p;
}

/** The message when the home is not safe to run from: the first problem, and how many more. */
export function trustMessage(problems: string[]): string | null {
  if (!problems.length) return null;
  return problems[0] + (problems.length > 1 ? ` (and ${problems.length - 1} more; see conductor health)` : '');
}
