import type { Store } from './store/store.js';
import type { Clock } from './time.js';

/** What every command works with: the store and the clock, passed in rather than global. */
export interface Context {
  store: Store;
  clock: Clock;
  /**
   * How deep a chain of events may go (CONDUCTOR_MAX_EVENT_DEPTH): read by the CLI, carried
   * here because the dispatcher triggers lifecycle events with the context it was given.
   * Absent: the default cap.
   */
  maxEventDepth?: number;
}
