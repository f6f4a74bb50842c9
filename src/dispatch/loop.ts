// The `process` loop: each round runs the named phases in order, then naps. A phase owns its part
// of the loop's state (state.ts); the decisions are pure (gates.ts, idle.ts).
import type { Context } from '../context.js';
import { RunError, messageOf } from '../errors.js';
import { selfIdentity } from '../run/proc.js';
import { createSampler } from '../run/sampler.js';
import { isoInZone } from '../time.js';
import { nap, passOver } from './idle.js';
import { promotePhase } from './promote.js';
import { adoptOrphans, recoverPhase } from './recover.js';
import { selectPhase } from './select.js';
import { newRound, newWakeup, openState, type LoopState } from './state.js';
import type { DispatchOptions, StopSignal, Summary } from './types.js';
import { cancelPhase, heartbeatPhase, pausePhase, retainPhase, writeHeartbeat } from './upkeep.js';
import { watchForWork } from './wake.js';

export type { DispatchEvent, DispatchOptions, OnStop, StopSignal, Summary } from './types.js';

/**
 * `process`: promote what is due, then start queued entries by effective priority while the
 * limits allow, until nothing more can start and every started task has finished (or, as a
 * daemon, until told to stop).
 */
export async function dispatch(ctx: Context, o: DispatchOptions, stop: StopSignal): Promise<Summary> {
  const { st, upkeepFailed } = await begin(ctx, o, stop);
  // Before the first round, which lists the queue: nothing queued meanwhile waits for the tick.
  const unwatch = await watchForWork(st);
  try {
    for (;;) {
      const now = ctx.clock();
      await promotePhase(st, now);
      await recoverPhase(st, now);
      await heartbeatPhase(st, now);
      await cancelPhase(st, now);
      await retainPhase(st, now);
      const round = newRound(st);
      await pausePhase(st, now);
      st.blocked.beginRound();
      if (!st.stop.stopping && !st.timers.paused) await selectPhase(st, round, now);
      await st.blocked.endRound(now, st.timers.paused || st.stop.stopping);
      await st.stats.flushIfDue();
      if (await passOver(st, round, now)) break;
      await nap(st, round);
    }
  } finally {
    unwatch();
  }
  return end(st, upkeepFailed);
}

/** Registers us, then the start-up upkeep: what upkeep could not do fails the pass at its end, after the runs. */
async function begin(ctx: Context, o: DispatchOptions, stop: StopSignal): Promise<{ st: LoopState; upkeepFailed: string[] }> {
  const me = selfIdentity();
  await ctx.store.attach(me.token);
  const sampler = createSampler();
  const wakeup = newWakeup(stop);
  const upkeepFailed = await ctx.store.housekeep(me.token, isoInZone(ctx.clock()));
  const st = await openState({ ctx, o, stop, me, host: o.host, sampler, wakeup });
  st.summary.recovered += await adoptOrphans(st);
  return { st, upkeepFailed };
}

/** Runs still going are left to their keepers: the next dispatcher adopts them. */
function leaveRuns(st: LoopState): number {
  for (const a of st.active.values()) a.run.detach();
  const n = st.active.size;
  st.active.clear();
  return n;
}

/** Flushes what was buffered, counts what is left, and leaves the last heartbeat with the summary. */
async function end(st: LoopState, upkeepFailed: string[]): Promise<Summary> {
  const { store, clock } = st.ctx;
  await Promise.all(st.settling);
  st.summary.left_running = leaveRuns(st);
  await st.blocked.flush();
  await st.stats.flush().catch((err) => st.failures.push(`statistics: ${messageOf(err)}`));
  if (st.failures.length) throw new RunError(`could not record ${st.failures.length} execution(s), first: ${st.failures[0]}`);
  const left = await store.listQueued();
  st.summary.still_queued = left.length;
  st.summary.blocked = st.blocked.count(left.length);
  await writeHeartbeat(st, clock(), st.summary);
  if (upkeepFailed.length)
    throw new RunError(upkeepFailed[0] + (upkeepFailed.length > 1 ? ` (and ${upkeepFailed.length - 1} more)` : ''));
  return st.summary;
}
