-- Queues a batch of entries in one statement; an entry whose id is already
-- queued is left out (no row for it: the caller decides whether that fails
-- the whole batch, as enqueueAll does, or is expected, as promotion's is).
-- Every parameter is an array with one element per entry, in the same order:
-- $1 entry_id text[], $2 task_id text[], $3 body (the entry as JSON) text[],
-- $4 priority int[], $5 attempt int[], $6 not_before in ms since the epoch
-- (elements may be null) float8[], $7 enqueued_at in ms (the time the entry id
-- begins with) float8[], $8 source text[], $9 in a run group boolean[].
-- Answers one row, `queued` the ids inserted, or no row when none was. The
-- channel conductor_queue is notified once per statement (not per row), in
-- the same transaction as the insert: the notice is delivered at commit and a
-- daemon LISTENing there (listen.ts) starts the entries at once.
WITH batch AS (
  SELECT *
  FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::int[], $5::int[], $6::float8[], $7::float8[], $8::text[], $9::boolean[])
    AS b(entry_id, task_id, body, priority, attempt, not_before_ms, enqueued_ms, source, grouped)
),
queued AS (
  INSERT INTO conductor.queue (entry_id, task_id, body, priority, attempt, not_before, enqueued_at, source, from_schedule, grouped)
  SELECT entry_id, task_id, body, priority, attempt, to_timestamp(not_before_ms / 1000), to_timestamp(enqueued_ms / 1000),
         source, source = 'schedule', grouped
  FROM batch
  ON CONFLICT DO NOTHING
  RETURNING entry_id
)
SELECT array_agg(entry_id) AS queued, pg_notify('conductor_queue', '') FROM queued HAVING count(*) > 0
