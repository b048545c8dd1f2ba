// Package fsblob implements shelf.BlobStore and its staging capability
// (shelf.StagingStore) on a local directory, Shelf's default blob store.
//
// Layout, under the directory given to Open:
//
//	sha256/ab/cd/abcd…   one read-only (0444) file per blob, named by the
//	                     lowercase hex SHA-256 of its bytes
//	staging/<id>         one file per chunked upload; parts are written at
//	                     their final offsets and the file is renamed into
//	                     sha256/ when the upload is committed
//	tmp/                 files of Puts in progress; emptied by Open
//
// Every write follows the same order: write and fsync the file, rename it
// into place, fsync the directory. A blob is therefore either absent or
// complete after a crash, and durable once Put or CommitStaging returns nil.
// A staging file's parts are synced once, by the SumStaging that checks
// them (or each by its WritePart, with Store.SyncParts).
//
// Each staging area written since Open has a running SHA-256 in memory
// (running.go): a goroutine hashes the parts as they extend the area's
// contiguous prefix, reading them back from the page cache, so that
// SumStaging hashes only the rest. It is a cache that SumStaging checks
// part by part against the bytes on disk; a restart loses it and
// SumStaging hashes everything.
//
// What it must not do:
//   - touch anything outside its directory: every path goes through an
//     os.Root, and hashes and staging ids are validated before they become
//     file names (a malformed one gives EINVALID);
//   - hold a blob in memory or copy its bytes twice: Put streams through a
//     fixed buffer while hashing, and CommitStaging renames, never copies;
//   - decide what is garbage: it deletes a blob only when asked, and only if
//     the blob was not touched since the caller's cutoff; it never removes a
//     staging file on its own (the core sweeps expired uploads);
//   - interpret the bytes it stores, or report success after a failed fsync;
//   - trust its running hash over the bytes on disk: SumStaging reads and
//     checks every part either way.
package fsblob
