// Finish: a handler exited. Free its slot at once, then record the execution and apply the
// entry's policy (retry, dead letter, breaker, statistics, lifecycle events) beside new starts.
import * as fs from 'node:fs';
import type { Context } from '../context.js';
import { messageOf } from '../errors.js';
import { listens } from '../events/match.js';
import type { Entry, ExecStatus, Execution, Schedule } from '../model.js';
import { FORMAT } from '../model.js';
import { breakerAfter } from '../policy/breaker.js';
import { backoffMs } from '../policy/retry.js';
import { removeRunFile } from '../run/run-record.js';
import type { RunResult } from '../run/spawn.js';
import type { Awaitable, BreakerRecord } from '../store/store.js';
import { endedWithoutRun } from '../app/entries.js';
import { trigger } from '../app/events.js';
import { isoInZone, isoMsInZone } from '../time.js';
import { poke, type LoopState } from './state.js';
import type { StatsBuffer } from './stats-buffer.js';
import type { Active, Reporter, Summary } from './types.js';

/** Tracks a started run: when its handler exits, it is finished beside the loop's next rounds. */
export function whenDone(st: LoopState, a: Active): void {
  void a.run.done.then((r) => {
    const p = onExit(st, a, r).finally(() => st.settling.delete(p));
    st.settling.add(p);
  });
}

/** A slot is free as soon as its handler has exited; recording the run goes on beside new starts. */
async function onExit(st: LoopState, a: Active, r: RunResult): Promise<void> {
  const name = a.schedule?.circuit_breaker ?? null;
  const held = statusOf(r) !== 'success' ? name : null;
  if (held) st.breakerHeld.set(held, (st.breakerHeld.get(held) ?? 0) + 1);
  st.active.delete(a.entry.entry_id);
  st.o.report({ type: 'exited', entry_id: a.entry.entry_id });
  poke(st.wakeup);
  try {
    if (await finishRun(st, a, r)) st.queue.needList = true;
  } catch (err) {
    // The entry stays in running/ under our name; once we exit, the next pass recovers it.
    st.failures.push(`${a.executionId}: ${messageOf(err)}`);
    st.o.report({ type: 'note', message: `could not record ${a.executionId}: ${messageOf(err)}; the next pass will recover it` });
    st.stop.stopping = true;
  }
  // A success leaves a breaker with no record (never failed) as it was: keep the cached answer.
  if (name !== null && (held || st.breakers.peek(name) !== null)) st.breakers.forget(name);
  if (held) {
    const n = (st.breakerHeld.get(held) ?? 1) - 1;
    if (n > 0) st.breakerHeld.set(held, n);
    else st.breakerHeld.delete(held);
  }
  st.wakeup.generation++;
  poke(st.wakeup);
}

export function statusOf(r: RunResult): ExecStatus {
  if (r.stopped === 'cancel') return 'cancelled';
  if (r.stopped === 'shutdown' || r.lost) return 'abandoned';
  if (r.timedOut) return 'timeout';
  if (r.error) return 'failed';
  return r.exitCode === 0 ? 'success' : 'failed';
}

/**
 * The execution record of one finished run. Its times are the keeper's, read on the wall clock
 * and told in the context's (which a test may have shifted): a run adopted long after it ended
 * keeps its real start, end and duration.
 */
export function executionOf(
  ctx: Context,
  a: Pick<Active, 'entry' | 'schedule' | 'executionId'>,
  r: RunResult,
  now: number,
): Execution {
  const status = statusOf(r);
  const shift = now - Date.now();
  const ended = r.endedAtMs === null ? now : r.endedAtMs + shift;
  const started = r.startedAtMs === null ? ended - r.durationMs : r.startedAtMs + shift;
  return {
    format: FORMAT,
    execution_id: a.executionId,
    entry_id: a.entry.entry_id,
    task_id: a.entry.task_id,
    attempt: a.entry.attempt,
    status,
    exit_code: r.exitCode,
    signal: r.signal,
    started_at: isoMsInZone(started),
    finished_at: isoMsInZone(ended),
    duration_ms: r.durationMs,
    peak_cpu_percent: r.peaks.cpu,
    peak_memory_mb: r.peaks.memMb,
    log: ctx.store.logPath(a.executionId),
    error:
      r.lost ??
      r.error ??
      (status === 'timeout'
        ? `timed out after ${a.schedule?.timeout ?? 'its timeout'}`
        : status === 'failed'
          ? `exit code ${r.exitCode ?? r.signal}`
          : null),
    event: a.entry.event,
    scheduled_for: a.entry.scheduled_for,
  };
}

/** Records one finished run; true if it queued more work (a retry, a chained event). */
async function finishRun(st: LoopState, a: Active, r: RunResult): Promise<boolean> {
  const { x, queuedMore } = await recordRun(st.ctx, a, r, st.me.token, st.stats, st.o, (name) => st.breakers.get(name));
  if (x.status === 'success') st.summary.succeeded++;
  else st.summary.failed++;
  st.o.report({ type: 'finished', execution: x });
  return queuedMore;
}

/** Records a run, applies its entry's policy and releases it; also for runs settled outside the loop. */
export async function recordRun(
  ctx: Context,
  a: Pick<Active, 'entry' | 'schedule' | 'executionId'>,
  r: RunResult,
  owner: string,
  stats: StatsBuffer,
  o: Reporter,
  readBreaker?: (name: string) => Awaitable<BreakerRecord | null>,
): Promise<{ x: Execution; queuedMore: boolean }> {
  const { store, clock } = ctx;
  const x = executionOf(ctx, a, r, clock());
  // A success outside a run group needs nothing more while held (recovery would only release it):
  // recorded and released in one step. Otherwise the run stays held until its retry, dead letter
  // and group outcome are written, so that a crash before then is finished by recovery.
  const atOnce = x.status === 'success' && !a.entry.group;
  if (atOnce) await store.finishRunning(x, owner);
  else await store.recordExecution(x);
  const queuedMore = await afterExecution(ctx, a.entry, a.schedule, x, stats, o, readBreaker);
  if (!atOnce) await store.releaseRunning(a.entry.entry_id, owner);
  if (x.status === 'cancelled') await store.clearCancel(a.entry.entry_id);
  // Last: until the entry is released, the run file is how a crash here is recovered.
  removeRunFile(store.runFilePath(a.executionId));
  return { x, queuedMore };
}

/** Retry, dead-letter, breaker, statistics and lifecycle events after one execution; true if it queued more. */
export async function afterExecution(
  ctx: Context,
  e: Entry,
  s: Schedule | null,
  x: Execution,
  stats: StatsBuffer,
  o: Reporter,
  readBreaker: (name: string) => Awaitable<BreakerRecord | null> = (name) => ctx.store.readBreaker(name),
): Promise<boolean> {
  const { store, clock } = ctx;
  const now = clock();
  const failed = x.status === 'failed' || x.status === 'timeout' || x.status === 'abandoned';
  const ranIt = x.status !== 'cancelled' && x.status !== 'skipped';
  const queuedMore = await retryOrPark(ctx, e, s, x, failed, now);
  await store.settleGroup(e, x.status, e.attempt < e.max_attempts && failed);
  if (s && ranIt) {
    const b = await readBreaker(s.circuit_breaker);
    if (failed || (b && (b.state !== 'closed' || b.consecutive_failures > 0))) {
      await store.updateBreaker(s.circuit_breaker, (cur) => breakerAfter(cur, !failed, s.breaker_threshold, isoMsInZone(now)));
    }
    stats.add(s.task_id, x, failed);
  }
  if (ranIt && x.status !== 'abandoned' && (await fireLifecycle(ctx, e, x, o))) return true;
  return queuedMore;
}

/** A failed attempt is queued again after its backoff, or, out of attempts, dead-lettered; true if queued. */
async function retryOrPark(
  ctx: Context,
  e: Entry,
  s: Schedule | null,
  x: Execution,
  failed: boolean,
  now: number,
): Promise<boolean> {
  const runs = e.runs + 1;
  if (failed && e.attempt < e.max_attempts) {
    const delay = s ? backoffMs(s, e.attempt) : 1000;
    await ctx.store.enqueue({
      ...stripRun(e),
      attempt: e.attempt + 1,
      runs,
      source: e.source,
      not_before: isoMsInZone(now + delay),
      last_error: x.error,
      last_exit_code: x.exit_code,
    });
    return true;
  }
  if (failed && e.max_attempts > 1) {
    await ctx.store.toDlq({
      ...stripRun(e),
      runs,
      dead_at: isoInZone(now),
      last_exit_code: x.exit_code,
      last_error: x.error,
      log_tail: tail(x.log, 2048),
    });
  }
  return false;
}

/** task.completed / task.failed for whoever listens; true if a listener was queued. */
async function fireLifecycle(ctx: Context, e: Entry, x: Execution, o: Reporter): Promise<boolean> {
  const event = x.status === 'success' ? 'task.completed' : 'task.failed';
  if (!(await hasListeners(ctx, event, x.task_id))) return false;
  const payload = JSON.stringify({
    task_id: x.task_id,
    entry_id: x.entry_id,
    execution_id: x.execution_id,
    exit_code: x.exit_code,
    status: x.status,
  });
  const res = await trigger(ctx, event, payload, e.event_depth + 1, x.task_id);
  if (res.note) o.report({ type: 'note', message: res.note });
  return res.queued.length > 0;
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

/** A run that could not start (breaker open, schedule gone): recorded, not retried. */
export async function recordSkipped(
  ctx: Context,
  e: Entry,
  why: string,
  summary: Summary,
  o: Reporter,
  owner?: string,
): Promise<void> {
  const { store, clock } = ctx;
  const x = endedWithoutRun(e, 'skipped', why, clock());
  await store.recordExecution(x);
  await store.settleGroup(e, 'skipped', false);
  if (owner) await store.releaseRunning(e.entry_id, owner);
  summary.skipped++;
  o.report({ type: 'finished', execution: x });
}
