-- 0012: a generation for every list, so a listing may remember where its
-- pages start. A deep offset otherwise counts index entries from the
-- start; with the key of every 512th row remembered it reads at most 512.
-- A remembered position is good only while the list has not changed, and
-- the list may be changed by any process sharing this file, so the change
-- is recorded here, by triggers, in the transaction that makes it: every
-- insert, delete, and update of a column that orders, filters or places an
-- item bumps the generation of its folder (parent_id) and of its library
-- (the recursive list). A list without a row is at generation 0.
--
-- Rows are never deleted, so a generation never repeats for a key (ids are
-- never reused, but a snapshot restore puts items back with their ids).
-- The triggers cost ≈ 4 µs an item written (measured: 100,000 item inserts
-- in 10 transactions, 1.9 s without them, 2.3 s with; a plain UPDATE of
-- rows made with each folder cost the same as the upsert).

CREATE TABLE list_gens (
	key TEXT NOT NULL PRIMARY KEY,
	gen INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TRIGGER items_gen_ai AFTER INSERT ON items BEGIN
	INSERT INTO list_gens (key, gen) SELECT NEW.parent_id, 1 WHERE NEW.parent_id IS NOT NULL
		ON CONFLICT (key) DO UPDATE SET gen = gen + 1;
	INSERT INTO list_gens (key, gen) VALUES (NEW.library_id, 1)
		ON CONFLICT (key) DO UPDATE SET gen = gen + 1;
END;

CREATE TRIGGER items_gen_ad AFTER DELETE ON items BEGIN
	INSERT INTO list_gens (key, gen) SELECT OLD.parent_id, 1 WHERE OLD.parent_id IS NOT NULL
		ON CONFLICT (key) DO UPDATE SET gen = gen + 1;
	INSERT INTO list_gens (key, gen) VALUES (OLD.library_id, 1)
		ON CONFLICT (key) DO UPDATE SET gen = gen + 1;
END;

CREATE TRIGGER items_gen_au AFTER UPDATE OF parent_id, library_id, name, path, scope, owner, hidden, type ON items
WHEN OLD.parent_id IS NOT NEW.parent_id OR OLD.library_id IS NOT NEW.library_id OR OLD.name IS NOT NEW.name
	OR OLD.path IS NOT NEW.path OR OLD.scope IS NOT NEW.scope OR OLD.owner IS NOT NEW.owner
	OR OLD.hidden IS NOT NEW.hidden OR OLD.type IS NOT NEW.type
BEGIN
	INSERT INTO list_gens (key, gen) SELECT OLD.parent_id, 1 WHERE OLD.parent_id IS NOT NULL
		ON CONFLICT (key) DO UPDATE SET gen = gen + 1;
	INSERT INTO list_gens (key, gen) SELECT NEW.parent_id, 1 WHERE NEW.parent_id IS NOT NULL AND NEW.parent_id IS NOT OLD.parent_id
		ON CONFLICT (key) DO UPDATE SET gen = gen + 1;
	INSERT INTO list_gens (key, gen) VALUES (OLD.library_id, 1)
		ON CONFLICT (key) DO UPDATE SET gen = gen + 1;
	INSERT INTO list_gens (key, gen) SELECT NEW.library_id, 1 WHERE NEW.library_id IS NOT OLD.library_id
		ON CONFLICT (key) DO UPDATE SET gen = gen + 1;
END;
