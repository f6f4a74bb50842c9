// Instant start: a loop that naps on the tick (a daemon, a --wait pass) also wakes when the store
// says an entry was queued (file store: a watch of queue/; PostgreSQL: LISTEN/NOTIFY), so what
// `queue`, `trigger`, the API or a webhook queue starts at once rather than at the next tick.
// The tick stays: for schedules that come due by time, and for whatever the watch missed.
import { poke, type LoopState } from './state.js';
import { ticks } from './types.js';
import type { QueueChange } from '../store/roles.js';

/**
 * Wake-ups closer together than this are merged into one: a burst of enqueues (or a storm of
 * notifications) costs at most one round per WAKE_GAP_MS, while the first after a quiet spell
 * is passed on at once.
 */
export const WAKE_GAP_MS = 20;

/** Starts watching the queue for the loop; returns what stops it (nothing to stop for a one-shot pass). */
export async function watchForWork(st: LoopState): Promise<() => void> {
  const { store } = st.ctx;
  if (!ticks(st.o) || !st.o.instant || !store.watchQueue) return () => undefined;
  let queued = false;
  const wake = coalesce(() => {
    // The ranking is rebuilt at once when an entry came (it is not in it); a freed slot needs only
    // a new count of the runs elsewhere, and only a dispatcher with no run of its own is woken for
    // it: the others' own runs end soon enough, and every dispatcher racing for each slot another
    // freed would cost a round trip apiece for one winner.
    const idle = st.active.size === 0;
    if (queued) st.queue.needList = true;
    else st.queue.recount = true;
    if (queued || idle) poke(st.wakeup);
    queued = false;
  }, WAKE_GAP_MS);
  const onChange = (what: QueueChange) => {
    if (what === 'queued') queued = true;
    wake.signal();
  };
  const unwatch = await store.watchQueue(onChange, (message) => st.o.report({ type: 'note', message }));
  return () => {
    unwatch();
    wake.cancel();
  };
}

/** Calls `fn` on the first signal at once, then at most once per `gapMs` however many signals come. */
export function coalesce(fn: () => void, gapMs: number): { signal: () => void; cancel: () => void } {
  let last = -Infinity;
  let timer: NodeJS.Timeout | null = null;
  const fire = () => {
    timer = null;
    last = performance.now();
    fn();
  };
  return {
    signal() {
      if (timer) return;
      const wait = last + gapMs - performance.now();
      if (wait <= 0) fire();
      else timer = setTimeout(fire, wait);
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
