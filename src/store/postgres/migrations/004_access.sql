-- 004: API tokens and webhooks of `conductor serve`, one row per name, the
-- body the same JSON document the file store keeps under access/. A token's
-- row holds only the SHA-256 of its secret; a hook's row holds its secret,
-- which checking a request's HMAC needs (GitHub keeps its webhook secrets too).
CREATE TABLE conductor.tokens (name text PRIMARY KEY, body jsonb NOT NULL);
CREATE TABLE conductor.hooks (name text PRIMARY KEY, body jsonb NOT NULL);
