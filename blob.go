package shelf

import (
	"context"
	"io"
	"time"
)

// BlobRef names a blob: the lowercase hex SHA-256 of its bytes, and its size.
type BlobRef struct {
	Hash string `json:"sha256"`
	Size int64  `json:"size"`
}

// BlobInfo describes a stored blob or staging area, for garbage collection
// and fsck.
type BlobInfo struct {
	Hash    string // for staging areas: the upload id
	Size    int64
	ModTime time.Time // last written or touched
}

// StagedPart is a range of a staging area and the CRC-32C (Castagnoli) of
// the bytes WritePart wrote there.
type StagedPart struct {
	Off, Len int64
	CRC32C   uint32
}

// BlobStore keeps immutable byte streams named by their SHA-256, and the
// staging areas of chunked uploads whose parts land at their final offsets.
// Implementations are safe for concurrent use. Errors carry shelf codes:
// ENOTFOUND for a missing blob or staging area, EINVALID for a length that
// does not match, EINSUFFICIENT when the disk is full.
type BlobStore interface {
	// Put stores the bytes of r. When size >= 0, r must yield exactly size
	// bytes, else EINVALID and nothing is stored. The blob is durable when Put
	// returns nil. Putting bytes that are already stored keeps one copy and
	// refreshes its ModTime, so garbage collection grants it a new grace period.
	Put(ctx context.Context, r io.Reader, size int64) (BlobRef, error)

	// Open reads n bytes from offset off (n < 0: to the end). ENOTFOUND if
	// the blob is missing; EINVALID if off is past the end.
	Open(ctx context.Context, hash string, off, n int64) (io.ReadCloser, error)

	// Stat returns the blob's size. ENOTFOUND if missing.
	Stat(ctx context.Context, hash string) (BlobRef, error)

	// Delete removes the blob if its ModTime is before olderThan; a blob
	// touched since (by Put of the same bytes) is kept. The check and the
	// removal are atomic with respect to Put. A missing blob is not an error.
	Delete(ctx context.Context, hash string, olderThan time.Time) error

	// Walk calls fn for every stored blob, in no particular order.
	Walk(ctx context.Context, fn func(BlobInfo) error) error

	// CreateStaging reserves a staging area of size bytes for upload id.
	// Creating an existing one is not an error.
	CreateStaging(ctx context.Context, id string, size int64) error

	// WritePart writes exactly n bytes of r at offset off of the staging
	// area and returns the CRC-32C (Castagnoli) of those bytes, 4 bytes
	// big-endian: a checksum cheap enough to compute at the speed bytes
	// arrive, for the part's ETag. The bytes outlive the process once it
	// returns, but a store may leave them in the OS's cache until
	// SumStaging: a power cut can lose them, and SumStaging then says so.
	// A reader that ends early or runs long gives EINVALID; the range is
	// then undefined until it is written again. Concurrent writes to
	// disjoint ranges are safe; the caller serializes writes to the same
	// range.
	WritePart(ctx context.Context, id string, off int64, r io.Reader, n int64) ([]byte, error)

	// SumStaging reads the staging area once, returns its hash and size,
	// and checks each of parts (in offset order, not overlapping) against
	// the CRC-32C its WritePart returned. When every part matches, the
	// staging area is durable when SumStaging returns. Otherwise bad lists
	// the indexes in parts of those that do not match (bytes lost to a
	// crash of the machine, or changed on disk), and ref is zero.
	SumStaging(ctx context.Context, id string, parts []StagedPart) (ref BlobRef, bad []int, err error)

	// CommitStaging turns the staging area into the blob ref without
	// copying the bytes when the store can, and removes the staging area. It
	// is idempotent: when the staging area is already gone and the blob
	// exists, it returns nil.
	CommitStaging(ctx context.Context, id string, ref BlobRef) error

	// DeleteStaging removes a staging area. A missing one is not an error.
	DeleteStaging(ctx context.Context, id string) error

	// WalkStaging calls fn for every staging area (BlobInfo.Hash is the id).
	WalkStaging(ctx context.Context, fn func(BlobInfo) error) error
}

// Fetcher reads URLs for the server (package fetch is the implementation):
// http and https only, internal addresses refused at dial time, redirects
// re-checked, size and time capped.
type Fetcher interface {
	// Check refuses a URL whose form breaks a rule, without any I/O.
	Check(rawURL string) error
	// Fetch GETs rawURL. Errors: EINVALID (the URL or a redirect breaks a
	// rule), EFORBIDDEN (an internal address), ETOOLARGE (over the size
	// cap, also while reading Body), ETIMEOUT (not finished in time, also
	// while reading), EUNAVAILABLE (the remote failed: a non-2xx answer, an
	// unknown host, a refused connection).
	Fetch(ctx context.Context, rawURL string) (*Fetched, error)
}

// Fetched is a response being read; the caller closes Body.
type Fetched struct {
	Body        io.ReadCloser
	ContentType string // "" when the server sent none
	Size        int64  // -1 when unknown
	Name        string // a plain file name from the response or the URL, or ""
	URL         string // after redirects
}
