package search

import (
	"context"

	shelf "github.com/shelfmem/shelf"
)

// feed is an in-memory index's place in the store: the highest id it has
// read, and the last entry of the store's delete log it has applied. The
// keyword index and the vector indexes follow the store through one feed
// each, the same way (catchUp).
type feed struct {
	Last    int64 // the highest id read: a chunk's, or an embedding's
	LastDel int64 // the seq of the last delete applied
}

// follower is an index a feed keeps current.
type follower interface {
	// more reads and indexes up to addBatch rows the store added above
	// after, and returns the highest id read and how many rows it read.
	more(ctx context.Context, tx shelf.SearchTx, after int64) (last int64, n int, err error)
	// forget removes a deleted chunk, if it is one of the follower's.
	forget(d shelf.ChunkDelete)
}

// Batches read from the store at once.
const (
	addBatch    = 5000
	deleteBatch = 10000
)

// start places f at the store's present for an index built from nothing:
// every row is still to read, and only deletes from now on matter.
func (f *feed) start(ctx context.Context, tx shelf.SearchTx) (err error) {
	f.Last = 0
	f.LastDel, err = tx.LastChunkDelete(ctx)
	return err
}

// catchUp brings fl up to tx's snapshot: first the deletes logged since
// f.LastDel, then the rows above f.Last. Replaying is harmless (a delete
// of a chunk the index lacks does nothing, and an add replaces), so a feed
// older than its index, as a saved one may be, is caught up exactly.
//
// When the log no longer reaches back to f.LastDel (the store forgot its
// oldest entries), catchUp reports lost: with skip false it applies
// nothing and the caller rebuilds; with skip true it applies the deletes
// the log still holds, and the chunks deleted in the gap stay in the index
// (read-back leaves them out of every answer).
func (f *feed) catchUp(ctx context.Context, tx shelf.SearchTx, fl follower, skip bool) (lost bool, err error) {
	for {
		ds, err := tx.ChunkDeletes(ctx, f.LastDel, deleteBatch)
		if err != nil {
			return lost, err
		}
		if len(ds) > 0 && ds[0].Seq > f.LastDel+1 {
			if !skip {
				return true, nil
			}
			lost = true
		}
		for _, d := range ds {
			fl.forget(d)
			f.LastDel = d.Seq
		}
		if len(ds) < deleteBatch {
			break
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return lost, err // a build the server's shutdown cuts short
		}
		last, n, err := fl.more(ctx, tx, f.Last)
		if err != nil {
			return lost, err
		}
		if n > 0 {
			f.Last = max(f.Last, last)
		}
		if n < addBatch {
			return lost, nil
		}
	}
}
