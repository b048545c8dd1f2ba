-- 0008: listing by position. Paging a folder (or a library) by offset
-- skips rows; these indexes hold every column the listing's conditions
-- read, so the skipped rows are counted in the index alone and only the
-- page's rows are read from the table.

CREATE INDEX items_children_list ON items (parent_id, name, workspace_id, library_id, scope, owner, hidden, type);
CREATE INDEX items_library_list ON items (library_id, path, workspace_id, parent_id, scope, owner, hidden, type);
