package library

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"strings"
	"sync"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
)

// Settings the core keeps in the store.
const (
	settingMasterHash       = "master_key_sha256"
	settingDefaultWorkspace = "default_workspace"
)

// A workspace key reads shelf_<id>_<secret><checksum>: a GitHub-style
// token that secret scanners can spot, whose checksum rejects typos without
// a store lookup. Only sha256(secret) is stored.
const (
	keyPrefix    = "shelf_"
	keyIDLen     = 16 // hex
	keySecretLen = 40 // hex, 160 bits
	keySumLen    = 8  // hex crc32
)

type masterKey struct {
	mu   sync.Mutex
	hash []byte // sha256 of the master key; nil until EnsureMasterKey
}

// MinMasterKeyLen is the fewest characters a master key given to
// EnsureMasterKey may have: the master key administers every workspace, and
// a short one is guessed from its stored hash or by trying.
const MinMasterKeyLen = 32

// EnsureMasterKey sets the server's master key. With env set (from
// SHELF_MASTER_KEY) that is the key; shorter than MinMasterKeyLen
// characters it is refused (EINVALID) and nothing changes. Without it, the
// hash kept from an earlier start is used, and on the very first start a
// key is generated, its hash kept, and the key returned so the caller can
// print it once.
func (s *Service) EnsureMasterKey(ctx context.Context, env string) (generated string, err error) {
	if env != "" {
		if n := utf8.RuneCountInString(env); n < MinMasterKeyLen {
			return "", shelf.Errorf(shelf.EINVALID, "the master key has %d characters; it must have at least %d (e.g. the output of `openssl rand -hex 32`)", n, MinMasterKeyLen)
		}
		sum := sha256.Sum256([]byte(env))
		s.setMaster(sum[:])
		return "", nil
	}
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		h, err := tx.Setting(ctx, settingMasterHash)
		if err == nil {
			b, derr := hex.DecodeString(h)
			if derr != nil || len(b) != sha256.Size {
				return shelf.Errorf(shelf.EINTERNAL, "stored master key hash is corrupt")
			}
			s.setMaster(b)
			generated = ""
			return nil
		}
		if shelf.ErrorCode(err) != shelf.ENOTFOUND {
			return err
		}
		generated = "shelf_master_" + randomHex(32)
		sum := sha256.Sum256([]byte(generated))
		if err := tx.SetSetting(ctx, settingMasterHash, hex.EncodeToString(sum[:])); err != nil {
			return err
		}
		s.setMaster(sum[:])
		return nil
	})
	return generated, err
}

func (s *Service) setMaster(h []byte) {
	s.master.mu.Lock()
	s.master.hash = h
	s.master.mu.Unlock()
}

// masterHash is the sha256 of the master key; nil until EnsureMasterKey.
func (s *Service) masterHash() []byte {
	s.master.mu.Lock()
	defer s.master.mu.Unlock()
	return s.master.hash
}

// keyRank is the rank of the highest scope k holds.
func keyRank(k *shelf.Key) int {
	r := 0
	for _, sc := range k.Scopes {
		r = max(r, sc.Rank())
	}
	return r
}

func (s *Service) isMaster(token string) bool {
	h := s.masterHash()
	if h == nil {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], h) == 1
}

// Authenticate returns the principal a bearer token stands for:
// EUNAUTHORIZED for an unknown, malformed, revoked or expired key, or the
// old secret of a rotated one. The master key acts in the default
// workspace. Every request reads the key's row, so a revocation, rotation
// or expiry holds from the next request on.
func (s *Service) Authenticate(ctx context.Context, token string) (*shelf.Principal, error) {
	if token == "" {
		return nil, shelf.Errorf(shelf.EUNAUTHORIZED, "missing API key")
	}
	if s.isMaster(token) {
		return s.AdminPrincipal(ctx)
	}
	id, secret, ok := parseKey(token)
	if !ok {
		return nil, shelf.Errorf(shelf.EUNAUTHORIZED, "invalid API key")
	}
	var k *shelf.Key
	err := s.store.View(ctx, func(tx shelf.Tx) error {
		var err error
		k, err = tx.Key(ctx, id)
		return err
	})
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return nil, shelf.Errorf(shelf.EUNAUTHORIZED, "invalid API key")
	} else if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], k.Hash) != 1 {
		return nil, shelf.Errorf(shelf.EUNAUTHORIZED, "invalid API key")
	}
	now := s.now()
	if keyExpired(k, now) {
		return nil, shelf.Errorf(shelf.EUNAUTHORIZED, "API key expired")
	}
	s.keyUse.touch(k.ID, now)
	p := &shelf.Principal{WorkspaceID: k.WorkspaceID, KeyID: k.ID, RateLimit: k.RateLimit}
	for _, sc := range k.Scopes {
		if sc.Rank() > p.Scope.Rank() {
			p.Scope = sc
		}
	}
	return p, nil
}

// AdminPrincipal returns the master principal, for the admin commands that
// work on the data directory directly (whoever can read it owns the data).
func (s *Service) AdminPrincipal(ctx context.Context) (*shelf.Principal, error) {
	ws, err := s.defaultWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	return &shelf.Principal{WorkspaceID: ws, Scope: shelf.ScopeAdmin, Master: true}, nil
}

func newKeyToken() (id, secret, token string) {
	id = randomHex(keyIDLen / 2)
	secret, token = newKeySecret(id)
	return id, secret, token
}

// newKeySecret returns a new secret for the key id and the token that
// carries both.
func newKeySecret(id string) (secret, token string) {
	secret = randomHex(keySecretLen / 2)
	body := keyPrefix + id + "_" + secret
	return secret, body + fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(body)))
}

// parseKey splits a workspace key into id and secret, checking its shape
// and checksum.
func parseKey(token string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(token, keyPrefix)
	if !found || len(rest) != keyIDLen+1+keySecretLen+keySumLen || rest[keyIDLen] != '_' {
		return "", "", false
	}
	id, secret, sum := rest[:keyIDLen], rest[keyIDLen+1:keyIDLen+1+keySecretLen], rest[keyIDLen+1+keySecretLen:]
	if !isHex(id) || !isHex(secret) || !isHex(sum) {
		return "", "", false
	}
	body := token[:len(token)-keySumLen]
	if fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(body))) != sum {
		return "", "", false
	}
	return id, secret, true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// maxLabel is the longest human label, in bytes.
const maxLabel = 200

// checkLabel checks a human label (a workspace or key name).
func checkLabel(what, s string) error {
	if s == "" || len(s) > maxLabel || !utf8.ValidString(s) {
		return shelf.Errorf(shelf.EINVALID, "%s must be 1 to %d bytes of UTF-8", what, maxLabel)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return shelf.Errorf(shelf.EINVALID, "%s must not contain control characters", what)
		}
	}
	return nil
}
