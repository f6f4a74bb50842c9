// Settle: what ending a run writes besides its record (a retry or a dead letter, its run group's
// outcome, its breaker, the listeners of task.completed / task.failed), planned first and then
// written with the record and the release as one step: one transaction where the store has them
// (store.settleRun), else in order, the release last, so that recovery finishes a cut-short end.
import * as fs from 'node:fs';
import type { Context } from '../context.js';
import { listens } from '../events/match.js';
import type { Entry, Execution, Schedule } from '../model.js';
import { breakerAfter } from '../policy/breaker.js';
import { backoffMs } from '../policy/retry.js';
import { groupOutcome } from '../store/policy.js';
import type { Awaitable, BreakerRecord, Settlement } from '../store/store.js';
import { planTrigger, type TriggerPlan } from '../app/events.js';
import { isoInZone, isoMsInZone } from '../time.js';
import type { Reporter } from './types.js';

/** Everything ending one run writes, and what the caller needs to know of it. */
export interface EndPlan extends Omit<Settlement, 'owner'> {
  entry: Entry;
  failed: boolean;
  /** A failed attempt that will be tried again (its run group waits for it). */
  retrying: boolean;
  lifecycle: TriggerPlan | null;
}

/** Whether this plan queued more work (a retry, a listener), so the dispatcher lists again. */
export function queuesMore(p: EndPlan): boolean {
  return p.queue.length > 0;
}

/** Plans the end of a run from its record: nothing is written here. */
export async function planEnd(
  ctx: Context,
  e: Entry,
  s: Schedule | null,
  x: Execution,
  readBreaker: (name: string) => Awaitable<BreakerRecord | null> = (name) => ctx.store.readBreaker(name),
): Promise<EndPlan> {
  const now = ctx.clock();
  const failed = x.status === 'failed' || x.status === 'timeout' || x.status === 'abandoned';
  const ranIt = x.status !== 'cancelled' && x.status !== 'skipped';
  const retrying = failed && e.attempt < e.max_attempts;
  const retry = retrying ? retryOf(e, s, x, now) : null;
  const deadLetter = failed && !retrying && e.max_attempts > 1 ? deadLetterOf(e, x, now) : null;
  const breaker = s && ranIt ? await breakerChange(s, failed, readBreaker, now) : null;
  const lifecycle = ranIt && x.status !== 'abandoned' ? await lifecycleOf(ctx, e, x) : null;
  return {
    entry: e,
    execution: x,
    failed,
    retrying,
    queue: [...(retry ? [retry] : []), ...(lifecycle?.entries ?? [])],
    deadLetter,
    outcome: groupOutcome(e, x.status, retrying),
    breaker,
    event: lifecycle?.record ?? null,
    lifecycle,
  };
}

/** Records, writes the plan and releases the run: one transaction where the store has them. */
export async function settle(ctx: Context, p: EndPlan, owner: string, o: Reporter): Promise<void> {
  const { store } = ctx;
  if (store.settleRun) {
    const { execution, queue, deadLetter, outcome, breaker, event } = p;
    await store.settleRun({ execution, owner, queue, deadLetter, outcome, breaker, event });
  } else {
    await store.recordExecution(p.execution);
    await writeFollowUps(ctx, p);
    await store.releaseRunning(p.entry.entry_id, owner);
  }
  if (p.lifecycle?.note) o.report({ type: 'note', message: p.lifecycle.note });
}

/** The plan's writes but the record and the release, in the order recovery relies on. */
export async function writeFollowUps(ctx: Context, p: EndPlan): Promise<void> {
  const { store } = ctx;
  const retry = p.retrying ? p.queue[0] : null;
  const listeners = p.retrying ? p.queue.slice(1) : p.queue;
  if (retry) await store.enqueue(retry);
  if (p.deadLetter) await store.toDlq(p.deadLetter);
  await store.settleGroup(p.entry, p.execution.status, p.retrying);
  if (p.breaker) await store.updateBreaker(p.breaker.name, p.breaker.change);
  if (p.lifecycle) {
    await store.enqueueAll(listeners);
    await store.appendEvent(p.lifecycle.record);
  }
}

/** The next attempt, queued again after its backoff under the same entry id. */
function retryOf(e: Entry, s: Schedule | null, x: Execution, now: number): Entry {
  const delay = s ? backoffMs(s, e.attempt) : 1000;
  return {
    ...stripRun(e),
    attempt: e.attempt + 1,
    runs: e.runs + 1,
    source: e.source,
    not_before: isoMsInZone(now + delay),
    last_error: x.error,
    last_exit_code: x.exit_code,
  };
}

function deadLetterOf(e: Entry, x: Execution, now: number): Settlement['deadLetter'] {
  return {
    ...stripRun(e),
    runs: e.runs + 1,
    dead_at: isoInZone(now),
    last_exit_code: x.exit_code,
    last_error: x.error,
    log_tail: tail(x.log, 2048),
  };
}

/** A failure counts toward opening; a success closes a breaker that is not closed (or resets its count). */
async function breakerChange(
  s: Schedule,
  failed: boolean,
  readBreaker: (name: string) => Awaitable<BreakerRecord | null>,
  now: number,
): Promise<Settlement['breaker']> {
  const b = await readBreaker(s.circuit_breaker);
  if (!failed && !(b && (b.state !== 'closed' || b.consecutive_failures > 0))) return null;
  const at = isoMsInZone(now);
  return { name: s.circuit_breaker, change: (cur: BreakerRecord) => breakerAfter(cur, !failed, s.breaker_threshold, at) };
}

/** task.completed / task.failed for whoever listens; null when nobody does. */
async function lifecycleOf(ctx: Context, e: Entry, x: Execution): Promise<TriggerPlan | null> {
  const event = x.status === 'success' ? 'task.completed' : 'task.failed';
  if (!(await hasListeners(ctx, event, x.task_id))) return null;
  const payload = JSON.stringify({
    task_id: x.task_id,
    entry_id: x.entry_id,
    execution_id: x.execution_id,
    exit_code: x.exit_code,
    status: x.status,
  });
  return planTrigger(ctx, event, payload, e.event_depth + 1, x.task_id);
}

let listenerCache: { at: number; patterns: string[] } | null = null;

/**
 * Lifecycle events fire after every execution; most homes have no listener, so check a cached
 * list first. Its age is the process's wall time, not the home's (possibly pinned) clock.
 */
async function hasListeners(ctx: Context, event: string, taskId: string): Promise<boolean> {
  const now = Date.now();
  if (!listenerCache || now - listenerCache.at > 1000) {
    listenerCache = {
      at: now,
      patterns: (await ctx.store.listSchedules())
        .filter((s) => s.enabled && s.schedule_type === 'event')
        .map((s) => s.schedule_expr),
    };
  }
  return listenerCache.patterns.some((p) => listens(p, event, taskId));
}

export function stripRun(e: Entry): Entry {
  const { execution_id: _x, started_at: _s, ...rest } = e;
  return { ...rest, status: 'queued' };
}

/** The last bytes of a run's log for its dead letter; a log that cannot be read gives none. */
function tail(file: string | null, bytes: number): string {
  if (!file) return '';
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(bytes, size));
    fs.readSync(fd, buf, 0, buf.length, Math.max(0, size - bytes));
    fs.closeSync(fd);
    return buf.toString('utf8');
  } catch {
    return '';
  }
}
