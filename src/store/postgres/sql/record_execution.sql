-- Records one execution and, in the same statement (one transaction), may
-- release its run: the running row goes, and with it the run's slot
-- (005_slots.sql).
--
-- $1 execution_id, $2 task_id, $3 started_at, $4 finished_at (ISO text),
-- $5 body (the execution record as JSON), $6 output (the bytes captured, or
-- null), $7 entry_id and $8 owner of the run to release, or nulls to keep it.
--
-- A record already there is left as it is (no row answered): the caller
-- tells a repeated write of the same record from a second, different one.
-- The release happens either way: the run has a record.
WITH released AS (
  DELETE FROM conductor.running WHERE entry_id = $7 AND owner = $8
)
INSERT INTO conductor.executions (execution_id, task_id, started_at, finished_at, body, output)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (execution_id) DO NOTHING
RETURNING 1 AS recorded
