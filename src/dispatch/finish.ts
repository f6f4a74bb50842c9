// Finish: a handler exited. Free its slot at once, then record the execution and apply the
// entry's policy (retry, dead letter, breaker, statistics, lifecycle events: settle.ts) beside
// new starts.
import type { Context } from '../context.js';
import { messageOf } from '../errors.js';
import type { Entry, ExecStatus, Execution, Schedule } from '../model.js';
import { FORMAT } from '../model.js';
import { removeRunFile } from '../run/run-record.js';
import type { RunResult } from '../run/spawn.js';
import type { Awaitable, BreakerRecord } from '../store/store.js';
import { endedWithoutRun } from '../app/entries.js';
import { isoMsInZone } from '../time.js';
import { planEnd, queuesMore, settle, writeFollowUps } from './settle.js';
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
  const plan = await planEnd(ctx, a.entry, a.schedule, x, readBreaker);
  await settle(ctx, plan, owner, o);
  count(stats, a.schedule, x, plan.failed);
  if (x.status === 'cancelled') await store.clearCancel(a.entry.entry_id);
  // Last: until the entry is released, the run file is how a crash here is recovered.
  removeRunFile(store.runFilePath(a.executionId));
  return { x, queuedMore: queuesMore(plan) };
}

/**
 * The policy of an execution already recorded (recovery finishing what a dead dispatcher began):
 * retry or dead letter, run group, breaker, statistics, lifecycle events; true if it queued more.
 */
export async function afterExecution(
  ctx: Context,
  e: Entry,
  s: Schedule | null,
  x: Execution,
  stats: StatsBuffer,
  o: Reporter,
): Promise<boolean> {
  const plan = await planEnd(ctx, e, s, x);
  await writeFollowUps(ctx, plan);
  count(stats, s, x, plan.failed);
  if (plan.lifecycle?.note) o.report({ type: 'note', message: plan.lifecycle.note });
  return queuesMore(plan);
}

/** A run of a schedule counts in its statistics (not a cancelled or skipped one). */
export function count(stats: StatsBuffer, s: Schedule | null, x: Execution, failed: boolean): void {
  if (s && x.status !== 'cancelled' && x.status !== 'skipped') stats.add(s.task_id, x, failed);
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
