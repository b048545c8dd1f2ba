package shelf

import (
	"context"
	"unicode"
)

// The search engine (index/search) ranks chunks in indexes it keeps in
// memory, and follows the store to keep them current: it reads the chunks
// and the embeddings added since the highest id it holds, and the chunks
// deleted since the last entry of the store's delete log it applied. A
// store serves it through SearchTx, in one read transaction per search,
// and stays the truth: every hit is read back from the same snapshot with
// the query's filters applied.

// ChunkText is a chunk as the keyword index reads it.
type ChunkText struct {
	ID          int64
	WorkspaceID string
	Text        string
	Heading     string
}

// ChunkDelete is an entry of the store's log of deleted chunks.
type ChunkDelete struct {
	Seq         int64
	ChunkID     int64
	WorkspaceID string
}

// SearchTx is what the search engine reads of a read transaction.
//
// What makes following by id exact: a chunk's id, and an embedding's, is
// never handed out twice, and a snapshot that holds an id holds every id
// committed below it, so a reader that has read every id up to n has read
// every chunk at or below n that still exists. (SQLite has one writer, so
// ids come in commit order; a store whose ids may commit out of order
// must hold this contract some other way.)
type SearchTx interface {
	// ChunksAfter lists the chunks of every workspace whose ids are above
	// afterID, in id order, at most limit.
	ChunksAfter(ctx context.Context, afterID int64, limit int) ([]ChunkText, error)
	// ChunkDeletes lists the log of deleted chunks after seq, in seq
	// order, at most limit. Seqs are consecutive from 1. The log may
	// forget its oldest entries (the SQLite store keeps the last
	// 100,000): a first entry above afterSeq+1 says that it did.
	ChunkDeletes(ctx context.Context, afterSeq int64, limit int) ([]ChunkDelete, error)
	// LastChunkDelete returns the highest seq of the log, 0 if none.
	LastChunkDelete(ctx context.Context) (int64, error)
	// CountChunks counts the chunks of every workspace.
	CountChunks(ctx context.Context) (int, error)
	// ChunkHits reads back the workspace's chunks whose ids are among ids
	// and pass q's filters (q.Terms and q.Limit are ignored), keyed by
	// id, each with its Item; an id that names no chunk of the snapshot,
	// or one filtered out, is left out. A chunk with an embedding has its
	// Model set (not its Vector). Score and Highlight are the caller's.
	ChunkHits(ctx context.Context, workspaceID string, ids []int64, q ChunkQuery) (map[int64]*ChunkHit, error)
	// EmbeddedChunkIDs returns the ids of the workspace's chunks with an
	// embedding of model that pass q's filters, at most limit.
	EmbeddedChunkIDs(ctx context.Context, workspaceID, model string, q ChunkQuery, limit int) ([]int64, error)
	// Vectors, CountVectors and SearchChunks are Tx's.
	Vectors(ctx context.Context, workspaceID, model string, afterID int64, limit int) ([]VectorRow, error)
	CountVectors(ctx context.Context, workspaceID, model string) (int, error)
	SearchChunks(ctx context.Context, workspaceID string, q ChunkQuery) ([]*ChunkHit, error)
}

// CheckTerms refuses a ChunkQuery's term that is not words of letters,
// digits and marks joined by single spaces (EINVALID).
func CheckTerms(terms []string) error {
	for _, t := range terms {
		ok := t != "" && t[0] != ' ' && t[len(t)-1] != ' '
		prevSpace := false
		for _, r := range t {
			switch {
			case r == ' ':
				ok = ok && !prevSpace
				prevSpace = true
				continue
			case !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r):
				ok = false
			}
			prevSpace = false
		}
		if !ok {
			return Errorf(EINVALID, "malformed search term %q", t)
		}
	}
	return nil
}
