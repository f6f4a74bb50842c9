-- Every queued entry as the dispatcher ranks it, from columns alone (no
-- body is read): times as ms since the epoch, in the order of queue_rank.
SELECT entry_id, task_id, priority, attempt, source, from_schedule, grouped,
       round(extract(epoch FROM enqueued_at) * 1000)::bigint AS enqueued_ms,
       round(extract(epoch FROM not_before) * 1000)::bigint AS not_before_ms
FROM conductor.queue
ORDER BY priority DESC, enqueued_at, entry_id
