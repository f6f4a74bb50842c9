-- Deletes the executions that finished before $1 (timestamptz), except the
-- $2 newest of each task (newest as `history` orders them), and returns
-- what went: the id, the bytes of its output and of its record, and what the
-- metrics count of it (task, status, duration: store/tally.ts).
WITH ranked AS (
  SELECT execution_id, finished_at,
         row_number() OVER (PARTITION BY task_id
                            ORDER BY started_at DESC, finished_at DESC, execution_id COLLATE "C" DESC) AS newest
  FROM conductor.executions
)
DELETE FROM conductor.executions x USING ranked r
WHERE x.execution_id = r.execution_id AND r.finished_at < $1 AND r.newest > $2
RETURNING x.execution_id, coalesce(octet_length(x.output), 0) AS output_bytes, octet_length(x.body::text) AS record_bytes,
          x.task_id, x.body->>'status' AS status, coalesce(greatest((x.body->>'duration_ms')::float8, 0), 0) AS duration_ms
