// Package search is Shelf's search engine: keyword ranking (BM25, in
// index/keyword), semantic ranking (nearest neighbours of the query's
// embedding, in index/vector) and hybrid ranking (both, fused by
// reciprocal rank) over the chunks of one workspace, for a query the core
// has already resolved (which libraries and items the caller may see is
// in its shelf.ChunkQuery).
//
// Both indexes live in memory and follow the store the same way (follow.go):
// they read what was added since the highest id they hold, and the
// chunks deleted since the last entry of the store's delete log they
// applied, in the search's own read transaction (shelf.SearchTx). The store
// stays the truth: every hit is read back from the same snapshot with the
// filters applied, so a chunk deleted or not yet visible there is never
// returned. A store thus needs no ranking of its own; its own full-text
// search (shelf.Tx.SearchChunks; FTS5 in SQLite) answers what the keyword
// index does not: phrases, and every word query when the index is off or
// past its size limit.
//
// The indexes are saved under a directory of the caller's (the data
// directory's index/, never a path a client names), at intervals while they
// change and on shutdown, and loaded at start, then caught up: a restart
// costs the reading of a file instead of a rebuild (persist.go).
//
// What it must not do: decide who may see what (the core does, and says so
// in the query), queue or run index jobs, or write to the store.
package search
