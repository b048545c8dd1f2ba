package library

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// Idempotent writes: a client sends a write with an idempotency key, and a
// retry with the same key gets the first attempt's answer instead of
// running the write again. A record per (workspace, calling key,
// idempotency key) holds a hash of the request and, once the first attempt
// is done, its answer. The facility knows nothing of HTTP: a transport
// fingerprints the request, asks BeginIdempotent whether to run it, and
// hands the answer to FinishIdempotent.
//
// An answer may carry a secret (a new API key's token), and Shelf keeps no
// secret in plaintext: the stored body is sealed with AES-256-GCM under a
// key derived (HKDF-SHA256) from the credential that made the request,
// which the store never holds (it keeps only a key's SHA-256). Only a
// request made with that same credential can open it; the database alone,
// settings and backups included, cannot.

// Idempotency limits.
const (
	// MaxIdempotencyKey is the longest idempotency key, in bytes.
	MaxIdempotencyKey = 255
	// IdempotencyRetention is how long an answer is kept for replays.
	IdempotencyRetention = 24 * time.Hour
	// IdempotencyLease is how long a first attempt holds its record: a
	// retry meanwhile is ECONFLICT (in progress); after it, the attempt is
	// taken to have died (the process stopped) and a retry runs again.
	IdempotencyLease = time.Minute
	// MaxIdempotentAnswer is the largest answer body kept; a larger
	// answer is sent but not kept, and a retry runs again.
	MaxIdempotentAnswer = 1 << 20
)

// IdempotentAnswer is a kept answer: a status (in the transport's terms,
// an HTTP status), its content type and body.
type IdempotentAnswer struct {
	Status      int
	ContentType string
	Body        []byte
}

// IdempotentCall is a first attempt that BeginIdempotent let run.
type IdempotentCall struct {
	rec  shelf.IdempotencyRecord
	aead cipher.AEAD
}

// KeepsAnswer reports whether an answer with this status is kept for
// replays: successes and client errors are; 408, 425 and 429 (try again)
// and server errors are not, so a retry runs the write again.
func KeepsAnswer(status int) bool {
	switch {
	case status < 200 || status >= 500:
		return false
	case status == 408, status == 425, status == 429:
		return false
	}
	return true
}

// CheckIdempotencyKey checks a client's idempotency key: 1 to
// MaxIdempotencyKey bytes of printable ASCII.
func CheckIdempotencyKey(key string) error {
	if key == "" || len(key) > MaxIdempotencyKey {
		return shelf.Errorf(shelf.EINVALID, "Idempotency-Key must be 1 to %d characters", MaxIdempotencyKey)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return shelf.Errorf(shelf.EINVALID, "Idempotency-Key must be printable ASCII")
		}
	}
	return nil
}

// BeginIdempotent decides what to do with a write the caller sent with an
// idempotency key. credential is the token that authenticated the request
// (the caller's own key), fingerprint a hash of the request. It returns
//   - a kept answer, when a request with the same key and fingerprint was
//     answered within IdempotencyRetention: send it, run nothing;
//   - else a call: run the write, then FinishIdempotent (or
//     AbandonIdempotent) the call.
//
// Errors: EINVALID for a bad key; ECONFLICT when the key was used for a
// different request, when its first attempt is still running, or when its
// answer was kept for an earlier secret of the calling key. Two first
// attempts never both run: one of them gets ECONFLICT.
func (s *Service) BeginIdempotent(ctx context.Context, credential, key string, fingerprint []byte) (*IdempotentAnswer, *IdempotentCall, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckIdempotencyKey(key); err != nil {
		return nil, nil, err
	}
	if credential == "" || len(fingerprint) == 0 {
		return nil, nil, shelf.Errorf(shelf.EINTERNAL, "idempotency: no credential or fingerprint")
	}
	aead, err := answerAEAD(credential, p.WorkspaceID, p.Owner(), key)
	if err != nil {
		return nil, nil, err
	}
	var answer *IdempotentAnswer
	var call *IdempotentCall
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		answer, call = nil, nil
		now := s.now()
		claim := shelf.IdempotencyRecord{WorkspaceID: p.WorkspaceID, Caller: p.Owner(), Key: key,
			Fingerprint: fingerprint, Token: randomHex(16), CreatedAt: now}
		r, err := tx.IdempotencyRecord(ctx, p.WorkspaceID, p.Owner(), key)
		switch {
		case shelf.ErrorCode(err) == shelf.ENOTFOUND:
			err = tx.CreateIdempotencyRecord(ctx, &claim)
			if shelf.ErrorCode(err) == shelf.ECONFLICT {
				return errInProgress(key)
			}
		case err != nil:
			return err
		case r.CreatedAt.Before(now.Add(-IdempotencyRetention)):
			// kept too long: the key is new again
			err = tx.UpdateIdempotencyRecord(ctx, &claim)
		case !bytes.Equal(r.Fingerprint, fingerprint):
			return shelf.Errorf(shelf.ECONFLICT,
				"Idempotency-Key %q was already used for a different request (method, path or body differ); use a new key", key)
		case !r.Done && r.CreatedAt.After(now.Add(-IdempotencyLease)):
			return errInProgress(key)
		case !r.Done:
			// the first attempt died: this one takes its place
			err = tx.UpdateIdempotencyRecord(ctx, &claim)
		default:
			body, ok := openAnswer(aead, r)
			if !ok {
				return shelf.Errorf(shelf.ECONFLICT,
					"Idempotency-Key %q was answered for an earlier secret of this key; use a new key", key)
			}
			answer = &IdempotentAnswer{Status: r.Status, ContentType: r.ContentType, Body: body}
			return nil
		}
		if err != nil {
			return err
		}
		call = &IdempotentCall{rec: claim, aead: aead}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return answer, call, nil
}

func errInProgress(key string) error {
	return shelf.Errorf(shelf.ECONFLICT, "a request with Idempotency-Key %q is still being processed; retry later", key)
}

// FinishIdempotent keeps the answer of a call that ran, sealed, for
// replays; an answer KeepsAnswer refuses, or one over MaxIdempotentAnswer,
// is not kept (the call is abandoned instead). Use a context that outlives
// the client's request, so that a client that went away still leaves the
// answer for its retry.
func (s *Service) FinishIdempotent(ctx context.Context, c *IdempotentCall, a IdempotentAnswer) error {
	if !KeepsAnswer(a.Status) || len(a.Body) > MaxIdempotentAnswer {
		return s.AbandonIdempotent(ctx, c)
	}
	done := c.rec
	done.Done, done.Status, done.ContentType, done.Token = true, a.Status, a.ContentType, ""
	nonce := make([]byte, c.aead.NonceSize())
	_, _ = rand.Read(nonce) // never fails
	done.Body = c.aead.Seal(nonce, nonce, a.Body, answerAAD(&done, a.Status, a.ContentType))
	return s.store.Update(ctx, func(tx shelf.Tx) error {
		r, err := tx.IdempotencyRecord(ctx, c.rec.WorkspaceID, c.rec.Caller, c.rec.Key)
		if err != nil {
			return err
		}
		if r.Done || r.Token != c.rec.Token {
			return shelf.Errorf(shelf.ECONFLICT, "idempotency: another attempt took over key %q", c.rec.Key)
		}
		done.CreatedAt = s.now()
		return tx.UpdateIdempotencyRecord(ctx, &done)
	})
}

// AbandonIdempotent forgets a call that will not be kept, so that a retry
// runs the write again.
func (s *Service) AbandonIdempotent(ctx context.Context, c *IdempotentCall) error {
	return s.store.Update(ctx, func(tx shelf.Tx) error {
		r, err := tx.IdempotencyRecord(ctx, c.rec.WorkspaceID, c.rec.Caller, c.rec.Key)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && (r.Done || r.Token != c.rec.Token)) {
			return nil // not ours any more
		}
		if err != nil {
			return err
		}
		return tx.DeleteIdempotencyRecord(ctx, c.rec.WorkspaceID, c.rec.Caller, c.rec.Key)
	})
}

// PruneIdempotency deletes records older than IdempotencyRetention and
// returns how many. It is server housekeeping and needs no principal.
func (s *Service) PruneIdempotency(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-IdempotencyRetention)
	total := 0
	for {
		var n int
		err := s.store.Update(ctx, func(tx shelf.Tx) (err error) {
			n, err = tx.DeleteIdempotencyRecordsBefore(ctx, cutoff, 1000)
			return err
		})
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}

// answerAEAD derives the cipher that seals the answers kept for one
// (workspace, caller, idempotency key) from the caller's credential.
func answerAEAD(credential, workspaceID, caller, key string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, []byte(credential), nil,
		"shelf idempotent answer v1\x00"+workspaceID+"\x00"+caller+"\x00"+key, 32)
	if err != nil {
		return nil, shelf.Wrap(err, "idempotency: derive key")
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, shelf.Wrap(err, "idempotency: cipher")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, shelf.Wrap(err, "idempotency: cipher")
	}
	return aead, nil
}

// openAnswer opens the sealed body of a done record: the nonce, then the
// sealed bytes.
func openAnswer(aead cipher.AEAD, r *shelf.IdempotencyRecord) ([]byte, bool) {
	n := aead.NonceSize()
	if len(r.Body) < n+aead.Overhead() {
		return nil, false
	}
	body, err := aead.Open(nil, r.Body[:n], r.Body[n:], answerAAD(r, r.Status, r.ContentType))
	return body, err == nil
}

// answerAAD binds a sealed body to its record and its status and content
// type, which are stored beside it in the clear.
func answerAAD(r *shelf.IdempotencyRecord, status int, contentType string) []byte {
	var b []byte
	for _, f := range []string{r.WorkspaceID, r.Caller, r.Key, string(r.Fingerprint), contentType} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return binary.AppendVarint(b, int64(status))
}
