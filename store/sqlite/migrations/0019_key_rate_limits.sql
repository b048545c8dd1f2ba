-- 0019: a key's own request rate limit. rate_per_second is NULL when the
-- key follows the server's limit; 0 exempts the key. rate_burst is the
-- bucket's size (0 when rate_per_second is NULL or 0).
ALTER TABLE keys ADD COLUMN rate_per_second REAL;
ALTER TABLE keys ADD COLUMN rate_burst INTEGER NOT NULL DEFAULT 0;
