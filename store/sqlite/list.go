package sqlite

import (
	"context"
	"strings"

	"github.com/shelfmem/shelf"
)

// listWhere builds the conditions of q.
func listWhere(workspaceID string, q shelf.ListQuery) (string, []any) {
	var w strings.Builder
	var args []any
	// The folder or library must be the workspace's: checked once, by a
	// subquery that does not depend on the row, so the list indexes need
	// no workspace column.
	if q.Recursive {
		w.WriteString("library_id = ? AND path > '' AND EXISTS (SELECT 1 FROM libraries WHERE id = ? AND workspace_id = ?)")
		args = append(args, q.LibraryID, q.LibraryID, workspaceID)
	} else {
		w.WriteString("parent_id = ? AND EXISTS (SELECT 1 FROM items p WHERE p.id = ? AND p.workspace_id = ?")
		args = append(args, q.ParentID, q.ParentID, workspaceID)
		if q.LibraryID != "" {
			w.WriteString(" AND p.library_id = ?")
			args = append(args, q.LibraryID)
		}
		w.WriteString(")")
	}
	w.WriteString(" AND (scope <> 'private' OR owner = ? OR ?) AND (hidden = 0 OR ?)")
	args = append(args, q.Filter.Viewer, q.Filter.AllScopes, q.Filter.WithHidden)
	if q.Type != "" {
		w.WriteString(" AND type = ?")
		args = append(args, string(q.Type))
	}
	if q.NameContains != "" {
		w.WriteString(` AND instr(lower(name), lower(?)) > 0`)
		args = append(args, q.NameContains)
	}
	return w.String(), args
}

// listOrder is the ORDER BY of q: the sort key, then name (path when
// recursive), all in q's direction. Names are unique within a folder and
// paths within a library, so the order is total, and sorting by name (or
// path) alone lets the (parent_id, name) (or (library_id, path)) index
// give the order without sorting.
func listOrder(q shelf.ListQuery) (string, error) {
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	tie := "name"
	if q.Recursive {
		tie = "path"
	}
	var key string
	sort := q.Sort
	if sort == "" && q.Recursive {
		sort = shelf.ListByPath
	}
	switch sort {
	case "", shelf.ListByName:
		key = "name"
	case shelf.ListByPath:
		key = "path"
	case shelf.ListBySize:
		key = "size"
	case shelf.ListByCreated:
		key = "created_at"
	case shelf.ListByUpdated:
		key = "updated_at"
	case shelf.ListByType:
		key = "type"
	default:
		return "", invalid("unknown sort key %q", q.Sort)
	}
	cols := []string{key}
	if key != tie {
		cols = append(cols, tie)
	}
	for i := range cols {
		cols[i] += dir
	}
	return strings.Join(cols, ", "), nil
}

// ListItems sorts by name through the (parent_id, name) index and by path
// through (library_id, path), so paging in those orders reads only the
// entries it skips and returns; other keys sort the selection.
func (t *tx) ListItems(ctx context.Context, workspaceID string, q shelf.ListQuery) ([]*shelf.Item, error) {
	if q.Limit <= 0 || q.Offset < 0 {
		return nil, invalid("limit %d and offset %d must be positive", q.Limit, q.Offset)
	}
	from := ""
	if _, ok := keyedOrder(q); ok && t.pos != nil && q.After == "" && q.Offset >= posStride {
		var err error
		if from, q.Offset, err = t.seek(ctx, workspaceID, q); err != nil {
			return nil, err
		}
	}
	query, args, err := listQuery(workspaceID, q, from)
	if err != nil {
		return nil, err
	}
	return t.queryItems(ctx, "items", query, args...)
}

// listQuery is ListItems' SELECT and its arguments, starting at the key
// from (inclusive) when it is set. The page's rowids are chosen by a
// subquery that reads only the columns of the list indexes
// (items_children_list, items_library_list), so the rows an offset skips
// cost an index entry each, not a table lookup.
func listQuery(workspaceID string, q shelf.ListQuery, from string) (string, []any, error) {
	order, err := listOrder(q)
	if err != nil {
		return "", nil, err
	}
	where, args := listWhere(workspaceID, q)
	if q.After != "" {
		key, op := "name", " > ?"
		if q.Recursive {
			key = "path"
		}
		if q.Desc {
			op = " < ?"
		}
		if s := q.Sort; s != "" && s != key && !(s == shelf.ListByPath && q.Recursive) {
			return "", nil, invalid("After needs the list sorted by %s", key)
		}
		where += " AND " + key + op
		args = append(args, q.After)
	}
	if from != "" {
		key, _ := keyedOrder(q)
		op := " >= ?"
		if q.Desc {
			op = " <= ?"
		}
		where += " AND " + key + op
		args = append(args, from)
	}
	return "SELECT " + itemCols + " FROM items WHERE rowid IN (SELECT rowid FROM items WHERE " + where +
			" ORDER BY " + order + " LIMIT ? OFFSET ?) ORDER BY " + order,
		append(args, q.Limit, q.Offset), nil
}

// CountItems counts through the list's remembered positions when it may
// (in a read transaction): once they are built, a count is a lookup.
func (t *tx) CountItems(ctx context.Context, workspaceID string, q shelf.ListQuery) (int, error) {
	if t.pos != nil {
		q.Sort, q.Desc = "", false // the count is the same in any order
		pm, err := t.positionsOf(ctx, workspaceID, q, -1)
		if err != nil {
			return 0, err
		}
		return pm.count, nil
	}
	where, args := listWhere(workspaceID, q)
	var n int
	err := t.tx.QueryRowContext(ctx, "SELECT count(*) FROM items WHERE "+where, args...).Scan(&n)
	return n, classify(err, "items")
}
