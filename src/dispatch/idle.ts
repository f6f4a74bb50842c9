// Idle: after a round, decide whether the pass is over, and nap until the next round is worth
// running (a run exited, a signal came, a due time or the tick arrived).
import type { LoopState, Round } from './state.js';
import { ticks } from './types.js';

/**
 * With nothing running: a stop signal ends the pass; a one-shot pass ends once a round with a
 * fresh listing started nothing and no run was recorded meanwhile (`settled`), but when load is
 * what holds its entries it first waits up to `patienceMs` for the load to fall.
 */
export function idleOutcome(i: {
  stopping: boolean;
  daemon: boolean;
  startedNow: number;
  settled: boolean;
  blockedByLoad: boolean;
  loadWaitStart: number | null;
  now: number;
  patienceMs: number;
}): { over: boolean; loadWaitStart: number | null } {
  if (i.stopping) return { over: true, loadWaitStart: i.loadWaitStart };
  if (i.daemon || i.startedNow > 0 || !i.settled) return { over: false, loadWaitStart: i.loadWaitStart };
  if (!i.blockedByLoad) return { over: true, loadWaitStart: i.loadWaitStart };
  const since = i.loadWaitStart ?? i.now;
  return { over: i.now - since >= i.patienceMs, loadWaitStart: since };
}

/** How long to nap: a daemon to its tick or the next due time; a pass looks again sooner under load. */
export function napMs(daemon: boolean, tickMs: number, blockedByLoad: boolean, nextDue: number | null, now: number): number {
  const nap = daemon ? tickMs : blockedByLoad ? 250 : 1000;
  return daemon && nextDue !== null ? Math.max(0, Math.min(nap, nextDue - now)) : nap;
}

/**
 * The end of a round: on a stop signal leave the runs to their keepers (or stop them, as asked),
 * wait out recordings, and judge idleness. True: the pass is over. `--no-wait` judges as if
 * nothing were running: what still runs is left to its keeper and the next dispatcher.
 */
export async function passOver(st: LoopState, round: Round, now: number): Promise<boolean> {
  const { stop, o } = st;
  if (o.wait?.untilMs != null && now >= o.wait.untilMs && !stop.stopping) {
    st.summary.timed_out = true;
    stop.stopping = true;
  }
  // A paused home starts nothing until someone resumes it: --wait says so now rather than at its timeout.
  if (o.wait && st.timers.paused) stop.stopping = true;
  if (stop.killing || (stop.stopping && o.onStop === 'stop')) for (const a of st.active.values()) a.run.stop('shutdown');
  if (stop.stopping && !stop.killing && o.onStop === 'leave' && leaveNow(st)) return true;
  const waited = o.noWait ? 0 : st.active.size;
  if (waited === 0 && st.settling.size > 0) await Promise.all(st.settling);
  if (waited === 0) {
    const out = idleOutcome({
      stopping: st.stop.stopping,
      daemon: ticks(st.o),
      startedNow: round.startedNow,
      settled: round.genAtStart === st.wakeup.generation && (round.freshList || st.timers.paused),
      blockedByLoad: round.blockedByLoad,
      loadWaitStart: st.timers.loadWaitStart,
      now,
      patienceMs: st.o.patienceMs,
    });
    st.timers.loadWaitStart = out.loadWaitStart;
    if (out.over || (o.wait && !stop.stopping && (await drained(st, round)))) return true;
    if (o.wait && !stop.stopping && (await onlyNeverFits(st))) return true;
    // About to go idle: a one-shot pass looks at the store once more before deciding (a loop that
    // ticks lists again on its own, and --wait asks drained()).
    if (!round.freshList && !ticks(st.o)) st.queue.needList = true;
  }
  if (round.startedNow > 0) st.timers.loadWaitStart = null;
  return false;
}

/**
 * `--wait` is done: nothing queued (due, blocked or waiting to retry) and nothing running, on any
 * dispatcher. The round's own listing, when it made one, is the queue as it just was.
 */
async function drained(st: LoopState, round: Round): Promise<boolean> {
  const { store } = st.ctx;
  // Entries the last listing holds that nobody took yet: not drained (the periodic listing corrects
  // this), and nothing to ask the store. Then runs: while any goes on, the queue need not be listed.
  if (st.queue.ranked.some((r) => !st.queue.taken.has(r.entry_id))) return false;
  if ((await store.runningOwners()).length > 0) return false;
  return (round.freshList ? st.queue.ranked.length : (await store.listQueued()).length) === 0;
}

/** `--wait` would wait forever: all that is left never fits this pass's limits (said, then the pass ends). */
async function onlyNeverFits(st: LoopState): Promise<boolean> {
  const { store } = st.ctx;
  if (!st.neverFits.size || (await store.listRunning()).length > 0) return false;
  const left = await store.listQueued();
  if (!left.length || !left.every((r) => st.neverFits.has(r.entry_id))) return false;
  const names = left.slice(0, 3).map((r) => `${r.entry_id} (${r.task_id})`);
  st.o.report({
    type: 'note',
    message: `--wait gives up: ${names.join(', ')}${left.length > 3 ? ' and more' : ''} never fit this pass's --max-cpu/--max-mem`,
  });
  return true;
}

/**
 * With --on-stop leave the first signal ends the pass, but not before LEAVE_AFTER_MS while runs
 * go on: a second signal in that moment stops them (kill twice, as with `wait`), and runs that end
 * meanwhile are recorded here rather than adopted later.
 */
const LEAVE_AFTER_MS = 1000;

function leaveNow(st: LoopState): boolean {
  const t = st.timers;
  t.stopSeenAt ??= Date.now();
  return st.active.size === 0 || Date.now() - t.stopSeenAt >= LEAVE_AFTER_MS;
}

/** Naps, unless there is work to do at once: a poke came, a slot is free after starts, or a relist is due. */
export async function nap(st: LoopState, round: Round): Promise<void> {
  const w = st.wakeup;
  const ms = napMs(ticks(st.o), st.o.tickMs, round.blockedByLoad, st.timers.nextDue, st.ctx.clock());
  await new Promise<void>((resolve) => {
    const again =
      w.woken ||
      (round.startedNow > 0 && st.active.size < st.o.limits.maxConcurrent) ||
      ((st.o.noWait || st.active.size === 0) && st.queue.needList);
    w.woken = false;
    const t = setTimeout(resolve, again ? 0 : ms);
    w.wake = () => {
      clearTimeout(t);
      resolve();
    };
  });
  w.wake = null;
}
