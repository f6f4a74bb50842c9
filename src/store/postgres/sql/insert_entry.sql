-- Queues one entry, unless its id exists (then no row: the caller says so).
-- $1 entry_id, $2 task_id, $3 body (the entry as JSON), $4 priority,
-- $5 attempt, $6 not_before in ms since the epoch or null, $7 enqueued_at in
-- ms (the time the entry id begins with), $8 source, $9 in a run group.
-- A queued entry notifies the channel conductor_queue in the same transaction
-- as its insert: the notice is delivered when the entry is committed, and a
-- daemon LISTENing there (listen.ts) starts it at once rather than at its tick.
WITH queued AS (
  INSERT INTO conductor.queue (entry_id, task_id, body, priority, attempt, not_before, enqueued_at, source, from_schedule, grouped)
  VALUES ($1, $2, $3, $4, $5, to_timestamp($6::double precision / 1000), to_timestamp($7::double precision / 1000), $8, $8 = 'schedule', $9)
  ON CONFLICT DO NOTHING
  RETURNING entry_id
)
SELECT entry_id, pg_notify('conductor_queue', '') FROM queued
