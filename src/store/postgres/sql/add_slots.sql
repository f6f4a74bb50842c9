-- Makes run slots 1..$1 (integer, a dispatcher's --max-concurrent) exist, free
-- (005_slots.sql); slots already there are left as they are. Answers a row
-- for each slot it made.
INSERT INTO conductor.slots (slot) SELECT generate_series(1, $1::integer) ON CONFLICT DO NOTHING RETURNING slot
