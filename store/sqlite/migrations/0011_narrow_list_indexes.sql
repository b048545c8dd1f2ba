-- 0011: narrower list indexes. An offset skips index entries, so their width
-- is the cost of a deep page: the workspace and library columns of 0008's
-- indexes (72 bytes of ids an entry) are left out, as the listing checks
-- once, not per row, that the folder or library is the workspace's.

DROP INDEX items_children_list;
DROP INDEX items_library_list;
CREATE INDEX items_children_list ON items (parent_id, name, scope, owner, hidden, type);
CREATE INDEX items_library_list ON items (library_id, path, scope, owner, hidden, type);
