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

// BlobStore is the core contract of a blob store: immutable byte streams
// named by their SHA-256. Every store implements it; what a store can do
// beyond it is an optional capability (StagingStore, DirectPartStore),
// which the core finds by a type assertion once, when it is given the
// store, as tusd's handler finds a data store's extensions. A store that
// wraps another must expose exactly the capabilities of the one it wraps.
//
// Implementations are safe for concurrent use. Errors carry shelf codes:
// ENOTFOUND for a missing blob, EINVALID for a length that does not match
// or a malformed hash, EINSUFFICIENT when the storage is full, EUNAVAILABLE
// when it cannot be written for now (mounted read-only, unreachable); a
// done context gives an error that wraps ctx.Err(). Any other failure is
// EINTERNAL.
type BlobStore interface {
	// Put stores the bytes of r. When size >= 0, r must yield exactly size
	// bytes, else EINVALID and nothing is stored. The blob is durable when Put
	// returns nil. Putting bytes that are already stored keeps one copy and
	// refreshes its ModTime, so garbage collection grants it a new grace period.
	// An error of r is returned wrapped, keeping its shelf code; nothing is
	// stored then.
	Put(ctx context.Context, r io.Reader, size int64) (BlobRef, error)

	// Open reads n bytes from offset off (n < 0 or past the end: to the
	// end). ENOTFOUND if the blob is missing; EINVALID if off is negative
	// or past the end.
	Open(ctx context.Context, hash string, off, n int64) (io.ReadCloser, error)

	// Stat returns the blob's size. ENOTFOUND if missing.
	Stat(ctx context.Context, hash string) (BlobRef, error)

	// Delete removes the blob if its ModTime is before olderThan; a blob
	// touched since (by Put of the same bytes) is kept. The check and the
	// removal are atomic with respect to Put. A missing blob is not an error.
	Delete(ctx context.Context, hash string, olderThan time.Time) error

	// Walk calls fn for every stored blob, in no particular order. An error
	// from fn stops the walk and is returned as is.
	Walk(ctx context.Context, fn func(BlobInfo) error) error
}

// StagingStore is the capability of a blob store whose chunked uploads pass
// through Shelf: each part's bytes are written by the server into a staging
// area, at their final offset, and the finished area becomes a blob
// without being copied when the store can (fsblob renames a file). The
// core uses it for chunked uploads when the store has it. Upload ids are
// 1 to 64 of [A-Za-z0-9_-]; any other id is EINVALID.
type StagingStore interface {
	// CreateStaging reserves a staging area of size bytes for upload id;
	// bytes not yet written read as zeros. Creating an existing one is not
	// an error: it keeps its bytes (cut or extended to size). EINVALID for a negative size; EINSUFFICIENT when
	// the room cannot be had, and then no staging area is left behind.
	CreateStaging(ctx context.Context, id string, size int64) error

	// WritePart writes exactly n bytes of r at offset off of the staging
	// area and returns the CRC-32C (Castagnoli) of those bytes, 4 bytes
	// big-endian: a checksum cheap enough to compute at the speed bytes
	// arrive, for the part's ETag. The bytes outlive the process once it
	// returns, but a store may leave them in the OS's cache until
	// SumStaging: a power cut can lose them, and SumStaging then says so.
	// A reader that ends early or runs long gives EINVALID and nothing is
	// written outside [off, off+n); the range is then undefined until it is
	// written again. A range past the end of the area is EINVALID, a missing
	// area ENOTFOUND. Concurrent writes to disjoint ranges are safe; the
	// caller serializes writes to the same range, and may write a range
	// again at any time before CommitStaging (the new bytes replace the
	// old, for SumStaging too).
	WritePart(ctx context.Context, id string, off int64, r io.Reader, n int64) ([]byte, error)

	// SumStaging returns the staging area's hash and size, and checks each
	// of parts (in offset order, not overlapping) against the CRC-32C its
	// WritePart returned, by reading the bytes as they are now. When every
	// part matches, the staging area is durable when SumStaging returns,
	// and the hash is that of its bytes. Otherwise bad lists the indexes in
	// parts of those that do not match (bytes lost to a crash of the
	// machine, or changed on disk), ref is zero, and nothing changed. A
	// store may have hashed part of the area already while the parts
	// arrived (fsblob does); that is a cache it may use only for bytes
	// it checks here, and never needs to be right for SumStaging to be.
	// ENOTFOUND for a missing area; EINVALID for parts out of order,
	// overlapping or past the end. It may be called again, with other
	// parts, after any result.
	SumStaging(ctx context.Context, id string, parts []StagedPart) (ref BlobRef, bad []int, err error)

	// CommitStaging turns the staging area into the blob ref without
	// copying the bytes when the store can, and removes the staging area.
	// It trusts ref.Hash (the caller takes it from SumStaging) and checks
	// only the size: a mismatch is EINVALID and keeps the area. If the blob
	// exists, it is touched as by Put and the area removed. It is
	// idempotent: when the staging area is already gone and the blob exists
	// with ref.Size bytes, it returns nil; when both are gone, ENOTFOUND.
	CommitStaging(ctx context.Context, id string, ref BlobRef) error

	// DeleteStaging removes a staging area. A missing one is not an error.
	DeleteStaging(ctx context.Context, id string) error

	// WalkStaging calls fn for every staging area (BlobInfo.Hash is the id,
	// ModTime its last write), in no particular order. An error from fn
	// stops the walk and is returned as is.
	WalkStaging(ctx context.Context, fn func(BlobInfo) error) error
}

// DirectPart is a part a client sent straight to the store, as the store
// lists it.
type DirectPart struct {
	Number int    // 1 to MaxDirectParts
	Size   int64  // bytes the store holds for it
	ETag   string // the store's ETag for those bytes, as its PUT answered it
}

// MaxDirectParts is the most parts a direct upload may have (S3's limit).
const MaxDirectParts = 10000

// DirectPartStore is the capability of a blob store whose chunked uploads
// do not pass through Shelf: the store signs a URL per part, the client
// PUTs each part to it, and the store joins the parts (S3's multipart
// upload). Shelf never sees the bytes until it reads the blob. Upload ids
// are the core's, 1 to 64 of [A-Za-z0-9_-] (any other is EINVALID); the
// store keeps whatever handle its backend needs (S3's UploadId) under
// that id. No store implements it yet; the contract is fixed first so
// that the core and the S3 store are written against it.
type DirectPartStore interface {
	// CreateParts starts a direct upload of size bytes under id, to be
	// sent in parts of partSize bytes (the last may be shorter). Creating
	// one that exists, with the same size and part size, is not an error.
	// EINVALID for a size or part size the backend refuses (S3: parts of
	// 5 MiB to 5 GiB but the last, at most MaxDirectParts parts);
	// ECONFLICT for an existing id with another size or part size;
	// EUNAVAILABLE when the backend cannot be reached or refuses for now.
	CreateParts(ctx context.Context, id string, size, partSize int64) error

	// PartURL returns a URL that accepts exactly one kind of request, a
	// PUT of part partNumber's bytes (exactly its length, by the layout
	// CreateParts fixed) until expires has passed, and answers it with the
	// part's ETag. It does no I/O beyond signing, so it does not check
	// that the upload exists: a PUT to the URL of a missing, aborted or
	// completed upload fails at the backend (S3: 404 NoSuchUpload).
	// Calling it again for the same part gives a new URL; a PUT through
	// any of them replaces the part. EINVALID for a partNumber outside the
	// layout or an expiry the backend refuses (S3: 1 s to 7 days).
	PartURL(ctx context.Context, id string, partNumber int, expires time.Duration) (string, error)

	// ListParts returns the parts the backend holds for the upload, by
	// Number, each with the ETag its PUT answered; parts never sent are
	// absent. It may lag a PUT that just answered (the backend's listing
	// is eventually consistent); CompleteParts is what decides. ENOTFOUND
	// for a missing, aborted or completed upload.
	ListParts(ctx context.Context, id string) ([]DirectPart, error)

	// CompleteParts joins parts (every part of the layout, in order, each
	// with the ETag its PUT answered) into one blob, hashes it and
	// returns its ref; the blob is durable when it returns nil, and the
	// upload is gone. EINVALID naming the part when one is missing, of the
	// wrong size, or its ETag does not match what the backend holds (the
	// upload is kept, so the client can send it again); ENOTFOUND for a
	// missing or aborted upload. It is idempotent: once completed, calling
	// it again with the same parts returns the same ref.
	CompleteParts(ctx context.Context, id string, parts []DirectPart) (BlobRef, error)

	// AbortParts ends the upload and frees the parts' room at the backend.
	// A missing, aborted or completed upload is not an error. A PUT that
	// races it may leave a part behind, which the backend's own expiry of
	// incomplete uploads removes (S3: a lifecycle rule).
	AbortParts(ctx context.Context, id string) error
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

// ValidBlobHash reports whether s has the form of a blob's name: exactly
// 64 lowercase hex digits. Blob stores check it before a hash becomes a
// file name or a key, and answer EINVALID for any other.
func ValidBlobHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidStagingID reports whether s has the form of a staging area's id
// (an upload id): 1 to 64 of [A-Za-z0-9_-]. Blob stores check it before an
// id becomes a file name or a key.
func ValidStagingID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
