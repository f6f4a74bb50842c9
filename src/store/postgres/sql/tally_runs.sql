-- The metrics' counters (store/tally.ts): executions per task and status with
-- their summed durations, exact with what `history` lists. No parameters.
SELECT task_id, body->>'status' AS status, count(*)::bigint AS count,
       coalesce(sum(greatest((body->>'duration_ms')::float8, 0)), 0)::float8 AS duration_ms
FROM conductor.executions
GROUP BY task_id, body->>'status'
