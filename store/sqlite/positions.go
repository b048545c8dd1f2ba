package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/bounded"
)

// A page at offset n of a list counts n index entries before it reads a
// row: at 100,000 children, 100,000 entries for the last page. So for
// lists in the order of their unique key (a folder's children by name, a
// library's items by path) the store remembers the key of every
// posStride-th row, and a page at offset n starts at the remembered key
// just before it and counts at most posStride-1 entries from there.
//
// A remembered map is good for one generation of its list: migration
// 0012's triggers bump list_gens for the folder and the library of every
// item inserted, deleted, renamed, moved, re-scoped or hidden, in the
// transaction that makes the change, whichever process makes it. A read
// transaction reads the generation and the rows from one snapshot, so a
// map built or used in it matches the rows it reads. Maps are used and
// built only in read transactions (View): a write transaction could bump
// a generation and roll back, and a map built in it would then carry a
// number the next committed change reuses for other rows.

// posStride is how many rows lie between two remembered keys.
const posStride = 512

// maxPosMaps bounds the lists whose positions are remembered. A map of a
// 100,000-row list holds 195 keys.
const maxPosMaps = 1024

// posKey names one list as one viewer sees it: every field of the query
// that selects or orders its rows, bar paging.
type posKey struct {
	ws, list        string // list: the folder's id, or the library's when recursive
	recursive, desc bool
	name            string
	typ             shelf.ItemType
	filter          shelf.ItemFilter
}

// posMap is the remembered positions of one generation of a list. It is
// never changed once shared: extending it makes a new one.
type posMap struct {
	gen   int64
	keys  []string // keys[i] is the sort key of the row at offset (i+1)*posStride
	done  bool     // keys reach the end of the list
	count int      // the list's rows, once done
}

// positions is a Store's remembered maps, evicted oldest first.
type positions = bounded.Map[posKey, *posMap]

// keyedOrder reports whether q is in the order of its list's unique key,
// and that key's column.
func keyedOrder(q shelf.ListQuery) (string, bool) {
	switch {
	case q.Recursive && (q.Sort == "" || q.Sort == shelf.ListByPath):
		return "path", true
	case !q.Recursive && (q.Sort == "" || q.Sort == shelf.ListByName):
		return "name", true
	}
	return "", false
}

func listPosKey(workspaceID string, q shelf.ListQuery) posKey {
	k := posKey{ws: workspaceID, list: q.ParentID, recursive: q.Recursive, desc: q.Desc,
		name: q.NameContains, typ: q.Type, filter: q.Filter}
	if q.Recursive {
		k.list = q.LibraryID
	}
	return k
}

// positionsOf returns the map of q's list with at least need keys, or
// reaching the end of the list when need < 0 or the list has fewer rows,
// extending (or first building) the remembered one in t's snapshot.
func (t *tx) positionsOf(ctx context.Context, workspaceID string, q shelf.ListQuery, need int) (*posMap, error) {
	k := listPosKey(workspaceID, q)
	var gen int64
	err := t.tx.QueryRowContext(ctx, "SELECT gen FROM list_gens WHERE key = ?", k.list).Scan(&gen)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, classify(err, "list generation")
	}
	pm, _ := t.pos.Get(k)
	if pm == nil || pm.gen != gen {
		pm = &posMap{gen: gen}
	}
	if pm.done || (need >= 0 && len(pm.keys) >= need) {
		return pm, nil
	}
	// Each step counts posStride entries of the list index from the last
	// key: together one pass over the rows up to the last key needed.
	next := &posMap{gen: gen, keys: pm.keys[:len(pm.keys):len(pm.keys)]}
	last := func() string {
		if n := len(next.keys); n > 0 {
			return next.keys[n-1]
		}
		return ""
	}
	if need < 0 || len(next.keys) < need {
		query, args, err := positionQuery(workspaceID, q, last(), false)
		if err != nil {
			return nil, err
		}
		limit := -1
		if need >= 0 {
			limit = need - len(next.keys)
		}
		rows, err := t.tx.QueryContext(ctx, query, append(args, limit)...)
		if err != nil {
			return nil, classify(err, "list positions")
		}
		for rows.Next() {
			var key sql.NullString
			if err := rows.Scan(&key); err != nil {
				rows.Close()
				return nil, classify(err, "list positions")
			}
			if !key.Valid {
				next.done = true
				break
			}
			next.keys = append(next.keys, key.String)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, classify(err, "list positions")
		}
	}
	if next.done {
		// Count the rows after the last key: fewer than posStride.
		query, args, err := positionQuery(workspaceID, q, last(), true)
		if err != nil {
			return nil, err
		}
		if err := t.tx.QueryRowContext(ctx, query, args...).Scan(&next.count); err != nil {
			return nil, classify(err, "list positions")
		}
		if n := len(next.keys); n > 0 {
			next.count += n*posStride + 1
		}
	}
	t.pos.Put(k, next)
	return next, nil
}

// positionQuery is positionsOf's query for the next remembered key after
// the key after ("" at the start), or with count for the rows after it.
func positionQuery(workspaceID string, q shelf.ListQuery, after string, count bool) (string, []any, error) {
	col, _ := keyedOrder(q)
	where, args := listWhere(workspaceID, q)
	order, err := listOrder(q)
	if err != nil {
		return "", nil, err
	}
	op := " > "
	if q.Desc {
		op = " < "
	}
	first, firstArgs, skip := where, args, posStride
	if after != "" {
		first += " AND " + col + op + "?"
		firstArgs = append(args[:len(args):len(args)], after)
		skip = posStride - 1
	}
	if count {
		return "SELECT count(*) FROM items WHERE " + first, firstArgs, nil
	}
	// One statement walks from key to key, so a step costs its 512
	// index entries and not a statement's round trip from Go (which cost
	// as much again). The walk ends at the limit or with a NULL: no row
	// posStride further on.
	query := "WITH RECURSIVE pos(key) AS (SELECT (SELECT " + col + " FROM items WHERE " + first +
		" ORDER BY " + order + " LIMIT 1 OFFSET ?) UNION ALL SELECT (SELECT " + col + " FROM items WHERE " + where +
		" AND items." + col + op + "pos.key ORDER BY " + order + " LIMIT 1 OFFSET " + strconv.Itoa(posStride-1) +
		") FROM pos WHERE pos.key IS NOT NULL LIMIT ?) SELECT key FROM pos"
	qargs := append(append(firstArgs[:len(firstArgs):len(firstArgs)], skip), args...)
	return query, qargs, nil
}

// seek turns q's offset into a start at a remembered key (inclusive) and
// what remains to count from there; from is "" when q starts at the start.
func (t *tx) seek(ctx context.Context, workspaceID string, q shelf.ListQuery) (from string, offset int, err error) {
	j := q.Offset / posStride
	pm, err := t.positionsOf(ctx, workspaceID, q, j)
	if err != nil {
		return "", 0, err
	}
	j = min(j, len(pm.keys)) // past the end: the last key, and a count that runs off the end
	if j == 0 {
		return "", q.Offset, nil
	}
	return pm.keys[j-1], q.Offset - j*posStride, nil
}
