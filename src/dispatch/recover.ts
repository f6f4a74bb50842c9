// Recover: runs whose dispatcher died (the zombie detector) are taken over and settled, so a
// crash loses no entry; `cancel` settles one the same way when its dispatcher is gone.
import * as fs from 'node:fs';
import type { Context } from '../context.js';
import { pidsWithEnv } from '../run/environ.js';
import { killGroup, type Identity } from '../run/proc.js';
import type { RunningRecord } from '../store/store.js';
import { endedWithoutRun } from '../app/entries.js';
import { isoInZone } from '../time.js';
import { afterExecution } from './finish.js';
import type { LoopState } from './state.js';
import { StatsBuffer } from './stats-buffer.js';
import type { Reporter } from './types.js';

/** How often a daemon looks again; a one-shot pass looks once, at its start. */
const RECOVER_MS = 10_000;

/**
 * The daemon's periodic upkeep: batches a killed `trigger` committed, journals of finished
 * passes, orphaned runs. A daemon never restarts to see them.
 */
export async function recoverPhase(st: LoopState, now: number): Promise<void> {
  if (!st.o.daemon || now - st.timers.lastRecover <= RECOVER_MS) return;
  for (const why of await st.ctx.store.housekeep(st.me.token, isoInZone(now))) st.o.report({ type: 'note', message: why });
  st.summary.recovered += await recoverOrphans(st.ctx, st.o, st.me);
  st.timers.lastRecover = now;
}

/**
 * A running entry whose dispatcher is gone (pid + start time + boot no longer
 * match) is taken over: whatever is left of its handler is killed, the
 * execution is recorded as abandoned, and the entry retried per its policy.
 */
export async function recoverOrphans(ctx: Context, o: Reporter, me: Identity): Promise<number> {
  const { store } = ctx;
  let n = 0;
  for (const rec of await store.listRunning()) {
    if (rec.owner === me.token || (await store.ownerAlive(rec.owner))) continue;
    if (!(await store.takeOver(rec, me.token))) continue;
    await settleOrphan(ctx, rec, me, 'abandoned', `dispatcher ${rec.owner} is gone`);
    n++;
    o.report({ type: 'recovered', entry_id: rec.entry.entry_id, what: 'abandoned' });
  }
  return n;
}

const silent: Reporter = { report: () => undefined };

/** Ends a running entry nobody owns any more: kill leftovers, record, apply policy, release. */
export async function settleOrphan(
  ctx: Context,
  rec: RunningRecord,
  me: Identity,
  status: 'abandoned' | 'cancelled',
  why: string,
): Promise<void> {
  const { store, clock } = ctx;
  const e = rec.entry;
  const executionId = `${e.entry_id}.${e.runs + 1}`;
  for (const pid of pidsWithEnv('CONDUCTOR_EXECUTION_ID', executionId)) killGroup(pid, 'SIGKILL');
  const done = await store.getExecution(executionId);
  if (done) {
    // Recorded, but the dispatcher died before the retry or dead letter was written.
    const failed = done.status === 'failed' || done.status === 'timeout' || done.status === 'abandoned';
    if (failed && !(await store.entryIsLive(e.entry_id, me.token))) {
      await afterExecution(ctx, e, await store.readSchedule(e.task_id), done, new StatsBuffer(ctx), silent);
    }
  } else {
    const log = store.logPath(executionId);
    const x = endedWithoutRun(e, status, why, clock(), fs.existsSync(log) ? log : null);
    await store.recordExecution(x);
    const s = await store.readSchedule(e.task_id);
    const stats = new StatsBuffer(ctx);
    await afterExecution(ctx, e, s, x, stats, silent);
    await stats.flush();
  }
  await store.releaseRunning(e.entry_id, me.token);
  await store.clearCancel(e.entry_id);
}
