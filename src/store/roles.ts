import type { DeadLetter, Entry, Execution, QueuedRef, Schedule } from '../model.js';
import type { GroupOutcome } from './policy.js';
import type { HistoryTally } from './tally.js';

/**
 * The store, one role at a time. A caller that needs only the queue (or only
 * history) can ask for that role; `Store` (store.ts) is all of them, which
 * both backends implement. A method may answer at once (files) or later (a
 * database round trip): callers always `await`.
 */
export type Awaitable<T> = T | Promise<T>;

/** Something in the state that could not be used and was set aside. */
export interface Problem {
  file: string;
  reason: string;
  moved_to: string | null;
}

export interface RunningRecord {
  entry: Entry;
  owner: string;
  /** Backend handle of the record (a path for files). */
  file: string;
}

export interface BreakerRecord {
  format: number;
  name: string;
  state: 'closed' | 'open' | 'half-open';
  consecutive_failures: number;
  opened_at: string | null;
  /** The entry allowed to run as the half-open trial. */
  trial_entry: string | null;
}

export interface EventRecord {
  at: string;
  event: string;
  payload: string | null;
  depth: number;
  queued: string[];
  note?: string;
}

export interface PromotionPlan {
  schedule: Schedule;
  /** New runs, upstream entries of a run group before their root. */
  fresh: Entry[];
  /** Runs an earlier promotion meant to queue: queued again only if they never were. */
  recover: Entry[];
}

/**
 * The counters of a deleted schedule, so that a home's totals never go down.
 * Keyed by task id and creation time: a schedule created again under the same
 * id is a new one, and a record whose schedule still exists (a crash between
 * writing it and deleting the schedule) is not counted.
 */
export interface RetiredCounters {
  format: number;
  task_id: string;
  created_at: string;
  /** The schedule's `incarnation` (schedules of older versions have none: their creation time serves). */
  incarnation?: string;
  execution_count: number;
  failure_count: number;
  average_duration_ms: number;
}

export interface StoreFinding {
  check: string;
  ok: boolean;
  message: string;
}

/** What every role shares: where the store is, and what it set aside during this command. */
export interface StoreBase {
  readonly kind: 'file' | 'postgres';
  /** The local directory: captured output while a handler runs, the daemon's pid file. */
  readonly home: string;
  /** Unusable records set aside during this command, for its report. */
  readonly problems: Problem[];
  /** Human-readable location (a path, or a database URL without its password). */
  readonly location: string;
}

/** Opening, trusting, upgrading and closing the store; upkeep and diagnostics. */
export interface MaintenanceStore {
  init(): Awaitable<void>;
  /**
   * Before `process` runs anything: throws (exit 1, saying why and the fix)
   * when the home is another user's or others can write into it; from then on
   * records another user wrote are not run.
   */
  trustForRun(): Awaitable<void>;
  /** Creates or upgrades the schema; returns [version before, version after]. */
  migrate(): Promise<[number, number]>;
  close(): Awaitable<void>;
  /** Start-of-pass upkeep: leftovers of killed writers, history of finished dispatchers. Returns what failed. */
  housekeep(me: string, nowIso: string): Awaitable<string[]>;
  /** Backend-specific health findings (permissions, stale locks, schema version...). */
  healthFindings(now: number): Awaitable<StoreFinding[]>;
  listQuarantine(): Awaitable<{ file: string; reason: string }[]>;
  /** Mutual exclusion across every process (and host) using the store. */
  withLock<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
}

/** Which dispatchers are alive: the owners of running entries. */
export interface DispatcherRegistry {
  /** Names the calling dispatcher (its owner token) and registers it as alive. */
  attach(owner: string): Awaitable<void>;
  /** Keeps the dispatcher's registration alive (a lease for shared stores). */
  heartbeat(owner: string): Awaitable<void>;
  /** False once the dispatcher that owns a running entry is known to be gone. */
  ownerAlive(owner: string): Awaitable<boolean>;
}

export interface ScheduleStore {
  readSchedule(id: string): Awaitable<Schedule | null>;
  scheduleExists(id: string): Awaitable<boolean>;
  listSchedules(): Awaitable<Schedule[]>;
  /** False if the id is taken. */
  createSchedule(s: Schedule): Awaitable<boolean>;
  /** Creates every schedule or none: false, with nothing created, if an id is taken. */
  createSchedules(list: Schedule[]): Awaitable<boolean>;
  /** Read-modify-write under a lock; `change` returns the new schedule or undefined to leave it. */
  updateSchedule(id: string, change: (s: Schedule) => Awaitable<Schedule | undefined>): Promise<Schedule | null>;
  /** Deletes a schedule, keeping its counters (see RetiredCounters) first. */
  deleteSchedule(id: string): Promise<boolean>;
  /**
   * Advances one schedule and queues the runs that made due as one step, as
   * every other caller sees it (under the schedule's lock or row lock): `plan`
   * gets the current schedule and answers the new one with the entries to
   * queue, or undefined to leave it. `recover` entries (of a promotion a crash
   * cut short) are queued only if they were never queued before.
   */
  promote(id: string, plan: (s: Schedule) => Awaitable<PromotionPlan | undefined>): Promise<Entry[]>;
  /** Counters of deleted schedules, including any whose schedule still exists (callers skip those). */
  retiredCounters(): Awaitable<RetiredCounters[]>;
}

/** What watchQueue saw: an entry queued, or a run slot freed. */
export type QueueChange = 'queued' | 'freed';

export interface QueueStore {
  /**
   * Claims enforce `maxRunning` over every host's runs (answering 'full'), so a dispatcher with
   * no run of its own asks the claim rather than its last count of the others' runs.
   */
  readonly claimsEnforceLimit?: boolean;
  /** False if the entry id exists. */
  enqueue(entry: Entry): Awaitable<boolean>;
  /**
   * Queues every entry or none (a trigger's listeners, a run group, a count):
   * an error leaves nothing queued, and a crash part-way is completed by the
   * next pass, never left half-done. Entry ids are new.
   */
  enqueueAll(entries: Entry[]): Awaitable<void>;
  listQueued(): Awaitable<QueuedRef[]>;
  readQueued(ref: QueuedRef): Awaitable<Entry | null>;
  /**
   * Moves a queued entry to running under `owner`; exactly one caller wins
   * (null for the others). A store that sees every host's runs enforces
   * `maxRunning` in the same step and answers 'full'.
   */
  claim(ref: QueuedRef, owner: string, maxRunning: number): Awaitable<Entry | null | 'full'>;
  /**
   * Claims the first of `refs` (in rank order) that no one else has, as many as the limit
   * allows, in one step where the store can (one round trip on PostgreSQL). `full`: the limit
   * was reached before every ref was tried. `idle`: the caller has no run of its own, so a store
   * whose limit spans hosts wakes it (watchQueue, 'freed') when a slot frees after it found none.
   */
  claimAll(refs: QueuedRef[], owner: string, maxRunning: number, idle?: boolean): Awaitable<{ entries: Entry[]; full: boolean }>;
  /** Takes a queued entry out (cancel, skip); exactly one of take/claim wins. */
  takeQueued(entryId: string, name?: string | null): Awaitable<Entry | null>;
  /**
   * Calls `onChange` soon after any process queued an entry (it may also call when nothing
   * changed), so that a daemon starts it at once instead of at its next tick; with 'freed' when
   * a run ended and freed its slot (a store whose limit spans hosts: another host's run). Best effort: it
   * never throws; what it cannot watch it says through `note`, and the tick finds the rest.
   * Returns what stops the watch.
   */
  watchQueue?(onChange: (what: QueueChange) => void, note: (message: string) => void): Awaitable<() => void>;
}

/** What ending a run writes (planned by dispatch/settle.ts). */
export interface Settlement {
  execution: Execution;
  /** The owner whose run is released. */
  owner: string;
  /** The retry (under the entry's own id: one already queued is left as it is), then lifecycle listeners. */
  queue: Entry[];
  deadLetter: DeadLetter | null;
  /** A run group member's final outcome. */
  outcome: GroupOutcome | null;
  /** A read-modify-write of the run's breaker, made under its lock. */
  breaker: { name: string; change: (b: BreakerRecord) => BreakerRecord | undefined } | null;
  /** The lifecycle event's record, when it had listeners. */
  event: EventRecord | null;
}

/** Entries being run, the owners holding them, and what their run groups and cancel requests say. */
export interface RunningStore {
  releaseRunning(entryId: string, owner: string): Awaitable<void>;
  /**
   * Ends a held run in one transaction: its record, what follows from it, and its release all
   * commit together or not at all. A store without transactions has none: the dispatcher then
   * writes them in order, the release last (dispatch/settle.ts).
   */
  settleRun?(p: Settlement): Promise<void>;
  /** The owner of every running entry. */
  runningOwners(): Awaitable<string[]>;
  listRunning(): Awaitable<RunningRecord[]>;
  /** Moves a running entry to a new owner (recovery); only one caller wins. */
  takeOver(rec: RunningRecord, newOwner: string): Awaitable<boolean>;
  /** Queued, running (other than under `exceptOwner`) or dead-lettered. */
  entryIsLive(entryId: string, exceptOwner?: string): Awaitable<boolean>;
  hasLiveEntryFor(taskId: string): Awaitable<boolean>;
  settleGroup(e: Entry, status: string, retrying: boolean): Awaitable<void>;
  groupResult(entryId: string): Awaitable<string | null>;
  requestCancel(entryId: string): Awaitable<void>;
  cancelRequests(): Awaitable<string[]>;
  clearCancel(entryId: string): Awaitable<void>;
}

export interface HistoryStore {
  /** Durable before it returns. */
  recordExecution(x: Execution): Promise<void>;
  getExecution(executionId: string): Awaitable<Execution | null>;
  executionExists(executionId: string): Awaitable<boolean>;
  /** Newest first. */
  listExecutions(filter?: { taskId?: string; limit?: number }): Awaitable<Execution[]>;
  /**
   * Counts and durations of every recorded execution (store/tally.ts), exact with listExecutions,
   * plus those prune removed: counters built from it never go down.
   */
  historyTally(): Awaitable<HistoryTally>;
  /** Where a handler's output is captured while it runs (always local). */
  logPath(executionId: string): string;
  /** Where the run's keeper records how it ended (always local; run/run-file.ts). */
  runFilePath(executionId: string): string;
  /** The folder of run files, swept of those nobody will read again. */
  runFilesDir(): string;
  /** The captured output of a recorded execution, the bytes as captured (empty if none). */
  readLog(x: Execution): Awaitable<Buffer>;
}

/** What `prune` asks for: records that finished before `cutoffMs`, but the `keep` newest of each task. */
export interface PruneRequest {
  cutoffMs: number;
  keep: number;
  /** The caller's owner token and the time of its clock: journals of finished dispatchers are folded first (files). */
  me: string;
  nowIso: string;
}

/** What `prune` removed. `bytes`: records, captured output and event lines, as stored. */
export interface PruneCount {
  executions: number;
  logs: number;
  events: number;
  bytes: number;
}

/** Retention: old history goes, on request; nothing queued, running or counted is touched. */
export interface RetentionStore {
  prune(o: PruneRequest): Promise<PruneCount>;
  /**
   * Hands this process's history written so far to the fold (file store: its journal is renamed
   * finished and a new one begun), so that a daemon's own old records can be pruned.
   */
  rotateHistory(): Awaitable<void>;
}

export interface DeadLetterStore {
  toDlq(d: DeadLetter): Awaitable<void>;
  listDlq(): Awaitable<DeadLetter[]>;
  takeDlq(entryId: string): Awaitable<DeadLetter | null>;
}

export interface BreakerStore {
  readBreaker(name: string): Awaitable<BreakerRecord | null>;
  listBreakers(): Awaitable<BreakerRecord[]>;
  updateBreaker(name: string, change: (b: BreakerRecord) => BreakerRecord | undefined): Promise<BreakerRecord>;
}

/** Pause, named state documents, the event log, the daemon's pid file. */
export interface StateStore {
  isPaused(): Awaitable<boolean>;
  setPaused(paused: boolean, at: string): Awaitable<void>;
  readState<T>(name: string): Awaitable<T | null>;
  writeState(name: string, value: unknown): Awaitable<void>;
  appendEvent(rec: EventRecord): Awaitable<void>;
  listEvents(limit: number): Awaitable<EventRecord[]>;
  /** The daemon's pid file (local: one daemon per home and host). */
  pidFile(): string;
}

/** What an API token may do over HTTP. */
export type Scope = 'read' | 'operate' | 'admin';
/** The scopes in order, each allowing more than the one before it. */
export const SCOPES: readonly Scope[] = ['read', 'operate', 'admin'];

/** An API token: its secret is never stored, only `sha256:<hex>` of it (app/tokens.ts says why that is enough). */
export interface TokenRecord {
  format: number;
  name: string;
  scope: Scope;
  hash: string;
  created_at: string;
  expires_at: string | null;
}

/**
 * A webhook: POST /hooks/<name> signed with its secret triggers `event`. The
 * secret itself is kept (owner-only file or a row): checking an HMAC needs it.
 */
export interface HookRecord {
  format: number;
  name: string;
  event: string;
  secret: string;
  created_at: string;
}

/** API tokens and webhooks of `conductor serve`, one record per name. */
export interface AccessStore {
  listTokens(): Awaitable<TokenRecord[]>;
  /** False if the name is taken. */
  createToken(t: TokenRecord): Awaitable<boolean>;
  /** False if there is no such token. */
  deleteToken(name: string): Awaitable<boolean>;
  listHooks(): Awaitable<HookRecord[]>;
  readHook(name: string): Awaitable<HookRecord | null>;
  /** False if the name is taken. */
  createHook(h: HookRecord): Awaitable<boolean>;
  /** False if there is no such hook. */
  deleteHook(name: string): Awaitable<boolean>;
}

/** Every role but the base: what a backend's role implementations add up to. */
export type StoreRoles = MaintenanceStore &
  DispatcherRegistry &
  ScheduleStore &
  QueueStore &
  RunningStore &
  HistoryStore &
  RetentionStore &
  DeadLetterStore &
  BreakerStore &
  StateStore &
  AccessStore;
