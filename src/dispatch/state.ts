// The loop's state, in one object the phases share (instead of a closure's locals): each group
// is owned by the phase named beside it.
import type { Context } from '../context.js';
import type { BreakerRecord } from '../store/store.js';
import type { QueuedRef, Schedule } from '../model.js';
import type { Readings } from '../queue/admission.js';
import type { Identity } from '../run/proc.js';
import type { Sampler } from '../run/sampler.js';
import { BlockedState } from './blocked.js';
import { cachedProbe, createLoadWindow, type LoadWindow } from './load-window.js';
import { StatsBuffer } from './stats-buffer.js';
import { TtlCache } from './ttl-cache.js';
import { emptySummary, type Active, type DispatchOptions, type Host, type StopSignal, type Summary } from './types.js';

export type { Host } from './types.js';

/**
 * The ranked queue (select.ts). It is rebuilt from the store when something may have changed it
 * (our own retries and chained events, promotion) and at least every RELIST_MS for entries other
 * processes queue; between rebuilds each round walks the same ranking, skipping what was taken.
 */
export interface QueueView {
  ranked: QueuedRef[];
  /** Ids of the listing, kept only when it has run groups (their gates ask "still queued?"). */
  queuedIds: Set<string>;
  /** The concurrency limit is the home's, not one pass's: other dispatchers' runs, as of the listing. */
  othersRunning: number;
  taken: Set<string>;
  listedAt: number;
  needList: boolean;
  /** Only `othersRunning` is out of date (a claim found the home full, another host's run ended). */
  recount: boolean;
}

/** When the periodic phases last ran (loop.ts, promote.ts, upkeep.ts). */
export interface Timers {
  lastPromote: number;
  /** The daemon wakes at the earliest due time it knows of, not only on its tick. */
  nextDue: number | null;
  lastRecover: number;
  lastHeartbeat: number;
  lastCancelCheck: number;
  /** When --retain last pruned, by the context's clock (null: not yet). */
  lastPrune: number | null;
  paused: boolean;
  pausedAt: number;
  /** When a one-shot pass began waiting for load to fall (patienceMs). */
  loadWaitStart: number | null;
  /** When the first stop signal was seen (real time): --on-stop leave lingers a moment for a second. */
  stopSeenAt: number | null;
}

/** How a finished run or a signal cuts the nap short (idle.ts). */
export interface Wakeup {
  wake: (() => void) | null;
  /** A poke while the loop is busy (not napping) must not be lost: the next nap returns at once. */
  woken: boolean;
  /** Counts recorded runs: a round during which one was recorded is not proof of idleness. */
  generation: number;
}

export interface LoopState extends Begun {
  summary: Summary;
  active: Map<string, Active>;
  queue: QueueView;
  load: LoadWindow;
  readProbe: (now: number) => Readings;
  schedules: TtlCache<Schedule | null>;
  breakers: TtlCache<BreakerRecord | null>;
  /** A failure may open the run's breaker: its other entries wait until the failure is recorded. */
  breakerHeld: Map<string, number>;
  blocked: BlockedState;
  /** Entries whose estimate alone exceeds this pass's limits: `--wait` does not wait for them. */
  neverFits: Set<string>;
  stats: StatsBuffer;
  /** Runs whose handler exited and whose recording goes on beside new starts (finish.ts). */
  settling: Set<Promise<void>>;
  /** Runs that could not be recorded; the pass fails with them at its end. */
  failures: string[];
  timers: Timers;
}

/** The parts made before the pass's start-up upkeep (a signal during it must still wake the loop). */
export interface Begun {
  ctx: Context;
  o: DispatchOptions;
  stop: StopSignal;
  me: Identity;
  host: Host;
  sampler: Sampler;
  wakeup: Wakeup;
}

/** A wakeup that the stop signal's handler can poke. */
export function newWakeup(stop: StopSignal): Wakeup {
  const wakeup: Wakeup = { wake: null, woken: false, generation: 0 };
  stop.wake = () => poke(wakeup);
  return wakeup;
}

export async function openState(b: Begun): Promise<LoopState> {
  const { store, clock } = b.ctx;
  return {
    ...b,
    summary: emptySummary(),
    active: new Map(),
    queue: {
      ranked: [],
      queuedIds: new Set(),
      othersRunning: 0,
      taken: new Set(),
      listedAt: -Infinity,
      needList: true,
      recount: false,
    },
    load: createLoadWindow(),
    readProbe: cachedProbe(b.o.probe),
    schedules: new TtlCache(1000, (id) => store.readSchedule(id)),
    breakers: new TtlCache(1000, (name) => store.readBreaker(name)),
    breakerHeld: new Map(),
    blocked: await BlockedState.load(b.ctx),
    neverFits: new Set(),
    stats: new StatsBuffer(b.ctx),
    settling: new Set(),
    failures: [],
    timers: {
      lastPromote: -Infinity,
      nextDue: null,
      lastRecover: clock(),
      lastHeartbeat: -Infinity,
      lastCancelCheck: -Infinity,
      lastPrune: null,
      paused: false,
      pausedAt: -Infinity,
      loadWaitStart: null,
      stopSeenAt: null,
    },
  };
}

/** Ends the current nap at once, or makes the next one return at once. */
export function poke(w: Wakeup): void {
  w.woken = true;
  const wake = w.wake;
  w.wake = null;
  wake?.();
}

/** Runs counted against max-concurrent: ours and, as of the last listing, other dispatchers'. */
export function runningCount(st: LoopState): number {
  return st.active.size + st.queue.othersRunning;
}

/** One round's walk over the ranking (select.ts, start.ts) and what idle.ts judges it by. */
export interface Round {
  /** The generation when the round began: a run recorded meanwhile may have queued more. */
  genAtStart: number;
  startedNow: number;
  blockedByLoad: boolean;
  freshList: boolean;
  /** Read once a round, when the first entry gets as far as admission. */
  readings: Readings | null;
  /** An entry starving for load: nothing ranked below it may start. */
  reservedBy: string | null;
  /** Estimates of recent starts not yet in the readings, this round's included. */
  pending: { cpu: number; mem: number };
  /** Tasks with a run here (overlap: queue). */
  runningTasks: Set<string>;
}

export function newRound(st: LoopState): Round {
  return {
    genAtStart: st.wakeup.generation,
    startedNow: 0,
    blockedByLoad: false,
    freshList: false,
    readings: null,
    reservedBy: null,
    pending: { cpu: 0, mem: 0 },
    runningTasks: new Set(),
  };
}
