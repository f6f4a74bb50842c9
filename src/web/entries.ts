// What the dashboard says about queue entries: the run a running one is on, why a queued one waits.
import { pageHref } from './router';
import type { QueueRow } from './types';

/**
 * The execution a running entry is on. A store that does not record it in the running entry
 * leaves it null: then it is ENTRY.ATTEMPT, which holds unless the entry came back from the
 * dead-letter queue (its attempts start again, its execution ids do not).
 */
export function executionOf(r: QueueRow): string {
  return r.execution_id ?? `${r.entry_id}.${r.attempt}`;
}

export function runHrefOf(r: QueueRow): string {
  return pageHref.run(executionOf(r));
}

/** Why an entry waits, in the words of the last pass when it left any. */
export function whyWaiting(r: QueueRow, now = Date.now()): string {
  if (r.status === 'running') return 'running';
  if (r.blocked_reason) return r.blocked_reason;
  if (r.not_before && Date.parse(r.not_before) > now) return `retry not before ${r.not_before}`;
  if (r.after && r.after.length > 0) return `runs after ${r.after.join(', ')}`;
  return 'no pass has tried to start it yet';
}
