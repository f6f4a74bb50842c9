/** Shapes of what the store keeps. Every file carries `format` so a later version can migrate it. */

export const FORMAT = 1;

export type ScheduleType = 'cron' | 'interval' | 'event' | 'once';
export type RetryPolicy = 'none' | 'standard' | 'aggressive';
export type Overlap = 'skip' | 'queue' | 'allow';
export type CatchUp = 'once' | 'all' | 'none';
export type BreakerState = 'closed' | 'open' | 'half-open';
export type ExecStatus = 'success' | 'failed' | 'timeout' | 'cancelled' | 'abandoned' | 'skipped';

/** What a user defines (create options, a schedules file item). */
export interface Definition {
  task_id: string;
  task_name: string;
  handler: string;
  schedule_type: ScheduleType;
  schedule_expr: string;
  priority: number;
  enabled: boolean;
  circuit_breaker: string;
  retry_policy: RetryPolicy;
  retries: number | null;
  backoff: string | null;
  timeout: string | null;
  cpu: number;
  mem: number;
  tz: string;
  overlap: Overlap;
  catch_up: CatchUp;
  depends_on: string[];
  cwd: string | null;
  env: Record<string, string>;
  breaker_threshold: number;
  breaker_cooldown: string;
}

/** A stored schedule: the definition plus what running it has taught us. */
export interface Schedule extends Definition {
  format: number;
  created_at: string;
  updated_at: string;
  last_executed: string | null;
  next_execution: string | null;
  execution_count: number;
  failure_count: number;
  average_duration_ms: number;
  measured_cpu_percent: number | null;
  measured_memory_mb: number | null;
  /** Random, set at creation: this schedule, as against an earlier one of the same id. */
  incarnation?: string;
  /** For `once`: whether its single run has been queued. */
  once_fired?: boolean;
  /**
   * The entries a promotion is queueing, written before they are, so that a
   * crash in between is finished by the next pass (see Store.promote). Homes
   * of older versions hold `{entry_id, scheduled_for}` items instead.
   */
  pending?: (Entry | { entry_id: string; scheduled_for: string })[] | null;
}

export type EntrySource = 'manual' | 'schedule' | 'event' | 'retry' | 'dlq-retry';

export interface Entry {
  format: number;
  entry_id: string;
  task_id: string;
  priority: number;
  enqueued_at: string;
  estimated_cpu_percent: number;
  estimated_memory_percent: number;
  status: 'queued' | 'running';
  attempt: number;
  max_attempts: number;
  /** How many executions this entry has had, across DLQ retries (execution ids use it). */
  runs: number;
  not_before: string | null;
  source: EntrySource;
  scheduled_for: string | null;
  event: string | null;
  payload: string | null;
  event_depth: number;
  group: string | null;
  after: string[];
  last_error?: string | null;
  last_exit_code?: number | null;
  /** Filled in when claimed. */
  execution_id?: string;
  started_at?: string;
}

/**
 * What the queue's file names (or the queue table's columns) say about an
 * entry, so that listing, ranking, `status` and `stats` never open a file or
 * read a body: 100,000 entries cost one readdir (or one query).
 */
export interface QueuedRef {
  entry_id: string;
  task_id: string;
  priority: number;
  enqueued_ms: number;
  attempt: number;
  not_before_ms: number | null;
  source: EntrySource;
  /** Made by time (cron, interval, once): subject to the overlap policy. */
  from_schedule: boolean;
  /** Belongs to a run group (its record says which, and what it waits for). */
  grouped: boolean;
  /** The backend's handle: the queue file's name (file store), the entry id (PostgreSQL). */
  name: string;
}

export interface Execution {
  format: number;
  execution_id: string;
  entry_id: string;
  task_id: string;
  attempt: number;
  status: ExecStatus;
  exit_code: number | null;
  signal: string | null;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  peak_cpu_percent: number | null;
  peak_memory_mb: number | null;
  log: string | null;
  error: string | null;
  event: string | null;
  /** The due time of a run that time made (cron, interval, once). */
  scheduled_for?: string | null;
}

export interface DeadLetter extends Entry {
  dead_at: string;
  last_exit_code: number | null;
  last_error: string | null;
  log_tail: string;
}
