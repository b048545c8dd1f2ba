// Package worker runs Shelf's index jobs: it claims the jobs the core
// queued (shelf.IndexJobStore), settles the claim (a job past its attempts
// fails, a job taken back from a worker that stopped runs alone), reads
// each job's version through the core, extracts its text (in process, or
// through an Extractor such as index/isolate's child processes), chunks
// it (index/chunk), and commits the chunks and the files' index status in
// one transaction per batch, handing back what it did not run. It backs
// off while the disk is full, and gives way to client writes (Foreground).
//
// It reaches the store only through the narrow Store and Tx it declares,
// and knows of the core only the callbacks of Deps: how to open a
// version's bytes, how long the disk reserve asks writers to wait, what
// to wake once chunks are stored, the test hook, the clock and the log.
//
// What it must not do: decide which files are indexed or queue jobs (the
// core does, in the transactions that change the files: a job exists
// only for a file the core found extractable), or rank searches
// (index/search).
package worker
