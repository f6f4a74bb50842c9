// Upkeep done every round beside the real work: the liveness signs other processes judge us by,
// cancel requests for our runs, and whether the home is paused.
import { prune, pruneSummary } from '../app/prune.js';
import { messageOf } from '../errors.js';
import { FORMAT } from '../model.js';
import { isoInZone } from '../time.js';
import type { LoopState } from './state.js';
import type { Summary } from './types.js';

/** The heartbeat document (for `status` and `health`) is rewritten at most this often. */
const HEARTBEAT_MS = 5000;
/** `cancel` waits for us to act; it polls, so looking four times a second is plenty. */
const CANCEL_CHECK_MS = 250;
const PAUSE_CHECK_MS = 250;
/** --retain prunes at start and then this often: history grows by the day, an hour is prompt enough. */
const PRUNE_EVERY_MS = 3_600_000;

export async function heartbeatPhase(st: LoopState, now: number): Promise<void> {
  await st.ctx.store.heartbeat(st.me.token);
  if (now - st.timers.lastHeartbeat > HEARTBEAT_MS) {
    await writeHeartbeat(st, now);
    st.timers.lastHeartbeat = now;
  }
}

/** The heartbeat document; the last one of a pass carries its summary. */
export async function writeHeartbeat(st: LoopState, now: number, summary?: Summary): Promise<void> {
  const doc = {
    format: FORMAT,
    at: isoInZone(now),
    pid: process.pid,
    host: st.me.host,
    mode: st.o.daemon ? 'daemon' : 'pass',
    max_cpu: st.o.limits.maxCpu,
    max_mem: st.o.limits.maxMem,
  };
  await st.ctx.store.writeState('heartbeat', summary === undefined ? doc : { ...doc, summary });
}

export async function cancelPhase(st: LoopState, now: number): Promise<void> {
  if (st.active.size === 0 || now - st.timers.lastCancelCheck < CANCEL_CHECK_MS) return;
  for (const id of await st.ctx.store.cancelRequests()) st.active.get(id)?.run.stop('cancel');
  st.timers.lastCancelCheck = now;
}

/** A paused home starts nothing; runs already going finish. Read again if the clock went back. */
export async function pausePhase(st: LoopState, now: number): Promise<void> {
  const t = st.timers;
  if (now - t.pausedAt >= PAUSE_CHECK_MS || now < t.pausedAt) {
    t.paused = await st.ctx.store.isPaused();
    t.pausedAt = now;
  }
}

/** The daemon's --retain: a prune at start, then about hourly (a clock that went back prunes again). */
export async function retainPhase(st: LoopState, now: number): Promise<void> {
  const plan = st.o.retain;
  const last = st.timers.lastPrune;
  // Hourly, or twice per retention period when that is shorter (a minute's retention is a minute's).
  const every = plan ? Math.min(PRUNE_EVERY_MS, Math.max(1000, plan.olderThanMs / 2)) : PRUNE_EVERY_MS;
  if (!plan || (last !== null && now >= last && now - last < every)) return;
  st.timers.lastPrune = now;
  try {
    const r = await prune(st.ctx, plan, st.me.token);
    if (r.executions || r.logs || r.events) st.o.report({ type: 'note', message: pruneSummary(r) });
  } catch (err) {
    // Retention must never stop the daemon: said once, tried again in an hour.
    st.o.report({ type: 'note', message: `prune failed (tried again in an hour): ${messageOf(err)}` });
  }
}
