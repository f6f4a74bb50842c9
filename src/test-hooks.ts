import type { TestHooks } from './config.js';
import { standInForHost } from './run/proc.js';

/**
 * What the test suite may change in a process (Settings.testHooks), applied
 * once at start-up, before any identity is taken. Production sets none.
 */
export function applyTestHooks(hooks: TestHooks): void {
  // Several hosts on one machine: each dispatcher gets its own boot id.
  if (hooks.hostId) standInForHost(hooks.hostId);
}
