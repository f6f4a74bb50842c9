// The documents the API answers with: the same JSON as the CLI's --json (see CLI.md). Only the
// fields the dashboard reads are named; the server may send more.

export type Scope = 'read' | 'operate' | 'admin';

export interface Session {
  name: string;
  scope: Scope;
  csrf: string;
  expires_at: string | null;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface Schedule {
  task_id: string;
  task_name: string;
  handler: string;
  schedule_type: 'cron' | 'interval' | 'event' | 'once';
  schedule_expr: string;
  description?: string | null;
  priority: number;
  enabled: boolean;
  tz: string;
  timeout: string | null;
  retry_policy: string;
  retries: number | null;
  overlap: string;
  catch_up: string;
  depends_on: string[];
  last_executed: string | null;
  next_execution: string | null;
  execution_count: number;
  failure_count: number;
  average_duration_ms: number;
  breaker_state: BreakerState;
  estimated_cpu_percent: number;
  estimated_memory_percent: number;
}

export interface NextRuns {
  task_id: string;
  schedule_type: string;
  tz: string;
  description: string | null;
  runs: { at: string; dst: null | 'gap' | 'repeat' }[];
}

export type RunStatus = 'success' | 'failed' | 'timeout' | 'cancelled' | 'abandoned' | 'skipped';

export interface Execution {
  execution_id: string;
  entry_id: string;
  task_id: string;
  attempt: number;
  status: RunStatus;
  exit_code: number | null;
  signal: string | null;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  peak_cpu_percent: number | null;
  peak_memory_mb: number | null;
  error: string | null;
  event: string | null;
  scheduled_for: string | null;
}

export interface QueueRow {
  entry_id: string;
  task_id: string;
  priority: number;
  effective_priority: number;
  enqueued_at: string;
  estimated_cpu_percent: number;
  estimated_memory_percent: number;
  status: 'queued' | 'running';
  attempt: number;
  max_attempts: number | null;
  not_before: string | null;
  source: string;
  group?: string | null;
  after?: string[];
  started_at?: string | null;
  execution_id?: string | null;
  blocked_reason?: string;
}

export interface DeadLetter {
  entry_id: string;
  task_id: string;
  priority: number;
  enqueued_at: string;
  attempt: number;
  max_attempts: number;
  /** How many runs the entry had: its last run's execution id is `${entry_id}.${runs}`. */
  runs: number;
  dead_at: string;
  last_exit_code: number | null;
  last_error: string | null;
  log_tail: string;
}

export interface Stats {
  schedules: number;
  enabled: number;
  queued: number;
  executing: number;
  completed: number;
  failed: number;
  dlq: number;
  breakers_open: number;
  paused: boolean;
}

export interface Load {
  cpu_percent: number | null;
  memory_percent: number | null;
  max_cpu: number | null;
  max_mem: number | null;
  last_pass_at: string | null;
  last_pass_mode: string | null;
}

/** What GET /stream sends, one server-sent event per change. */
export interface StreamEvent {
  type: 'queued' | 'started' | 'finished';
  entry_id: string;
  task_id: string;
  execution_id?: string;
  status?: RunStatus;
  at: string;
}
