-- 005: run slots, so that a claim needs no global lock. `--max-concurrent N`
-- is the number of slots a dispatcher may fill: slots 1..N. A claim takes a
-- free slot (FOR UPDATE SKIP LOCKED, in the same statement that moves the
-- entry to conductor.running), so concurrent claims on every host never hold
-- more slots than there are, and never wait on one another. A run's slot is
-- freed by deleting its running row (the foreign key sets it back to null),
-- whichever statement does that: release, quarantine, recovery. That also
-- notifies the queue channel (below), so that waiting dispatchers claim it.
--
-- Slot rows are made on demand (claim_entries.sql's caller adds 1..N when it
-- finds fewer). Runs of the version before each get a slot here, in claim
-- order, so that they still count against the limit.

CREATE TABLE conductor.slots (
  slot integer PRIMARY KEY CHECK (slot >= 1),
  entry_id text UNIQUE REFERENCES conductor.running (entry_id) ON DELETE SET NULL
);

INSERT INTO conductor.slots (slot, entry_id)
  SELECT row_number() OVER (ORDER BY claimed_at, entry_id), entry_id FROM conductor.running;

-- Dispatchers that found every slot taken while they had no run of their own
-- (claim_entries.sql keeps this: a row while it waits, refreshed by each
-- claim that finds the home full again, gone once it claims). Rows older than
-- WAIT_FRESH (10 s here and below) are of dispatchers that stopped waiting
-- another way (exited): they are ignored, and removed by housekeeping.
CREATE TABLE conductor.slot_waiters (owner text PRIMARY KEY, since timestamptz NOT NULL DEFAULT now());

-- A freed slot is news to a dispatcher waiting for one, on any host: deleting
-- running rows notifies the queue's channel (as queueing does, insert_entries.sql,
-- but with the payload 'freed': the queue is as it was, only the count of runs
-- changed), once per statement that deleted any, and only while a dispatcher
-- waits (a notification wakes every listening connection: one per release
-- would cost every dispatcher a wake-up per run of every other).
CREATE FUNCTION conductor.notify_slots_freed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM freed)
     AND EXISTS (SELECT 1 FROM conductor.slot_waiters WHERE since > now() - interval '10 seconds') THEN
    PERFORM pg_notify('conductor_queue', 'freed');
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER running_freed AFTER DELETE ON conductor.running
  REFERENCING OLD TABLE AS freed
  FOR EACH STATEMENT EXECUTE FUNCTION conductor.notify_slots_freed();
