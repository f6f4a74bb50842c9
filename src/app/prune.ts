import type { Context } from '../context.js';
import { selfIdentity } from '../run/proc.js';
import { parseIntIn } from '../schedule/definition.js';
import { isoInZone, isoMsInZone, parseDuration } from '../time.js';

/** What `prune` was asked, checked before anything is opened (bad input changes nothing). */
export interface PrunePlan {
  /** As the user wrote it, for the report. */
  olderThan: string;
  olderThanMs: number;
  keep: number;
}

/** What `prune --json` prints. */
export interface PruneReport {
  executions: number;
  logs: number;
  events: number;
  bytes: number;
  older_than: string;
  cutoff: string;
  keep: number;
}

/** `option` names the duration in messages (`--older-than`, or the daemon's `--retain`). */
export function planPrune(olderThan: unknown, keep: unknown, option = '--older-than'): PrunePlan {
  return {
    olderThan: String(olderThan),
    olderThanMs: parseDuration(olderThan, option),
    keep: keep === undefined ? 0 : parseIntIn('--keep', keep, 0, 1_000_000_000),
  };
}

/**
 * Removes executions that finished before now - olderThan (but the `keep`
 * newest of each task), their captured output, and older events. Counters,
 * the queue, running entries and dead letters are not history: untouched.
 */
export async function prune(ctx: Context, plan: PrunePlan, me = selfIdentity().token): Promise<PruneReport> {
  const now = ctx.clock();
  const cutoffMs = now - plan.olderThanMs;
  // A daemon's own journal lives as long as it does: handed to the fold first, its old records can go.
  await ctx.store.rotateHistory();
  const freed = await ctx.store.prune({ cutoffMs, keep: plan.keep, me, nowIso: isoInZone(now) });
  const { executions, logs, events, bytes } = freed;
  return { executions, logs, events, bytes, older_than: plan.olderThan, cutoff: isoMsInZone(cutoffMs), keep: plan.keep };
}

/** `pruned 1,204 executions, 1,180 logs and 3 events (35.2 MB) older than 30d`. */
export function pruneSummary(r: PruneReport): string {
  const n = (v: number, what: string) => `${v.toLocaleString('en-US')} ${what}${v === 1 ? '' : 's'}`;
  const kept = r.keep ? ` (kept the ${r.keep.toLocaleString('en-US')} newest of each task)` : '';
  const what = `${n(r.executions, 'execution')}, ${n(r.logs, 'log')} and ${n(r.events, 'event')}`;
  return `pruned ${what} (${formatBytes(r.bytes)}) older than ${r.older_than}${kept}`;
}

export function formatBytes(b: number): string {
  if (b < 1000) return `${b} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = b / 1000;
  let i = 0;
  for (; v >= 1000 && i < units.length - 1; i++) v /= 1000;
  return `${v.toFixed(1)} ${units[i]}`;
}
