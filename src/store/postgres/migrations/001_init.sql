-- 001: the first schema. Bodies are the same JSON documents the file store
-- keeps; columns beside them exist for the queries that select on them.
-- (The queue's `name` was the file store's file name; 003 replaces it.)
CREATE TABLE conductor.schedules (task_id text PRIMARY KEY, body jsonb NOT NULL);
CREATE TABLE conductor.queue (
  entry_id text PRIMARY KEY, name text NOT NULL, task_id text NOT NULL, body jsonb NOT NULL
);
CREATE INDEX queue_task ON conductor.queue (task_id);
CREATE TABLE conductor.running (
  entry_id text PRIMARY KEY, owner text NOT NULL, task_id text NOT NULL, body jsonb NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX running_task ON conductor.running (task_id);
CREATE TABLE conductor.executions (
  execution_id text PRIMARY KEY, task_id text NOT NULL, started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL, body jsonb NOT NULL, output text
);
CREATE INDEX executions_started ON conductor.executions (started_at DESC, finished_at DESC, execution_id DESC);
CREATE INDEX executions_task ON conductor.executions (task_id, started_at DESC);
CREATE TABLE conductor.dlq (entry_id text PRIMARY KEY, body jsonb NOT NULL);
CREATE TABLE conductor.breakers (name text PRIMARY KEY, body jsonb NOT NULL);
CREATE TABLE conductor.outcomes (entry_id text PRIMARY KEY, status text NOT NULL);
CREATE TABLE conductor.cancels (entry_id text PRIMARY KEY, requested_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE conductor.state (name text PRIMARY KEY, body jsonb NOT NULL);
CREATE TABLE conductor.events (id bigserial PRIMARY KEY, body jsonb NOT NULL);
CREATE TABLE conductor.dispatchers (
  owner text PRIMARY KEY, host text NOT NULL, pid integer NOT NULL, seen_at timestamptz NOT NULL
);
CREATE TABLE conductor.quarantine (
  id bigserial PRIMARY KEY, source text NOT NULL, reason text NOT NULL, body text NOT NULL,
  moved_at timestamptz NOT NULL DEFAULT now()
);
