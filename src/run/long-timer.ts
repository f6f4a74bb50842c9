/** Node timers hold at most 2^31-1 ms (about 24.8 days); longer ones fire at once with a warning. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  clear(): void;
}

/** setTimeout for any duration: past Node's limit it is a chain of shorter timers. */
export function longTimeout(fn: () => void, ms: number): LongTimer {
  const due = performance.now() + ms;
  let t: NodeJS.Timeout;
  const arm = () => {
    const left = due - performance.now();
    t = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(0, left));
  };
  arm();
  return { clear: () => clearTimeout(t) };
}
