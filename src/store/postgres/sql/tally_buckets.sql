-- The metrics' duration histogram (store/tally.ts): runs that ran (every
-- status but skipped) per bucket. $1 float8[]: the buckets' inclusive upper
-- bounds in ms, each plus 0.5 (durations are whole ms), so that width_bucket's
-- "at or above a bound" index is the first bound a duration does not exceed.
SELECT width_bucket(greatest((body->>'duration_ms')::float8, 0), $1::float8[]) AS bucket, count(*)::bigint AS count
FROM conductor.executions
WHERE body->>'status' <> 'skipped'
GROUP BY 1
