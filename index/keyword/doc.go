// Package keyword is Shelf's in-memory inverted index: BM25 ranking of the
// chunks of one workspace by the words of a query, keyed by an int64 the
// caller chooses (a chunk's row id).
//
// Why beside SQLite's FTS5, which holds the same text: FTS5's bm25() finds
// each term's document count by walking the term's postings and reads every
// match's column sizes from its docsize table, a B-tree lookup per row, so
// a query costs about 4 µs for each chunk holding one of its words; a word
// in 10 % of a million chunks is 400 ms. This index keeps the postings as
// flat arrays in memory (a uint32 document number and a uint8 weighted
// frequency per posting), each document's length in a uint16 array and each
// term's document count implicitly (the length of its postings), so scoring
// is a tight loop of a few nanoseconds a posting, and a query over a
// million chunks takes milliseconds whatever its words.
//
// Tokens: runs of letters, numbers and marks, lowercased, with their
// diacritics removed (NFD, combining marks dropped), longer than MaxWord
// bytes cut to it, then stemmed by the Snowball English (Porter2) stemmer
// of github.com/kljensen/snowball. Stemming is cached per distinct folded
// word, so indexing pays for it once per vocabulary word, not per token.
// The same function tokenizes queries, so what a query word matches is
// exactly the chunks holding a word of the same stem.
//
// Scoring is FTS5's bm25() with its constants (k1 = 1.2, b = 0.75, an IDF
// of log((N − n + 0.5)/(n + 0.5)) floored at 1e-6) and Shelf's column
// weights: a chunk's text counts 1, its heading 0.5. N and the average
// length are over the live documents; n, a term's document count, includes
// deleted documents until Compact, which Add and Delete run once they
// exceed a quarter of the documents.
//
// Concurrency: many Searches run at once; Add, Delete and Compact take the
// index for themselves (a sync.RWMutex).
//
// The search engine (index/search) keeps one per workspace, fed from the
// store's chunks, so that a store needs no BM25 of its own; it imports
// nothing of Shelf.
//
// Persistence: WriteTo and Read save and load the whole index, so a
// restart does not rebuild it; the format is versioned and ends in a
// CRC-32C, and Read validates every count, so a damaged file is an error,
// never a panic.
//
// What it must not do: keep the text (only term numbers and counts), know
// about workspaces, visibility or filters (the caller checks each hit
// against the store, which stays the truth), or touch disk except through
// the io.Writer/io.Reader it is given.
package keyword
