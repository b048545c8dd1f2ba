package shelf

import "time"

// KeyQuery selects a page of a workspace's keys, oldest first (created_at,
// then id).
type KeyQuery struct {
	// NameContains keeps the keys whose name contains it, ASCII letters
	// compared without case; "" keeps all. It is a literal: % and _ are
	// not wildcards.
	NameContains string
	// AfterTime and AfterID are the (CreatedAt, ID) of the last key of the
	// previous page; zero from the first.
	AfterTime time.Time
	AfterID   string
	Limit     int // > 0
}

// IdempotencyRecord is what the server keeps of a write that a client sent
// with an idempotency key, so that a retry is answered, not run again. It
// is keyed by (WorkspaceID, Caller, Key).
type IdempotencyRecord struct {
	WorkspaceID string
	Caller      string // the Principal.Owner that sent the request
	Key         string // the client's idempotency key
	// Fingerprint is a hash of the request (method, path, body): a retry
	// must send the same request.
	Fingerprint []byte
	// Token names the attempt that holds a pending record.
	Token string
	// Done is false while the first attempt runs; then Status, ContentType
	// and Body are its answer.
	Done        bool
	Status      int
	ContentType string
	Body        []byte // sealed by the core: never a plaintext answer
	CreatedAt   time.Time
}
