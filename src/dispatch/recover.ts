// Recover: the runs of dispatchers that are gone are adopted. A run whose keeper is alive is
// followed to its end as if started here; one that ended meanwhile is recorded with its real
// result; one that never started goes back to the queue; `abandoned` is left for a run whose
// handler and record are both gone (a reboot, a killed keeper). `cancel` settles a run whose
// dispatcher is gone the same way.
import type { Context } from '../context.js';
import { executionIdOf } from '../ids.js';
import { killRunLeftovers } from '../run/environ.js';
import { localBoot, tokenIsLocal, type Identity } from '../run/proc.js';
import { claimRunFile, readRunFile, sweepRunFiles } from '../run/run-record.js';
import { reattach, type RunResult } from '../run/spawn.js';
import { createSampler, type Sampler } from '../run/sampler.js';
import type { Entry } from '../model.js';
import type { RunningRecord } from '../store/store.js';
import { endedWithoutRun } from '../app/entries.js';
import { isoInZone } from '../time.js';
import { afterExecution, count, recordRun, whenDone } from './finish.js';
import { planEnd, settle, stripRun } from './settle.js';
import type { LoopState } from './state.js';
import { StatsBuffer } from './stats-buffer.js';
import { ticks, type Active, type Reporter } from './types.js';

/** How often a daemon looks again; a one-shot pass looks once, at its start. */
const RECOVER_MS = 10_000;

/**
 * The daemon's periodic upkeep: batches a killed `trigger` committed, journals of finished
 * passes, orphaned runs. A daemon never restarts to see them.
 */
export async function recoverPhase(st: LoopState, now: number): Promise<void> {
  if (!ticks(st.o) || now - st.timers.lastRecover <= RECOVER_MS) return;
  for (const why of await st.ctx.store.housekeep(st.me.token, isoInZone(now))) st.o.report({ type: 'note', message: why });
  st.summary.recovered += await adoptOrphans(st);
  st.timers.lastRecover = now;
}

/** Takes over every running entry whose dispatcher is gone; returns how many. */
export async function adoptOrphans(st: LoopState): Promise<number> {
  const { store } = st.ctx;
  let n = 0;
  for (const rec of await store.listRunning()) {
    if (rec.owner === st.me.token || st.active.has(rec.entry.entry_id) || (await store.ownerAlive(rec.owner))) continue;
    if (!(await store.takeOver(rec, st.me.token))) continue;
    await adoptOne(st, rec);
    n++;
  }
  await sweep(st);
  return n;
}

/** How long a run file nobody reads is kept (long enough for any dispatcher to have adopted it). */
const RUN_FILE_AGE_MS = 3_600_000;

async function sweep(st: LoopState): Promise<void> {
  const running = new Set((await st.ctx.store.listRunning()).map((r) => executionIdOf(r.entry)));
  sweepRunFiles(st.ctx.store.runFilesDir(), running, localBoot(), RUN_FILE_AGE_MS);
}

async function adoptOne(st: LoopState, rec: RunningRecord): Promise<void> {
  const { ctx, o, me } = st;
  const e = rec.entry;
  const executionId = executionIdOf(e);
  const say = (what: string) => o.report({ type: 'recovered', entry_id: e.entry_id, what });
  if (await alreadyRecorded(ctx, rec, me)) return say('its run was already recorded');
  const file = ctx.store.runFilePath(executionId);
  // A dispatcher on another host: its keepers' files are not here (its lease ran out).
  if (!tokenIsLocal(rec.owner)) {
    await settleLost(ctx, rec, me, `dispatcher ${rec.owner} is gone`, 'abandoned');
    return say('abandoned: its dispatcher was on another host');
  }
  let rf = readRunFile(file);
  // Claimed here, the run can no longer start: a keeper forked just now finds it taken and exits.
  if (rf === 'missing' && !claimRunFile(file, `dispatcher ${rec.owner} died before its keeper started`)) rf = readRunFile(file);
  if (rf === 'missing' || (typeof rf === 'object' && rf.never !== null)) {
    // A handler with this execution id runs after all (its keeper wrote elsewhere: a /dev/shm that
    // was emptied, or not shared): it cannot be followed, and must not run twice.
    if (killRunLeftovers(executionId) > 0) {
      await settleLost(ctx, rec, me, 'its run file is gone while its handler ran', 'abandoned');
      return say('abandoned: its run file is gone');
    }
    await requeue(ctx, e, me.token);
    return say('queued again: it never started');
  }
  if (rf === 'bad') killRunLeftovers(executionId);
  const run = reattach(file, localBoot(), st.sampler, rf === 'bad' ? null : rf);
  const schedule = await st.schedules.get(e.task_id);
  const a: Active = { entry: { ...e, status: 'running', execution_id: executionId }, schedule, executionId, run };
  st.active.set(e.entry_id, a);
  whenDone(st, a);
  say(typeof rf === 'object' && !rf.end && rf.keeper ? 'adopted: its keeper is still running it' : 'adopted');
}

/** Recorded, but the dispatcher died before the retry, dead letter or release: finish those. */
async function alreadyRecorded(ctx: Context, rec: RunningRecord, me: Identity): Promise<boolean> {
  const { store } = ctx;
  const e = rec.entry;
  const done = await store.getExecution(executionIdOf(e));
  if (!done) return false;
  const failed = done.status === 'failed' || done.status === 'timeout' || done.status === 'abandoned';
  if (failed && !(await store.entryIsLive(e.entry_id, me.token))) {
    await afterExecution(ctx, e, await store.readSchedule(e.task_id), done, new StatsBuffer(ctx), silent);
  }
  await store.releaseRunning(e.entry_id, me.token);
  await store.clearCancel(e.entry_id);
  return true;
}

/** A run that never started goes back to the queue as it was (a new execution id: the old one is claimed). */
async function requeue(ctx: Context, e: Entry, owner: string): Promise<void> {
  // An adopter that died after queueing it: it may be queued, or running again, already.
  if (!(await ctx.store.entryIsLive(e.entry_id, owner))) await ctx.store.enqueue({ ...stripRun(e), runs: e.runs + 1 });
  await ctx.store.releaseRunning(e.entry_id, owner);
}

const silent: Reporter = { report: () => undefined };

/** Ends a run nobody can follow (its dispatcher was elsewhere): leftovers killed, recorded, policy applied. */
async function settleLost(
  ctx: Context,
  rec: RunningRecord,
  me: Identity,
  why: string,
  status: 'abandoned' | 'cancelled',
): Promise<void> {
  const { store, clock } = ctx;
  const e = rec.entry;
  const x = endedWithoutRun(e, status, why, clock());
  const schedule = await store.readSchedule(e.task_id);
  const plan = await planEnd(ctx, e, schedule, x);
  await settle(ctx, plan, me.token, silent);
  const stats = new StatsBuffer(ctx);
  count(stats, schedule, x, plan.failed);
  await stats.flush();
  await store.clearCancel(e.entry_id);
}

/**
 * `cancel` of a running entry whose dispatcher is gone (we hold it now): a live keeper is asked
 * to stop and waited for; a run that ended meanwhile is recorded as it ended; one that never
 * started is recorded cancelled and can no longer start.
 */
export async function cancelOrphan(ctx: Context, rec: RunningRecord, me: Identity): Promise<void> {
  const e = rec.entry;
  const executionId = executionIdOf(e);
  if (await alreadyRecorded(ctx, rec, me)) return;
  const file = ctx.store.runFilePath(executionId);
  const local = tokenIsLocal(rec.owner);
  let rf = local ? readRunFile(file) : 'missing';
  // Claimed here, it can no longer start; a keeper that claimed it first is followed and stopped.
  if (local && rf === 'missing' && !claimRunFile(file, 'cancelled before its keeper started')) rf = readRunFile(file);
  if (rf === 'missing' || rf === 'bad' || rf.never !== null) {
    killRunLeftovers(executionId);
    return settleLost(ctx, rec, me, 'cancelled; its dispatcher was gone', 'cancelled');
  }
  const sampler: Sampler = createSampler();
  const run = reattach(file, localBoot(), sampler, rf);
  run.stop('cancel');
  const r: RunResult = await run.done;
  const schedule = await ctx.store.readSchedule(e.task_id);
  const stats = new StatsBuffer(ctx);
  await recordRun(ctx, { entry: e, schedule, executionId }, r.lost ? { ...r, stopped: 'cancel' } : r, me.token, stats, silent);
  await stats.flush();
}
