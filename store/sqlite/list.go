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
	if q.Recursive {
		w.WriteString("library_id = ? AND workspace_id = ? AND parent_id IS NOT NULL")
		args = append(args, q.LibraryID, workspaceID)
	} else {
		w.WriteString("parent_id = ? AND workspace_id = ?")
		args = append(args, q.ParentID, workspaceID)
		if q.LibraryID != "" {
			w.WriteString(" AND library_id = ?")
			args = append(args, q.LibraryID)
		}
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
// recursive) and id, all in q's direction, so the order is total.
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
	cols = append(cols, "id")
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
	order, err := listOrder(q)
	if err != nil {
		return nil, err
	}
	where, args := listWhere(workspaceID, q)
	args = append(args, q.Limit, q.Offset)
	return t.queryItems(ctx, "items", "SELECT "+itemCols+" FROM items WHERE "+where+" ORDER BY "+order+" LIMIT ? OFFSET ?", args...)
}

func (t *tx) CountItems(ctx context.Context, workspaceID string, q shelf.ListQuery) (int, error) {
	where, args := listWhere(workspaceID, q)
	var n int
	err := t.tx.QueryRowContext(ctx, "SELECT count(*) FROM items WHERE "+where, args...).Scan(&n)
	return n, classify(err, "items")
}
