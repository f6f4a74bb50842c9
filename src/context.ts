import type { Store } from './store/store.js';
import type { Clock } from './time.js';

/** What every command works with: the store and the clock, passed in rather than global. */
export interface Context {
  store: Store;
  clock: Clock;
}
