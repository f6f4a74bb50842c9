-- Claims queued entries for a dispatcher in one statement (one round trip,
-- one commit), without a global lock: each claimed entry takes a free run
-- slot (005_slots.sql) and moves from conductor.queue to conductor.running.
--
-- $1 text[]  candidate entry ids, in the dispatcher's rank order (effective
--            priority with aging, then first come): the first ones that are
--            still queued and not being claimed by another dispatcher are
--            taken, as many as free slots allow.
-- $2 text    the owner (the dispatcher's token).
-- $3 integer its --max-concurrent: only slots 1..$3 may be taken.
-- $4 boolean it has no run of its own: finding no free slot, it waits for one
--            (a row in conductor.slot_waiters, so that a release notifies it:
--            005_slots.sql); claiming one, it no longer waits.
--
-- Rows locked by a concurrent claim are skipped (SKIP LOCKED), never waited
-- for: dispatchers that ranked the same head take the next entries instead.
-- A slot or an entry another claim committed meanwhile is seen as taken (FOR
-- UPDATE re-reads the newest row version), so slots are never shared.
-- Runs in slots above $3 (of a dispatcher with a higher limit, or from
-- before the limit was lowered) count against $3 too: at most $3 minus every
-- run found may start, as when the limit was a count of the running rows.
-- Answers one row: `free`, the free slots taken (0 means the limit is
-- reached on every host), and `claimed`, [{entry_id, body}] in rank order.
WITH busy AS (
  SELECT count(*) AS n FROM conductor.slots WHERE entry_id IS NOT NULL
),
free AS (
  SELECT slot, row_number() OVER (ORDER BY slot) AS n
  FROM (
    SELECT slot FROM conductor.slots
    WHERE slot <= $3 AND entry_id IS NULL
    ORDER BY slot
    LIMIT greatest(0, least(cardinality($1::text[]), $3 - (SELECT n FROM busy)))
    FOR UPDATE SKIP LOCKED
  ) f
),
picked AS (
  SELECT entry_id, task_id, body, row_number() OVER (ORDER BY array_position($1::text[], entry_id)) AS n
  FROM (
    SELECT entry_id, task_id, body FROM conductor.queue
    WHERE entry_id = ANY ($1::text[])
    ORDER BY array_position($1::text[], entry_id)
    LIMIT (SELECT count(*) FROM free)
    FOR UPDATE SKIP LOCKED
  ) p
),
pairs AS (
  SELECT p.entry_id, p.task_id, p.body, p.n, f.slot FROM picked p JOIN free f USING (n)
),
gone AS (
  DELETE FROM conductor.queue q USING pairs WHERE q.entry_id = pairs.entry_id
),
run AS (
  INSERT INTO conductor.running (entry_id, owner, task_id, body)
  SELECT entry_id, $2, task_id, body FROM pairs
),
took AS (
  UPDATE conductor.slots s SET entry_id = pairs.entry_id FROM pairs WHERE s.slot = pairs.slot
),
waits AS (
  INSERT INTO conductor.slot_waiters (owner) SELECT $2 WHERE $4::boolean AND NOT EXISTS (SELECT 1 FROM free)
  ON CONFLICT (owner) DO UPDATE SET since = now()
),
served AS (
  DELETE FROM conductor.slot_waiters WHERE owner = $2 AND EXISTS (SELECT 1 FROM pairs)
)
SELECT (SELECT count(*) FROM free)::int AS free,
       coalesce((SELECT json_agg(json_build_object('entry_id', entry_id, 'body', body) ORDER BY n) FROM pairs), '[]'::json) AS claimed
