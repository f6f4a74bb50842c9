import { FileStore } from './store/file-store.js';
import type { Clock } from './time.js';

/** What every command works with: the store and the clock, passed in rather than global. */
export interface Context {
  store: FileStore;
  clock: Clock;
}
