package library

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// Signed URLs let a client PUT a part, take a two-stage upload or GET a
// download without an Authorization header. The HMAC-SHA256 covers the
// method, the path, the workspace, the upload id, the part number, the
// exact length, the expiry, the signing key id and the API key that issued
// the URL, so no field can be changed. Signing keys live in the store
// (every replica shares them) and are named by a kid so they can be
// rotated.
//
// A URL is only as good as the key that issued it: Verify checks at every
// use that the issuing key still exists, has not expired and still holds
// the scope the operation needs, so revoking a key ends its URLs at once.
// A URL the master key issued binds the master key itself (its hash is
// signed, never sent): a server restarted with another SHELF_MASTER_KEY
// refuses them. Rotating a key keeps its id, so its URLs keep working;
// revoke it to end them.

const (
	settingSignKeyCurrent = "signing_key_current"
	settingSignKeyPrefix  = "signing_key."
	// MaxSignedTTL is the longest a signed URL may live (SigV4's limit).
	MaxSignedTTL = 7 * 24 * time.Hour
)

type signer struct {
	kid  string
	keys map[string][]byte
}

// loadSigner reads the signing keys, making the first one on a first start.
func loadSigner(ctx context.Context, store shelf.Store) (*signer, error) {
	sg := &signer{keys: map[string][]byte{}}
	err := store.Update(ctx, func(tx shelf.Tx) error {
		kid, err := tx.Setting(ctx, settingSignKeyCurrent)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND {
			kid = randomHex(4)
			if err := tx.SetSetting(ctx, settingSignKeyPrefix+kid, randomHex(32)); err != nil {
				return err
			}
			if err := tx.SetSetting(ctx, settingSignKeyCurrent, kid); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		v, err := tx.Setting(ctx, settingSignKeyPrefix+kid)
		if err != nil {
			return err
		}
		key, err := hex.DecodeString(v)
		if err != nil || len(key) < 16 {
			return shelf.Errorf(shelf.EINTERNAL, "signing key %q is corrupt", kid)
		}
		sg.kid, sg.keys[kid] = kid, key
		return nil
	})
	return sg, err
}

// Signed names one operation a URL allows.
type Signed struct {
	Method    string
	Path      string // the URL path, as the server routes it
	Workspace string
	Upload    string
	Part      int
	Length    int64
	// Extra binds anything else the URL carries (a target path, a content
	// type, a version); "" for none.
	Extra string
}

// canonical is what the MAC covers. by names the issuing key; bound is
// secret material bound without being sent (the master key's hash for a
// URL the master key issued, else empty).
func (sd Signed) canonical(exp int64, kid, by string, bound []byte) string {
	c := strings.Join([]string{sd.Method, sd.Path, sd.Workspace, sd.Upload,
		strconv.Itoa(sd.Part), strconv.FormatInt(sd.Length, 10), strconv.FormatInt(exp, 10), kid,
		by, hex.EncodeToString(bound)}, "\n")
	if sd.Extra != "" {
		c += "\n" + sd.Extra
	}
	return c
}

// issuerMaster is the "by" of a URL the master key issued; key ids are hex
// and never collide with it.
const issuerMaster = "master"

func mac(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// Sign returns the query parameters that authorize sd until exp, issued
// by the caller's key (or the master key), whose id the URL carries in
// "by". A caller that is itself a signed URL cannot issue one
// (EFORBIDDEN).
func (s *Service) Sign(ctx context.Context, sd Signed, exp time.Time) (url.Values, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var by string
	var bound []byte
	switch {
	case p.Signed:
		return nil, shelf.Errorf(shelf.EFORBIDDEN, "a signed URL cannot issue another")
	case p.Master:
		by, bound = issuerMaster, s.masterHash()
		if bound == nil {
			return nil, shelf.Errorf(shelf.EINTERNAL, "the master key is not set")
		}
	default:
		by = p.KeyID
	}
	e := exp.Unix()
	q := url.Values{}
	q.Set("w", sd.Workspace)
	q.Set("len", strconv.FormatInt(sd.Length, 10))
	q.Set("exp", strconv.FormatInt(e, 10))
	q.Set("kid", s.signer.kid)
	q.Set("by", by)
	q.Set("sig", base64.RawURLEncoding.EncodeToString(mac(s.signer.keys[s.signer.kid], sd.canonical(e, s.signer.kid, by, bound))))
	return q, nil
}

// SignDownload returns the signing input and expiry of a link that reads
// version v of item id at path (the URL path that serves it), for the
// caller's workspace.
func (s *Service) SignDownload(ctx context.Context, id string, v int64, path string) (Signed, time.Time, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return Signed{}, time.Time{}, err
	}
	sd := Signed{Method: "GET", Path: path, Workspace: p.WorkspaceID, Upload: id, Extra: "v=" + strconv.FormatInt(v, 10)}
	return sd, s.now().Add(s.cfg.DownloadTTL), nil
}

// Verify checks that q authorizes sd now, with sd.Workspace and sd.Length
// taken from q, and that the key that issued the URL is still live: not
// revoked, not expired, of that workspace, and holding the scope the
// operation needs. It returns the principal the URL stands for: access to
// that one operation, on behalf of the issuing key (IssuedBy). Any failure
// is EFORBIDDEN; a URL without "by" (made before URLs named their key) is
// refused too.
func (s *Service) Verify(ctx context.Context, sd Signed, q url.Values) (*shelf.Principal, Signed, error) {
	deny := func(why string) (*shelf.Principal, Signed, error) {
		return nil, sd, shelf.Errorf(shelf.EFORBIDDEN, "signed URL %s", why)
	}
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil {
		return deny("has no valid expiry")
	}
	now := s.now()
	if exp <= now.Unix() {
		return deny("has expired")
	}
	if exp > now.Add(MaxSignedTTL).Unix() {
		return deny("expires too far in the future")
	}
	if sd.Length, err = strconv.ParseInt(q.Get("len"), 10, 64); err != nil || sd.Length < 0 {
		return deny("has no valid length")
	}
	sd.Workspace = q.Get("w")
	kid := q.Get("kid")
	key, ok := s.signer.keys[kid]
	if !ok {
		return deny("names an unknown key")
	}
	by := q.Get("by")
	if by == "" {
		return deny("names no issuing key (it was made by an older server); ask for a new one")
	}
	var bound []byte
	if by == issuerMaster {
		if bound = s.masterHash(); bound == nil {
			return deny("signature does not match")
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(q.Get("sig"))
	if err != nil || !hmac.Equal(sig, mac(key, sd.canonical(exp, kid, by, bound))) {
		return deny("signature does not match")
	}
	scope := shelf.ScopeWrite
	if sd.Method == "GET" || sd.Method == "HEAD" {
		scope = shelf.ScopeRead
	}
	var own *shelf.RateLimit
	if by != issuerMaster {
		var k *shelf.Key
		err := s.store.View(ctx, func(tx shelf.Tx) error {
			var err error
			k, err = tx.Key(ctx, by)
			return err
		})
		switch {
		case shelf.ErrorCode(err) == shelf.ENOTFOUND:
			return deny("was issued by a key that has been revoked")
		case err != nil:
			return nil, sd, err
		case k.WorkspaceID != sd.Workspace:
			return deny("signature does not match")
		case keyExpired(k, now):
			return deny("was issued by a key that has expired")
		case keyRank(k) < scope.Rank():
			return deny(fmt.Sprintf("was issued by a key that no longer holds the %q scope", scope))
		}
		own = k.RateLimit
	}
	return &shelf.Principal{WorkspaceID: sd.Workspace, Scope: scope, Signed: true, IssuedBy: by, RateLimit: own}, sd, nil
}
