-- 003: the queue's ranking fields as real columns, so that SQL can rank and
-- filter; the `name` column (the file store's file name, which listing
-- parsed priority, attempt and not-before back out of) is dropped.
--
-- Existing rows are converted from their names, so they rank exactly as
-- before: name = <entry_id>~p<priority>~a<attempt>~<source code>[g]~n<not_before ms>~<task_id>.json,
-- source codes m(anual) s(chedule) e(vent) r(etry) d(lq-retry), g = in a run group.
-- enqueued_at is the time the entry id begins with (9 base-36 digits of
-- milliseconds), as it was for listing. A row whose name is not in that form
-- was set aside by every listing; it is set aside here, into the quarantine.
-- The checks refuse, at insert, any row that could not be ranked.

ALTER TABLE conductor.queue
  ADD COLUMN priority smallint,
  ADD COLUMN attempt integer,
  ADD COLUMN not_before timestamptz,
  ADD COLUMN enqueued_at timestamptz,
  ADD COLUMN source text,
  ADD COLUMN from_schedule boolean,
  ADD COLUMN grouped boolean;

CREATE TEMPORARY TABLE queue_names ON COMMIT DROP AS
  SELECT entry_id, regexp_match(name,
    '^([A-Za-z0-9][A-Za-z0-9._-]{0,63})~p([1-9]|10)~a([1-9][0-9]{0,5})~([mserd])(g?)~n([0-9]{1,16})~([A-Za-z0-9][A-Za-z0-9._-]{0,63})\.json$') AS m
  FROM conductor.queue;

-- Not in form, naming another entry, or a not-before past the last representable time.
INSERT INTO conductor.quarantine (source, reason, body)
  SELECT 'queue/' || q.entry_id, 'not a queue entry (its name is not in conductor''s form)', q.body::text
  FROM conductor.queue q JOIN queue_names n USING (entry_id)
  WHERE n.m IS NULL OR n.m[1] <> q.entry_id OR n.m[6]::numeric > 8640000000000000;
DELETE FROM conductor.queue q USING queue_names n
  WHERE n.entry_id = q.entry_id AND (n.m IS NULL OR n.m[1] <> q.entry_id OR n.m[6]::numeric > 8640000000000000);

UPDATE conductor.queue q SET
  priority = n.m[2]::smallint,
  attempt = n.m[3]::integer,
  source = CASE n.m[4] WHEN 's' THEN 'schedule' WHEN 'e' THEN 'event' WHEN 'r' THEN 'retry' WHEN 'd' THEN 'dlq-retry' ELSE 'manual' END,
  from_schedule = n.m[4] = 's',
  grouped = n.m[5] = 'g',
  not_before = CASE WHEN n.m[6]::numeric > 0 THEN to_timestamp(n.m[6]::numeric / 1000) END,
  task_id = n.m[7],
  -- parseInt(first 9 characters, 36): the longest base-36 prefix of them.
  enqueued_at = to_timestamp((
    SELECT sum((strpos('0123456789abcdefghijklmnopqrstuvwxyz', substr(d.digits, i, 1)) - 1)::numeric * 36::numeric ^ (length(d.digits) - i))
    FROM (SELECT lower(substring(q.entry_id FROM '^[0-9A-Za-z]{1,9}')) AS digits) d, generate_series(1, length(d.digits)) i
  ) / 1000)
  FROM queue_names n WHERE n.entry_id = q.entry_id;

ALTER TABLE conductor.queue
  DROP COLUMN name,
  ALTER COLUMN priority SET NOT NULL,
  ALTER COLUMN attempt SET NOT NULL,
  ALTER COLUMN enqueued_at SET NOT NULL,
  ALTER COLUMN source SET NOT NULL,
  ALTER COLUMN from_schedule SET NOT NULL,
  ALTER COLUMN grouped SET NOT NULL,
  ADD CONSTRAINT queue_entry_id CHECK (entry_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  ADD CONSTRAINT queue_task_id CHECK (task_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  ADD CONSTRAINT queue_priority CHECK (priority BETWEEN 1 AND 10),
  ADD CONSTRAINT queue_attempt CHECK (attempt >= 1),
  ADD CONSTRAINT queue_source CHECK (source IN ('manual', 'schedule', 'event', 'retry', 'dlq-retry')),
  ADD CONSTRAINT queue_from_schedule CHECK (from_schedule = (source = 'schedule'));

-- The order the dispatcher ranks in before aging: priority, then first come.
CREATE INDEX queue_rank ON conductor.queue (priority DESC, enqueued_at, entry_id);
