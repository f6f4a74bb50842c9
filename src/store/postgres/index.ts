import type { Checks } from '../check.js';
import type { StoreRoles } from '../roles.js';
import type { Store } from '../store.js';
import { pgAccess } from './access.js';
import { pgBreakers } from './breakers.js';
import { pgRegistry } from './dispatchers.js';
import { pgDeadLetters } from './dlq.js';
import { pgHistory } from './history.js';
import { pgMaintenance } from './maintenance.js';
import { pgRetention } from './prune.js';
import { pgQueue } from './queue.js';
import { pgRunning } from './running.js';
import { pgSchedules } from './schedules.js';
import { PgSession } from './session.js';
import { pgState } from './state.js';

export { redact } from './session.js';

/**
 * The PostgreSQL store: the same records as the file store, as rows, so that
 * dispatchers on several hosts share one queue. Each role lives in its own
 * file over one PgSession (session.ts); this puts them together.
 */
export interface PgStore extends Store {}
export class PgStore {
  readonly kind = 'postgres' as const;

  /** `checks`: how deeply schedules are checked when read (see Checks); every row is checked. */
  constructor(home: string, url: string, checks: Checks = 'full', leaseMs?: number) {
    const s = new PgSession(home, url, checks, leaseMs);
    const roles: StoreRoles = {
      ...pgMaintenance(s),
      ...pgRegistry(s),
      ...pgSchedules(s),
      ...pgQueue(s),
      ...pgRunning(s),
      ...pgHistory(s),
      ...pgRetention(s),
      ...pgDeadLetters(s),
      ...pgBreakers(s),
      ...pgState(s),
      ...pgAccess(s),
    };
    Object.assign(this, roles, { home: s.home, problems: s.problems, location: s.location });
  }
}
