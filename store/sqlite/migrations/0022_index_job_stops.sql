-- 0022: an index job counts the claims it was taken back from: each time its
-- worker stopped while running it (killed, out of memory, stuck past its
-- lease), its next claim finds it running with its lease ended. The
-- indexer runs such a job alone, and names the count when it gives up.

ALTER TABLE index_jobs ADD COLUMN stops INTEGER NOT NULL DEFAULT 0;
