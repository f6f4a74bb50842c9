-- Was this entry ever queued: is it anywhere, or has it a record or an
-- outcome? Promotion queues again only runs that never were. $1 entry_id.
SELECT EXISTS (SELECT 1 FROM conductor.queue WHERE entry_id = $1)
    OR EXISTS (SELECT 1 FROM conductor.running WHERE entry_id = $1)
    OR EXISTS (SELECT 1 FROM conductor.dlq WHERE entry_id = $1)
    OR EXISTS (SELECT 1 FROM conductor.outcomes WHERE entry_id = $1)
    OR EXISTS (SELECT 1 FROM conductor.executions WHERE execution_id = $1 || '.1') AS seen
