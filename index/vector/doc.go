// Package vector is Shelf's in-memory vector index: k-nearest-neighbour
// search by cosine similarity over the embeddings of chunks, keyed by a
// uint64 the caller chooses (a chunk's row id).
//
// Below Options.ExactBelow live vectors, Search is an exact scan: at that
// size a scan is fast enough (about 20,000 × 384 dimensions in a few
// milliseconds) and always right. Above it, Search walks an HNSW graph
// (Malkov & Yashunin, "Efficient and robust approximate nearest neighbor
// search using Hierarchical Navigable Small World graphs", 2016/2018):
// layered proximity graphs, neighbours chosen with the paper's heuristic
// (algorithm 4), a greedy descent through the upper layers and a beam
// search of width ef on layer 0. The default ef grows with log Len()
// (EfSearchFor: 64 up to 200,000 vectors, 212 at 1,000,000), because at a
// fixed beam recall falls as the graph grows.
//
// Why our own HNSW: github.com/coder/hnsw v0.6.1, the version the module
// proxy serves, returns wrong neighbours (recall@10 ≈ 0.04, DESIGN §8), and
// a general-purpose library would not give the memory layout this index
// wants: every vector in one contiguous []float32 slab addressed by an
// int32 node number, layer-0 neighbour lists in a second flat []int32 slab,
// a map only from the caller's uint64 id to the node. That layout is what
// makes 1,000,000 × 384 fit in about 1.7 GB and keeps the inner loop (a
// float32 dot product on normalised vectors) cache-friendly. The tests
// gate every build on recall@10 ≥ 0.95 against exact search.
//
// Filters: Search takes a filter (permissions, metadata). HNSW recall
// collapses when a filter rejects most nodes, because the beam fills with
// rejected ones; so Search estimates the filter's selectivity s on a fixed
// sample of nodes and
//   - scans exactly over the allowed nodes when s × Len() ≤ ExactBelow (for
//     the default ExactBelow of 20,000 and 1,000,000 vectors: any filter
//     admitting ≤ 2%);
//   - otherwise walks the graph with ef widened by 1/s (at most 8×; with
//     the size-scaled default, 64 is widened, and the walk never uses less
//     than the unfiltered ef), keeping only allowed nodes as results, and
//     falls back to the exact scan if the walk found fewer than k.
//
// Concurrency: many Searches run at once; Add, Delete and Compact take the
// index for themselves (a sync.RWMutex). Delete leaves a tombstone: the node
// is dropped from results at once but still routes searches until Compact
// rebuilds the graph without it.
//
// Persistence: WriteTo and Read save and load the whole graph, so a
// restart does not rebuild it; the format is versioned and ends in a
// CRC-32C, and Read validates every count and link, so a damaged file is an
// error, never a panic.
//
// What it must not do: keep anything but vectors and ids (no text, no
// workspace ids: the filter decides visibility), touch disk except through
// the io.Writer/io.Reader it is given, or return a tombstoned id.
package vector
