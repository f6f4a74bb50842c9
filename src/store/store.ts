import type { StoreBase, StoreRoles } from './roles.js';

export type {
  AccessStore,
  Awaitable,
  BreakerRecord,
  BreakerStore,
  DeadLetterStore,
  DispatcherRegistry,
  EventRecord,
  HistoryStore,
  HookRecord,
  MaintenanceStore,
  Problem,
  PromotionPlan,
  PruneCount,
  PruneRequest,
  QueueStore,
  RetentionStore,
  RetiredCounters,
  RunningRecord,
  RunningStore,
  ScheduleStore,
  Settlement,
  Scope,
  StateStore,
  StoreFinding,
  TokenRecord,
} from './roles.js';
export { SCOPES } from './roles.js';
export { newBreaker, retiredCountersOf, retiredKey } from './policy.js';

/**
 * The one interface the scheduling core works through: every role of
 * roles.ts. Two backends: the file store (a home directory, one host;
 * file/) and the PostgreSQL store (several hosts on one database;
 * postgres/). Both pass the same conformance suite (test/store/).
 */
export interface Store extends StoreBase, StoreRoles {}
